"""Integration fixtures: a real PostgreSQL server, from TEST_DATABASE_URL or the throwaway cluster of infra/postgres.

A database that cannot be had is a failure with the script's output, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

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
