"""Builds the transport service: runtime, subscription table, HTTP app, deadline scheduler, vendor import."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.clock import Clock
from shared.events import RideAtRisk
from shared.runtime import ServiceRuntime, build_http_app, build_runtime, declare_publishers, subscribe
from shared.scheduler import periodic

from . import __doc__ as SERVICE_DOC
from .api import build_router, build_webhook_router
from .db import TABLES
from .handlers.deadlines import enforce_deadlines
from .handlers.readiness import flag_unconfirmed_rides_home
from .handlers.registry import import_vendors_file
from .settings import TransportSettings, settings_of
from .subscribers import subscriptions


@asynccontextmanager
async def vendors_from_file(runtime: ServiceRuntime) -> AsyncIterator[None]:
    """Import TRANSPORT_VENDORS_FILE once the database is up, so a fresh deployment can offer rides at once."""
    path = settings_of(runtime).vendors_file
    if path is not None:
        await import_vendors_file(runtime, path)
    yield


def create_app(settings: TransportSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    declare_publishers(runtime, (RideAtRisk,))  # the readiness tick's flags
    interval = settings.scheduler_interval_s
    app = build_http_app(
        runtime,
        title="Transport",
        description=SERVICE_DOC or "",
        routers=[build_router(runtime)],
        background=[
            vendors_from_file,
            periodic("ride-deadlines", enforce_deadlines, interval),
            periodic("discharge-readiness", flag_unconfirmed_rides_home, interval),
        ],
    )
    app.include_router(build_webhook_router(runtime))
    return app
