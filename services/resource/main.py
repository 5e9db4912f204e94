"""Builds the resource service: runtime, subscription table, HTTP app, referral reminder scheduler."""

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime, declare_publishers, subscribe
from shared.scheduler import periodic

from . import __doc__ as SERVICE_DOC
from .api import build_answer_router, build_router
from .db import TABLES
from .handlers import remind_unanswered
from .settings import ResourceSettings
from .subscribers import API_EMITS, subscriptions


def create_app(settings: ResourceSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    declare_publishers(runtime, API_EMITS)
    app = build_http_app(
        runtime,
        title="Resource",
        description=SERVICE_DOC or "",
        routers=[build_router(runtime)],
        background=[periodic("referral-reminders", remind_unanswered, settings.reminder_interval_s)],
    )
    # Organisations answer with a signature, not the API key: mounted outside the guarded routers.
    app.include_router(build_answer_router(runtime))
    return app
