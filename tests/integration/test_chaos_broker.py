"""Broker faults at CI size: the single broker stopped mid-stream and started again loses nothing.

The 3-node cluster (a node killed, another restarted) is test_chaos_cluster.py; `make chaos` runs both longer.
"""

from __future__ import annotations

import pytest

from infra.chaos_broker import LocalCluster
from infra.chaos_scenarios import broker_restarts
from infra.stack import Stack

pytestmark = pytest.mark.integration


async def test_a_broker_restart_mid_stream_loses_no_discharge_and_no_acknowledged_write(
    chaos_stack: Stack, chaos_cluster: LocalCluster, chaos_figures: dict[str, int]
) -> None:
    outcome = await broker_restarts(
        chaos_stack, chaos_cluster, discharges=24, rate_per_s=3.0, restarts=1, down_s=4.0, seed=11, settle_s=150
    )
    chaos_figures["broker_restarts"] = chaos_figures.get("broker_restarts", 0) + outcome.broker_restarts
    print(outcome.summary())

    assert outcome.acked_writes > 0
    assert outcome.acked_lost == [], f"{len(outcome.acked_lost)} acknowledged writes are gone"
    assert outcome.verdict.problems == []
    assert outcome.verdict.complete == len(outcome.discharges)
    assert [str(p) for p in outcome.database_problems] == []
