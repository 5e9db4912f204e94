"""Hostile HTTP: schemathesis generates valid and invalid requests for every operation of every service's OpenAPI
(with the API key, so the handlers themselves are reached). No answer may be a 5xx, none may take longer than the
time limit, and every service must still answer /health afterwards."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .chaos_result import FuzzTally
from .stack import SERVICE_PORTS, Stack

REQUEST_TIMEOUT_S = 20.0


def fuzz_service(stack: Stack, service: str, *, examples: int, on_case: Callable[[], None] | None = None) -> FuzzTally:
    """`examples` generated requests per operation and mode (positive, negative) against one running service."""
    tally = FuzzTally()
    auth = {"Authorization": f"Bearer {stack.api_key()}"}
    base_url = stack.url(service)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=auth)

    def run(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        label = f"{operation.label} [{mode.value}]"

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,  # no example database under the repo: every run draws afresh from its seed
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are recorded, not raised
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            tally.tried += 1
            try:
                response = case.call(base_url=base_url, headers=auth, timeout=REQUEST_TIMEOUT_S)
            except requests.Timeout:
                tally.hangs += 1
                tally.failures.append(f"{service} {label}: no answer within {REQUEST_TIMEOUT_S:.0f}s")
                return
            except requests.ConnectionError as error:
                tally.failures.append(f"{service} {label}: connection failed ({type(error).__name__})")
                tally.outcomes["connection failed"] += 1
                return
            tally.outcomes[str(response.status_code)] += 1
            if response.status_code >= 500:
                tally.failures.append(f"{service} {label}: {response.status_code} {response.text[:200]}")
            if on_case is not None:
                on_case()

        try:
            call()
        except Unsatisfiable:
            tally.outcomes["nothing to make invalid"] += 1  # e.g. GET /health in negative mode: no parameter to break

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run(result.ok(), mode)
    if not _healthy(stack, service):
        tally.crashes += 1
        tally.failures.append(f"{service}: /health no longer answers 200 after fuzzing")
    return tally


def server_errors(tally: FuzzTally) -> int:
    return sum(count for outcome, count in tally.outcomes.items() if outcome.isdigit() and int(outcome) >= 500)


def fuzz_http(
    stack: Stack,
    *,
    examples: int,
    services: tuple[str, ...] = tuple(SERVICE_PORTS),
    on_case: Callable[[], None] | None = None,
) -> FuzzTally:
    total = FuzzTally()
    for service in services:
        total.add(fuzz_service(stack, service, examples=examples, on_case=on_case))
    return total


def _healthy(stack: Stack, service: str) -> bool:
    try:
        return httpx.get(f"{stack.url(service)}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False
