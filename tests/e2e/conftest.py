"""The whole stack as real processes on a broker of its own, on ports of its own (10000 above the defaults).

The stack's services consume every discharge on their broker: on the broker that the integration tests share, they
would plan those tests' discharges too (a second transport answering "no vendor" to their rides), so they get one
of their own, and both stop when the last e2e test is done (package scope), not at the session's end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack
from tests.conftest import real_broker

E2E_BROKER_NAME = "e2e"
E2E_BROKER_PORT = 19092


@pytest.fixture(scope="package")
def e2e_bootstrap() -> Iterator[str]:
    yield from real_broker(E2E_BROKER_NAME, E2E_BROKER_PORT)


@pytest.fixture(scope="package")
def kafka_bootstrap(e2e_bootstrap: str) -> str:
    """Within tests/e2e every reader of the broker reads the stack's."""
    return e2e_bootstrap


@pytest.fixture(scope="package")
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
