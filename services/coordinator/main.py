"""Builds the coordinator service: runtime, subscription table, HTTP app."""

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime, subscribe

from . import __doc__ as SERVICE_DOC
from .api import build_router
from .db import TABLES
from .settings import CoordinatorSettings
from .subscribers import subscriptions


def create_app(settings: CoordinatorSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    return build_http_app(runtime, title="Coordinator", description=SERVICE_DOC or "", routers=[build_router(runtime)])
