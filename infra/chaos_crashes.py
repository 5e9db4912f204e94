"""Process crashes: SIGKILL random services at random moments and start each again, while discharges flow."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .stack import SERVICE_PORTS, Stack


@dataclass(frozen=True)
class Kill:
    service: str
    at_s: float  # seconds after the crash run began
    back_after_s: float  # from the kill until its /health answered again


async def crash_services(
    stack: Stack,
    rng: random.Random,
    *,
    kills: int,
    window_s: float,
    services: Sequence[str] = tuple(SERVICE_PORTS),
    on_kill: Callable[[Kill], None] | None = None,
) -> list[Kill]:
    """`kills` times within `window_s`: kill -9 a random service, leave it down a random moment, start it again.

    SIGKILL gives the process no chance to flush, commit or leave its consumer group: the crash the outbox and
    inbox exist for. The stack's calls block (signals, /health polling), so they run in a thread and the feed and
    the tracker keep going meanwhile.
    """
    started = time.monotonic()
    moments = sorted(rng.uniform(0, window_s) for _ in range(kills))
    done: list[Kill] = []
    for moment in moments:
        await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
        name = rng.choice(list(services))
        killed_at = time.monotonic()
        await asyncio.to_thread(stack.stop_service, name, kill=True)
        await asyncio.sleep(rng.uniform(0.2, 3.0))  # down for a while: senders and consumers notice the gap
        await asyncio.to_thread(stack.start_service, name, 120.0)
        kill = Kill(name, round(killed_at - started, 2), round(time.monotonic() - killed_at, 2))
        done.append(kill)
        if on_kill is not None:
            on_kill(kill)
    return done
