"""Integration fixtures: a real PostgreSQL server, from TEST_DATABASE_URL or the throwaway cluster of infra/postgres;
and, for the fault tests, a jar broker and a whole stack of their own (they stop, kill and lock them).

A database or broker that cannot be had is a failure with the script's output, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.chaos import CHAOS_SERVICE_ENV
from infra.chaos_broker import LocalCluster
from infra.chaos_feed import register_vendor
from infra.stack import Stack

REPO = Path(__file__).resolve().parents[2]
PG_SCRIPT = REPO / "infra" / "postgres" / "pg.sh"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    # Generous: on a fresh machine the script first installs PostgreSQL with apt-get.
    started = subprocess.run([str(PG_SCRIPT), "start"], capture_output=True, text=True, timeout=900)
    prefix = "DATABASE_URL="
    url = next((line.removeprefix(prefix) for line in started.stdout.splitlines() if line.startswith(prefix)), None)
    if started.returncode != 0 or not url:
        pytest.fail(f"{PG_SCRIPT} start failed (exit {started.returncode}):\n{started.stdout}\n{started.stderr}")
    # The script decides under its lock whether the cluster was already up; another session may be using it.
    started_here = "already running" not in started.stderr
    try:
        yield url
    finally:
        if started_here:
            subprocess.run([str(PG_SCRIPT), "stop"], capture_output=True, timeout=120)


CHAOS_BROKER_PORT = 21092  # its own broker: these tests stop and start it, which a shared broker must never see
CHAOS_SASL_PORT = 21592
CHAOS_PORT_OFFSET = 4000


@pytest.fixture(scope="session")
def chaos_cluster() -> Iterator[LocalCluster]:
    """A single-node jar broker of the fault tests' own, fresh each session, with a SASL listener beside PLAINTEXT."""
    cluster = LocalCluster("chaos", CHAOS_BROKER_PORT, sasl_port=CHAOS_SASL_PORT)
    try:
        cluster.wipe()
        cluster.start()
    except RuntimeError as error:
        pytest.fail(f"the fault tests' broker did not start: {error}")
    try:
        yield cluster
    finally:
        cluster.stop(hold_ports=False)
        cluster.release()


@pytest.fixture(scope="session")
def chaos_stack(chaos_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service as a process on the fault tests' broker, ports 4000 above the defaults, with a roster so that
    specialists are really assigned."""
    stack = Stack(
        state_dir=tmp_path_factory.mktemp("chaos-stack"),
        port_offset=CHAOS_PORT_OFFSET,
        extra_env={"KAFKA_BOOTSTRAP_SERVERS": chaos_cluster.bootstrap, **CHAOS_SERVICE_ENV},
    )
    try:
        stack.up(timeout_s=180)
        register_vendor(stack)
    except (RuntimeError, httpx.HTTPError) as error:
        pytest.fail(f"the fault tests' stack did not start: {error}")
    try:
        yield stack
    finally:
        stack.down(stop_broker=False)
