"""Each service's published AsyncAPI document passes the official AsyncAPI parser (`asyncapi validate`, offline)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.contracts import DOCS, SERVICES

pytestmark = pytest.mark.integration
TOOL_DIR = Path(__file__).resolve().parents[2] / "infra" / "asyncapi"
CLI = TOOL_DIR / "node_modules" / ".bin" / "asyncapi"
# No telemetry and no update check: the CLI then needs no network (analytics.json says analyticsEnabled=false).
OFFLINE = {
    "ASYNCAPI_METRICS_CONFIG_PATH": str(TOOL_DIR / "analytics.json"),
    "ASYNCAPI_SKIP_NEW_VERSION_CHECK": "true",
    "SUPPRESS_NO_CONFIG_WARNING": "1",
}


@pytest.fixture(scope="module")
def asyncapi_cli() -> Path:
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `make install` (npm ci --prefix infra/asyncapi; needs Node.js and npm)")
    return CLI


@pytest.mark.parametrize("service", SERVICES)
def test_the_published_asyncapi_document_is_valid(service: str, asyncapi_cli: Path) -> None:
    document = DOCS / "asyncapi" / f"{service}.yaml"
    assert document.is_file(), f"{document} is missing: run `make docs`"
    # Warnings fail too: a governance warning in a published contract is something a vendor's tool trips on.
    result = subprocess.run(
        [str(asyncapi_cli), "validate", str(document), "--fail-severity", "warn"],
        env={**os.environ, **OFFLINE},
        cwd=TOOL_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"asyncapi validate {document.name}:\n{result.stdout}\n{result.stderr}"
