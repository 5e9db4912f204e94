"""`make up` / `make down` as users run them: health on every port, a second `up` changes nothing, `down` leaves
no process behind. Runs its own broker and ports so it cannot disturb another stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from infra.stack import SERVICE_PORTS

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
OFFSET = 20000
BROKER_PORT = 17092


def stack_command(command: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(
        STACK_STATE_DIR=str(state),
        STACK_PORT_OFFSET=str(OFFSET),
        STACK_BROKER_NAME="stack-test",
        STACK_BROKER_PORT=str(BROKER_PORT),
    )
    return subprocess.run(
        [sys.executable, "-m", "infra.stack", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


def pids(state: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (state / "run").glob("*.pid")}


def broker_pid() -> int:
    return int((REPO / "var/kafka/stack-test/node-1/broker.pid").read_text())


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.split(") ", 1)[1][0] != "Z"


def test_up_twice_then_down_leaves_nothing_behind(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "infra" / "kafka"))
    from broker import metadata_ready

    first = stack_command("up", tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    for name, port in SERVICE_PORTS.items():
        assert httpx.get(f"http://127.0.0.1:{port + OFFSET}/health", timeout=5).status_code == 200, name
    assert metadata_ready(f"127.0.0.1:{BROKER_PORT}")
    credentials = (tmp_path / "dev-credentials.env").read_text()
    assert credentials.startswith("DEV_API_KEY=") and len(credentials.splitlines()[0]) > 40
    started = pids(tmp_path)
    kafka = broker_pid()
    assert set(started) == set(SERVICE_PORTS)

    second = stack_command("up", tmp_path)
    assert second.returncode == 0
    assert "already running" in second.stderr
    assert pids(tmp_path) == started
    assert broker_pid() == kafka
    assert (tmp_path / "dev-credentials.env").read_text() == credentials

    down = stack_command("down", tmp_path)
    assert down.returncode == 0, down.stderr[-3000:]
    leftovers = [name for name, pid in {**started, "kafka": kafka}.items() if alive(pid)]
    assert leftovers == []
    assert not metadata_ready(f"127.0.0.1:{BROKER_PORT}")
