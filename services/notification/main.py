"""Builds the notification service: runtime, subscription table, delivery tick, HTTP app and acknowledgement links."""

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime, declare_publishers, subscribe
from shared.scheduler import periodic

from . import __doc__ as SERVICE_DOC
from .api import build_ack_router, build_router
from .db import TABLES
from .deliveries import deliver_due
from .settings import NotificationSettings
from .subscribers import API_EMITS, subscriptions


def create_app(settings: NotificationSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    declare_publishers(runtime, API_EMITS)
    app = build_http_app(
        runtime,
        title="Notification",
        description=SERVICE_DOC or "",
        routers=[build_router(runtime)],
        background=[periodic("deliveries", deliver_due, settings.delivery_interval_s)],
    )
    # Recipients open acknowledgement links from an email, without an API key: the one-time token in the link is
    # the credential, so these routes are mounted outside the guarded routers.
    app.include_router(build_ack_router(runtime))
    return app
