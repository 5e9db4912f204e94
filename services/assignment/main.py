"""Builds the assignment service: runtime, subscription table, scheduler ticks, HTTP app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import ServiceRuntime, build_http_app, build_runtime, declare_publishers, subscribe
from shared.scheduler import periodic

from . import __doc__ as SERVICE_DOC
from .api import build_router
from .db import TABLES
from .handlers import AssignmentContext, reassign_overdue, repeat_crisis_notices, seed_demo_roster
from .handlers.readiness import flag_unready_cases
from .settings import AssignmentSettings
from .subscribers import API_EMITS, subscriptions


def create_app(settings: AssignmentSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    ctx = AssignmentContext(settings=settings, clock=runtime.clock, db=runtime.db, wake_relay=runtime.relay.wake)
    subscribe(runtime, subscriptions(ctx))
    declare_publishers(runtime, API_EMITS)

    @asynccontextmanager
    async def demo_roster(_runtime: ServiceRuntime) -> AsyncIterator[None]:
        now = ctx.now()
        await seed_demo_roster(runtime.db, settings.demo_roster_size, now.astimezone(ctx.zone).date(), now)
        yield

    interval = settings.scheduler_interval_s
    return build_http_app(
        runtime,
        title="Assignment",
        description=SERVICE_DOC or "",
        routers=[build_router(ctx)],
        background=(
            demo_roster,
            periodic("acknowledgement-deadlines", partial(reassign_overdue, ctx=ctx), interval),
            periodic("crisis-repeats", partial(repeat_crisis_notices, ctx=ctx), interval),
            periodic("discharge-readiness", partial(flag_unready_cases, ctx=ctx), interval),
        ),
    )
