"""A discharge posted to intake reaches every service through the real broker, and the coordinator shows it."""

from __future__ import annotations

import time

import httpx
import pytest

from infra.stack import SERVICE_PORTS, Stack
from services.coordinator.domain import PLAN_STEPS
from tests.factories import discharge_request

pytestmark = pytest.mark.e2e

RECEIPTS = {"/assignment", "/transport", "/appointment", "/resource"}


def wait_for_case(api: httpx.Client, stack: Stack, case_id: str, done, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    last: dict = {}
    while time.monotonic() < deadline:
        answer = api.get(f"{stack.url('coordinator')}/v1/cases/{case_id}")
        if answer.status_code == 200:
            last = answer.json()
            if done(last):
                return last
        time.sleep(0.3)
    pytest.fail(f"case {case_id} did not complete in {timeout_s}s; last seen: {last}")


def test_every_service_answers_health(stack: Stack) -> None:
    for name in SERVICE_PORTS:
        answer = httpx.get(f"{stack.url(name)}/health", timeout=5)
        assert answer.status_code == 200, name
        assert answer.json() == {"service": name, "status": "ok", "broker": "ok", "database": "ok"}


def test_discharge_reaches_every_service_and_the_timeline(stack: Stack, api: httpx.Client) -> None:
    body = discharge_request()
    answer = api.post(f"{stack.url('intake')}/v1/discharges", json=body)
    assert answer.status_code == 202, answer.text
    case_id = answer.json()["case_id"]

    def complete(case: dict) -> bool:
        sources = {item["source"] for item in case["timeline"]}
        return sources >= RECEIPTS and "/notification" in sources

    case = wait_for_case(api, stack, case_id, complete)
    types = [item["type"] for item in case["timeline"]]
    assert types[0] == "discharge.registered.v1"
    assert types.count("case.opened.v1") == 4
    assert "notification.delivered.v1" in types
    assert case["status"] == "discharged"
    assert case["facility_id"] == body["facility"]["id"]
    assert case["visit_number"] == body["visit_number"]
    assert set(case["plan"]) == set(PLAN_STEPS)
    assert case["plan"]["notifications"]["state"] == "done", case["plan"]

    found = api.get(
        f"{stack.url('coordinator')}/v1/cases",
        params={"facility": body["facility"]["id"], "visit_number": body["visit_number"]},
    )
    assert [c["case_id"] for c in found.json()] == [case_id]


def test_http_apis_refuse_requests_without_the_key(stack: Stack) -> None:
    assert httpx.post(f"{stack.url('intake')}/v1/discharges", json=discharge_request()).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key-but-long-enough"}
    assert httpx.get(f"{stack.url('coordinator')}/v1/cases", headers=wrong).status_code == 401


def test_invalid_discharge_gets_a_4xx_naming_the_field(stack: Stack, api: httpx.Client) -> None:
    body = discharge_request()
    body["patient"]["birth_date"] = "not-a-date"
    answer = api.post(f"{stack.url('intake')}/v1/discharges", json=body)
    assert answer.status_code == 422
    assert any(item["field"] == "patient.birth_date" for item in answer.json()["detail"])
