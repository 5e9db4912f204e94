"""The fault scenarios, each a seeded stream of discharges with one kind of fault injected, ending in a verdict counted
from the topics. `make chaos` runs them long; tests/integration/test_chaos_*.py run them at CI size."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .chaos_broker import AckedWrites, LocalCluster
from .chaos_crashes import Kill, crash_services
from .chaos_database import committed_offsets, hold_exclusive_lock, lag
from .chaos_feed import SeededDischarge, seeded_discharges, send_discharges
from .chaos_ledger import PlanVerdict, RowMismatch, database_problems, plan_verdict, wait_for_plans
from .plan_tracker import Tracker
from .stack import Stack

Progress = Callable[[str, int, int], None]  # (what, done, total)


def _quiet(_what: str, _done: int, _total: int) -> None:
    pass


@dataclass
class ScenarioOutcome:
    name: str
    discharges: list[SeededDischarge]
    verdict: PlanVerdict
    seconds: float = 0.0
    kills: list[Kill] = field(default_factory=list)
    broker_restarts: int = 0
    acked_writes: int = 0
    acked_lost: list[int] = field(default_factory=list)
    database_problems: list[RowMismatch] = field(default_factory=list)
    offsets: dict[str, object] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "discharges": len(self.discharges),
            "complete": self.verdict.complete,
            "lost": self.verdict.lost,
            "duplicates": self.verdict.duplicates,
            "seconds": round(self.seconds, 1),
            "kills": [k.__dict__ for k in self.kills],
            "broker_restarts": self.broker_restarts,
            "acked_writes": self.acked_writes,
            "acked_lost": len(self.acked_lost),
            "problems": (self.verdict.problems + [str(p) for p in self.database_problems])[:50],
            "offsets": self.offsets,
        }


async def _stream(
    stack: Stack,
    bootstrap: str,
    discharges: list[SeededDischarge],
    rate_per_s: float,
    fault: Callable[[], object],
    settle_s: float,
    progress: Progress,
) -> PlanVerdict:
    """Send the discharges while `fault()` runs, then wait for every plan; the verdict from the topics."""
    tracker = Tracker(bootstrap)
    await tracker.start()
    try:
        sent = 0

        def one_sent() -> None:
            nonlocal sent
            sent += 1
            progress("sent", sent, len(discharges))

        sending = asyncio.create_task(
            send_discharges(
                stack.url("intake"), stack.api_key(), discharges, tracker, rate_per_s=rate_per_s, on_sent=one_sent
            )
        )
        result = fault()
        if asyncio.iscoroutine(result):
            await result
        await sending
        await wait_for_plans(
            tracker, discharges, timeout_s=settle_s, on_progress=lambda n: progress("complete", n, len(discharges))
        )
        return plan_verdict(tracker, discharges)
    finally:
        await tracker.stop()


async def process_crashes(
    stack: Stack,
    bootstrap: str,
    *,
    discharges: int,
    rate_per_s: float,
    kills: int,
    seed: int,
    settle_s: float = 180.0,
    progress: Progress = _quiet,
) -> ScenarioOutcome:
    """kill -9 random services (never the broker) at random moments while discharges flow; restart each."""
    started = time.monotonic()
    batch = seeded_discharges(discharges, seed, run=f"crash{uuid.uuid4().hex[:6]}")
    rng = random.Random(seed)
    done: list[Kill] = []

    async def fault() -> None:
        done.extend(
            await crash_services(
                stack,
                rng,
                kills=kills,
                window_s=discharges / rate_per_s,
                on_kill=lambda _k: progress("kills", len(done) + 1, kills),
            )
        )

    verdict = await _stream(stack, bootstrap, batch, rate_per_s, fault, settle_s, progress)
    outcome = ScenarioOutcome("process_crashes", batch, verdict, kills=done)
    outcome.database_problems = database_problems(stack.state_dir / "data", batch, verdict.unmatched)
    outcome.seconds = time.monotonic() - started
    return outcome


async def broker_restarts(
    stack: Stack,
    cluster: LocalCluster,
    *,
    discharges: int,
    rate_per_s: float,
    restarts: int,
    down_s: float,
    seed: int,
    settle_s: float = 180.0,
    progress: Progress = _quiet,
) -> ScenarioOutcome:
    """Stop the (single) broker mid-stream and start it again, `restarts` times: the first controlled (SIGTERM), the
    next a crash (SIGKILL). Intake keeps accepting (its outbox holds the events); nothing is lost once it is back."""
    started = time.monotonic()
    batch = seeded_discharges(discharges, seed, run=f"broker{uuid.uuid4().hex[:6]}")
    probe = AckedWrites(cluster.bootstrap)
    await probe.start()
    window = discharges / rate_per_s

    async def fault() -> None:
        for index in range(restarts):
            await asyncio.sleep(window / (restarts + 1))
            await asyncio.to_thread(cluster.stop, kill=index % 2 == 1)
            await asyncio.sleep(down_s)
            await asyncio.to_thread(cluster.start)
            progress("broker restarts", index + 1, restarts)

    try:
        verdict = await _stream(stack, cluster.bootstrap, batch, rate_per_s, fault, settle_s, progress)
    finally:
        await probe.stop()
    outcome = ScenarioOutcome("broker_restarts", batch, verdict, broker_restarts=restarts)
    outcome.acked_writes = len(probe.acknowledged)
    outcome.acked_lost = await probe.lost()
    outcome.database_problems = database_problems(stack.state_dir / "data", batch, verdict.unmatched)
    outcome.seconds = time.monotonic() - started
    return outcome


async def database_outage(
    stack: Stack,
    bootstrap: str,
    *,
    service: str,
    lock_s: float,
    discharges: int,
    rate_per_s: float,
    seed: int,
    settle_s: float = 180.0,
    progress: Progress = _quiet,
) -> ScenarioOutcome:
    """Hold `service`'s SQLite write lock for `lock_s` while discharges flow. Its consumer group must not commit past
    what it stored (committed offsets frozen while the topic grows), then catch up (lag 0) with every plan exact."""
    started = time.monotonic()
    batch = seeded_discharges(discharges, seed, run=f"db{uuid.uuid4().hex[:6]}")
    topic = "discharge.events"
    samples: list[dict[int, int]] = []
    lags: list[int] = []

    async def fault() -> None:
        locking = asyncio.create_task(
            asyncio.to_thread(hold_exclusive_lock, stack.state_dir / "data" / f"{service}.db", lock_s)
        )
        await asyncio.sleep(min(2.0, lock_s / 4))  # in-flight work finishes before the lock is granted
        lock_ends = time.monotonic() - min(2.0, lock_s / 4) + lock_s
        while time.monotonic() < lock_ends - 1.5:
            samples.append(await committed_offsets(bootstrap, service, topic))
            lags.append(await lag(bootstrap, service, topic))
            progress("lock held (s)", int(lock_s - (lock_ends - time.monotonic())), int(lock_s))
            await asyncio.sleep(1.0)
        await locking

    verdict = await _stream(stack, bootstrap, batch, rate_per_s, fault, settle_s, progress)
    outcome = ScenarioOutcome("database_outage", batch, verdict)
    outcome.offsets = {
        "service": service,
        "lock_s": lock_s,
        "committed_during_lock": samples,
        "lag_during_lock": lags,
        "lag_after": await lag(bootstrap, service, topic),
    }
    outcome.database_problems = database_problems(stack.state_dir / "data", batch, verdict.unmatched)
    outcome.seconds = time.monotonic() - started
    return outcome


async def cluster_faults(
    stack: Stack,
    cluster: LocalCluster,
    *,
    discharges: int,
    rate_per_s: float,
    seed: int,
    settle_s: float = 240.0,
    progress: Progress = _quiet,
) -> ScenarioOutcome:
    """On a 3-node cluster (replication 3, min.insync.replicas 2, acks=all): kill -9 one node, bring it back, then
    restart another. Two of three replicas are always in sync, so no acknowledged write may be lost and the services
    ride through without anyone touching them."""
    started = time.monotonic()
    batch = seeded_discharges(discharges, seed, run=f"trio{uuid.uuid4().hex[:6]}")
    probe = AckedWrites(cluster.bootstrap)
    await probe.start()
    window = discharges / rate_per_s

    async def fault() -> None:
        await asyncio.sleep(window / 5)
        await asyncio.to_thread(cluster.stop, 2, kill=True)
        progress("node faults", 1, 3)
        await asyncio.sleep(window / 5)
        await asyncio.to_thread(cluster.start, 2)
        progress("node faults", 2, 3)
        await asyncio.sleep(window / 5)
        await asyncio.to_thread(cluster.stop, 3)
        await asyncio.to_thread(cluster.start, 3)
        progress("node faults", 3, 3)

    try:
        verdict = await _stream(stack, cluster.bootstrap, batch, rate_per_s, fault, settle_s, progress)
    finally:
        await probe.stop()
    outcome = ScenarioOutcome("cluster_faults", batch, verdict, broker_restarts=2)
    outcome.acked_writes = len(probe.acknowledged)
    outcome.acked_lost = await probe.lost()
    outcome.database_problems = database_problems(stack.state_dir / "data", batch, verdict.unmatched)
    outcome.seconds = time.monotonic() - started
    return outcome
