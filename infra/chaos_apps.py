"""Every service's FastAPI app, built in-process without starting it, to read what it exposes: its HTTP routes and
the topics it consumes. Built from the code, so a route or subscription added tomorrow is covered tomorrow."""

from __future__ import annotations

import importlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from .stack import SERVICE_PORTS

SETTINGS_CLASSES = {name: f"{name.capitalize()}Settings" for name in SERVICE_PORTS}


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def service_app(name: str, data_dir: Path) -> FastAPI:
    """`create_app(settings)` of one service: no I/O happens until its lifespan starts, which this never does."""
    settings_class = getattr(importlib.import_module(f"services.{name}.settings"), SETTINGS_CLASSES[name])
    settings = settings_class(api_keys=SecretStr(f"chaos:{secrets.token_urlsafe(24)}"), data_dir=data_dir)
    return importlib.import_module(f"services.{name}.main").create_app(settings)


def service_apps(data_dir: Path) -> dict[str, FastAPI]:
    return {name: service_app(name, data_dir) for name in SERVICE_PORTS}


def endpoints(apps: dict[str, FastAPI]) -> list[Endpoint]:
    """Every (service, method, path) the apps answer, HEAD and OPTIONS aside (Starlette derives them).

    FastAPI keeps included routers lazily in `app.routes`; `iter_route_contexts` walks them as requests see them.
    A mount (static files, a sub-application) has no methods: it is probed with GET.
    """
    found = []
    for service, app in apps.items():
        for route in iter_route_contexts(app.routes):
            methods = getattr(route, "methods", None) or {"GET"}
            for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
                found.append(Endpoint(service, method, route.path))
    return found


def consumers_of(apps: dict[str, FastAPI]) -> dict[str, set[str]]:
    """Topic → the services whose consumer groups read it as events. Dead-letter topics are left out: their reader
    (the coordinator's) keeps the headers of whatever arrives, so there is no further dead letter to expect."""
    topics: dict[str, set[str]] = {}
    for service, app in apps.items():
        for topic in app.state.runtime.consumes:
            if not topic.endswith(".dlq"):
                topics.setdefault(topic, set()).add(service)
    return topics
