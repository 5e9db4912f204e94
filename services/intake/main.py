"""Builds the intake service: its runtime, HTTP routes and (with the intake issue) its MLLP listener."""

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime

from .api import build_router
from .db import TABLES
from .settings import IntakeSettings


def create_app(settings: IntakeSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    runtime.produces.add("discharge.events")
    return build_http_app(
        runtime,
        title="Intake",
        description="Admit and discharge events from facility systems, published on discharge.events.",
        routers=[build_router(runtime)],
    )
