"""Broker faults on a 3-node cluster at CI size (replication factor 3, min.insync.replicas 2, acks=all): one node is
killed with SIGKILL and comes back, then another is restarted, while discharges flow through a whole stack. Nothing
acknowledged is lost and every plan completes, with nobody touching the services. `make chaos` runs it longer.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.chaos import CHAOS_SERVICE_ENV
from infra.chaos_broker import LocalCluster
from infra.chaos_feed import register_vendor
from infra.chaos_scenarios import cluster_faults
from infra.stack import Stack

pytestmark = pytest.mark.integration

TRIO_PORT = 23092  # nodes at 23092, 23094, 23096 (controllers one above each)
TRIO_PORT_OFFSET = 4100  # beside the single-broker fault stack (4000), which the session keeps running


@pytest.fixture(scope="module")
def trio() -> Iterator[LocalCluster]:
    cluster = LocalCluster("chaos3", TRIO_PORT, nodes=3)
    try:
        cluster.wipe()
        cluster.start()
    except RuntimeError as error:
        pytest.fail(f"the 3-node cluster did not start: {error}")
    try:
        yield cluster
    finally:
        cluster.stop(hold_ports=False)
        cluster.release()


@pytest.fixture(scope="module")
def trio_stack(trio: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        state_dir=tmp_path_factory.mktemp("trio-stack"),
        port_offset=TRIO_PORT_OFFSET,
        extra_env={"KAFKA_BOOTSTRAP_SERVERS": trio.bootstrap, "KAFKA_REPLICATION_FACTOR": "3", **CHAOS_SERVICE_ENV},
    )
    try:
        stack.up(timeout_s=240)
        register_vendor(stack)
    except (RuntimeError, httpx.HTTPError) as error:
        stack.down(stop_broker=False)
        pytest.fail(f"the stack on the 3-node cluster did not start: {error}")
    try:
        yield stack
    finally:
        stack.down(stop_broker=False)


async def test_a_node_killed_and_another_restarted_lose_no_acknowledged_write_and_no_plan(
    trio_stack: Stack, trio: LocalCluster, chaos_figures: dict[str, int]
) -> None:
    outcome = await cluster_faults(trio_stack, trio, discharges=12, rate_per_s=2.0, seed=31, settle_s=180)
    chaos_figures["broker_restarts"] = chaos_figures.get("broker_restarts", 0) + outcome.broker_restarts
    print(outcome.summary())

    assert outcome.acked_writes > 0
    assert outcome.acked_lost == [], f"{len(outcome.acked_lost)} acknowledged writes are gone"
    assert outcome.verdict.problems == []
    assert outcome.verdict.complete == len(outcome.discharges)
    assert [str(p) for p in outcome.database_problems] == []
