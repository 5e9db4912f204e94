"""Builds the coordinator service: read model subscriptions, JSON API (API key) and web pages (sign-in)."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime, subscribe

from . import __doc__ as SERVICE_DOC
from .api import build_router
from .db import TABLES
from .settings import CoordinatorSettings
from .subscribers import subscribe_dead_letters, subscriptions
from .users import dev_users
from .web import LoginRequired, build_web_router


def create_app(settings: CoordinatorSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    subscribe_dead_letters(runtime)
    app = build_http_app(
        runtime,
        title="Coordinator",
        description=SERVICE_DOC or "",
        routers=[build_router(runtime)],
        background=[dev_users],
    )
    # Pages authenticate people by a signed session cookie, not by the API key: mounted outside the guarded routers.
    app.include_router(build_web_router(runtime))

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, _error: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    return app
