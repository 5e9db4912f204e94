"""Fixtures shared by every test layer. The broker is real: an address from KAFKA_BOOTSTRAP_SERVERS, else
testcontainers' Kafka where a Docker engine answers, else the local jar broker from infra/kafka. A broker that
cannot be had is a failure, never a skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_BROKER_NAME = "test"
TEST_BROKER_PORT = 29092


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    yield from real_broker(TEST_BROKER_NAME, TEST_BROKER_PORT)


def real_broker(name: str, port: int) -> Iterator[str]:
    """A real broker: KAFKA_BOOTSTRAP_SERVERS if given, else testcontainers' Kafka, else the local jar broker `name`."""
    sys.path.insert(0, str(REPO / "infra" / "kafka"))
    from broker import metadata_ready  # the same readiness probe the broker scripts use

    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        if not metadata_ready(given.split(",")[0]):
            pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={given} does not answer a Kafka metadata request")
        yield given
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    # Sessions may overlap (several developers or terminals): each registers itself, the last one out stops it.
    users = REPO / "var" / "kafka" / name / "sessions"
    users.mkdir(parents=True, exist_ok=True)
    me = users / str(os.getpid())
    me.touch()
    address = f"127.0.0.1:{port}"
    if not metadata_ready(address):  # otherwise a broker of another checkout or session already serves the tests
        command = [sys.executable, str(REPO / "infra/kafka/broker.py"), "start", "--name", name]
        started = subprocess.run([*command, "--port", str(port)], capture_output=True, text=True)
        if started.returncode != 0:
            me.unlink(missing_ok=True)
            pytest.fail(f"could not start the local Kafka broker:\n{started.stdout}\n{started.stderr}")
    try:
        yield address
    finally:
        me.unlink(missing_ok=True)
        if not [p for p in users.iterdir() if _process_alive(int(p.name))]:
            subprocess.run(
                [sys.executable, str(REPO / "infra/kafka/broker.py"), "stop", "--name", name],
                capture_output=True,
            )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The fault and security tests add their counts here; the session ends with them in one table (as `make chaos`).
CHAOS_FIGURES: dict[str, int] = {}


@pytest.fixture(scope="session")
def chaos_figures() -> dict[str, int]:
    return CHAOS_FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHAOS_FIGURES:
        from rich.console import Console

        from infra.chaos_result import figures_table

        console = Console(file=terminalreporter._tw, force_terminal=False, width=100)  # pytest's own writer
        console.print(figures_table(CHAOS_FIGURES, "faults and hostile input (CI size; `make chaos` for more)"))
