"""Database faults at CI size: a service's SQLite file is write-locked by another connection for longer than one
attempt waits. Its consumers back off and commit no offset past work they could not store (the group's committed
offsets stand still while the topic grows), then catch up: lag 0 and every plan exactly once."""

from __future__ import annotations

import pytest

from infra.chaos_scenarios import database_outage
from infra.stack import Stack

pytestmark = pytest.mark.integration


async def test_consumers_hold_their_offsets_while_the_database_is_locked_and_catch_up_after(
    chaos_stack: Stack, chaos_figures: dict[str, int]
) -> None:
    outcome = await database_outage(
        chaos_stack,
        chaos_stack.bootstrap_servers,
        service="assignment",
        lock_s=14.0,  # longer than SQLite's 10 s busy timeout: the first attempt fails and the inbox retries
        discharges=16,
        rate_per_s=2.0,
        seed=9,
        settle_s=150,
    )
    print(outcome.summary())
    committed = outcome.offsets["committed_during_lock"]
    lags = outcome.offsets["lag_during_lock"]
    assert isinstance(committed, list) and isinstance(lags, list)

    assert len(committed) >= 3
    assert all(sample == committed[0] for sample in committed), f"offsets committed during the lock: {committed}"
    assert max(lags) > 0, "discharges arrived during the lock, so the group must have fallen behind"
    assert outcome.offsets["lag_after"] == 0
    assert outcome.verdict.problems == []
    assert outcome.verdict.complete == len(outcome.discharges)
    assert [str(p) for p in outcome.database_problems] == []
    chaos_figures["discharges_sent"] = chaos_figures.get("discharges_sent", 0) + len(outcome.discharges)
    chaos_figures["plans_complete"] = chaos_figures.get("plans_complete", 0) + outcome.verdict.complete
