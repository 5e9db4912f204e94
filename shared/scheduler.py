"""Due work on a timer: reminders, acknowledgement deadlines, escalations, delivery retries.

What is due lives in each service's database (never only in memory), so a restart loses nothing; `periodic`
runs a service's `tick` every few seconds and the tick acts on what the service's clock says is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from .db import TRANSIENT_DB_ERRORS

if TYPE_CHECKING:
    from .runtime import ServiceRuntime

log = logging.getLogger(__name__)

Tick = Callable[["ServiceRuntime"], Awaitable[int]]


def periodic(name: str, tick: Tick, interval_s: float) -> Callable[[ServiceRuntime], AbstractAsyncContextManager[None]]:
    """A background companion for `build_http_app` that calls `tick(runtime)` every `interval_s`.

    `tick` returns how many items it handled; while it handles some, it is called again at once (catching up
    after downtime), otherwise after the interval.
    """

    @asynccontextmanager
    async def run(runtime: ServiceRuntime) -> AsyncIterator[None]:
        async def loop() -> None:
            backoff = interval_s
            while True:
                try:
                    handled = await tick(runtime)
                    backoff = interval_s
                except TRANSIENT_DB_ERRORS as error:
                    log.warning("%s: %s paused %.1fs: %s", runtime.name, name, backoff, type(error).__name__)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                if handled == 0:
                    await asyncio.sleep(interval_s)
                else:
                    runtime.relay.wake()

        task = asyncio.create_task(loop(), name=f"{runtime.name}-{name}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run
