"""The whole stack as real processes on the test broker, on ports of its own (10000 above the defaults)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state: Path = tmp_path_factory.mktemp("stack")
    running = Stack(state_dir=state, port_offset=10000, extra_env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})
    try:
        running.up(timeout_s=120)
    except RuntimeError as error:
        pytest.fail(f"the stack did not start: {error}")
    try:
        yield running
    finally:
        running.down(stop_broker=False)


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {stack.api_key()}"}, timeout=10) as client:
        yield client


@pytest.fixture
async def async_api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {stack.api_key()}"}, timeout=10) as client:
        yield client
