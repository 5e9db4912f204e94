"""Assignment's HTTP routes over an in-memory database: roster upkeep, a supervisor's override, a patient's change
request and a crisis from raise to close, with 404 and 409 where the state says no."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.assignment.api import build_router
from services.assignment.db import TABLES
from services.assignment.handlers import AssignmentContext, take_discharge
from services.assignment.settings import AssignmentSettings
from shared.clock import ManualClock
from shared.db import Database
from shared.envelope import encode
from shared.inbox import Delivery, InboxRecord
from shared.outbox import OutboxRecord
from tests.unit.test_assignment_handlers import API_KEY, ROSTER, START, pending

pytestmark = pytest.mark.unit


@pytest.fixture
async def api() -> AsyncIterator[tuple[httpx.AsyncClient, AssignmentContext]]:
    db = Database("sqlite+aiosqlite:///:memory:", [OutboxRecord, InboxRecord, *TABLES], schema="assignment")
    await db.create_tables()
    ctx = AssignmentContext(settings=AssignmentSettings(api_keys=API_KEY), clock=ManualClock(START), db=db)
    app = FastAPI()
    app.include_router(build_router(ctx))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://assignment") as client:
        answer = await client.post("/v1/roster", json=ROSTER.model_dump(mode="json"))
        assert answer.json() == {"specialists": 4, "supervisors": 2}
        yield client, ctx
    await db.dispose()


async def discharge(ctx: AssignmentContext) -> str:
    event = pending()
    async with ctx.db.transaction() as session:
        await take_discharge(event, Delivery(encode(event, source="/test").envelope, session), ctx=ctx)
    return event.case_id


async def test_the_roster_reads_back_with_caseloads_and_filters(
    api: tuple[httpx.AsyncClient, AssignmentContext],
) -> None:
    client, ctx = api
    await discharge(ctx)
    a = (await client.get("/v1/specialists/S-A")).json()
    assert (a["active_cases"], a["active_load"], a["languages"]) == (1, 1.0, ["en"])
    spanish = (await client.get("/v1/specialists", params={"language": "es"})).json()
    assert [s["id"] for s in spanish] == ["S-B"]
    changed = {**a, "max_caseload": 9}
    for key in ("active_cases", "active_load"):
        changed.pop(key)
    assert (await client.put("/v1/specialists/S-A", json=changed)).json()["max_caseload"] == 9
    assert (await client.put("/v1/specialists/S-X", json=changed)).status_code == 422
    assert (await client.delete("/v1/specialists/S-C")).status_code == 204
    assert "S-C" not in [s["id"] for s in (await client.get("/v1/specialists")).json()]
    assert (await client.delete("/v1/specialists/S-none")).status_code == 404
    assert [s["id"] for s in (await client.get("/v1/supervisors")).json()] == ["SUP-1", "SUP-2"]


async def test_a_specialist_the_roster_could_not_read_back_is_refused_with_the_field(
    api: tuple[httpx.AsyncClient, AssignmentContext],
) -> None:
    client, _ = api
    entry = {k: v for k, v in (await client.get("/v1/specialists/S-A")).json().items() if not k.startswith("active_")}
    blank_languages = {**entry, "languages": [" "]}
    answer = await client.put("/v1/specialists/S-A", json=blank_languages)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "languages"
    with_offset = {**entry, "availability": {**entry["availability"], "starts": "09:00:00+02:00"}}
    answer = await client.put("/v1/specialists/S-A", json=with_offset)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "starts"
    assert (await client.get("/v1/specialists/S-A")).json()["languages"] == ["en"]


async def test_override_and_change_request_answer_with_the_assignment_and_its_offers(
    api: tuple[httpx.AsyncClient, AssignmentContext],
) -> None:
    client, ctx = api
    case_id = await discharge(ctx)
    match = (await client.get(f"/v1/cases/{case_id}/assignment")).json()
    assignment_id = match["assignment"]["id"]
    assert (match["match_state"], match["assignment"]["specialist_id"]) == ("assigned", "S-A")

    refused = await client.post(
        f"/v1/assignments/{assignment_id}/override", json={"specialist_id": "S-D", "supervisor_id": "SUP-1"}
    )
    assert refused.status_code == 409 and "distance" in refused.json()["detail"]
    moved = await client.post(
        f"/v1/assignments/{assignment_id}/override",
        json={"specialist_id": "S-C", "supervisor_id": "SUP-1", "note": "knows the family"},
    )
    assert moved.status_code == 200
    offers = moved.json()["offers"]
    assert [(o["specialist_id"], o["outcome"]) for o in offers] == [("S-A", "withdrawn"), ("S-C", "pending")]
    assert (offers[1]["requested_by"], offers[1]["note"]) == ("supervisor:SUP-1", "knows the family")

    changed = await client.post(f"/v1/assignments/{assignment_id}/change-request", json={})
    assert changed.json()["specialist_id"] == "S-B"
    assert changed.json()["offers"][-1]["requested_by"] == "patient"
    wrong = await client.post(
        f"/v1/assignments/{assignment_id}/answer", json={"specialist_id": "S-A", "accepted": True}
    )
    assert wrong.status_code == 409
    accepted = await client.post(
        f"/v1/assignments/{assignment_id}/answer", json={"specialist_id": "S-B", "accepted": True}
    )
    assert accepted.json()["state"] == "acknowledged"
    assert (await client.post("/v1/assignments/A-none/change-request", json={})).status_code == 404


async def test_a_crisis_is_raised_acknowledged_and_closed_with_its_disposition(
    api: tuple[httpx.AsyncClient, AssignmentContext],
) -> None:
    client, ctx = api
    case_id = await discharge(ctx)
    assert (await client.post("/v1/cases/none/crisis", json={"raised_by": "x", "reason": "unsafe"})).status_code == 404
    raised = await client.post(
        f"/v1/cases/{case_id}/crisis", json={"raised_by": "specialist:S-A", "reason": "not safe tonight"}
    )
    assert raised.status_code == 201
    crisis = raised.json()
    assert (crisis["state"], crisis["notices_sent"]) == ("open", 1)

    incomplete = await client.post(f"/v1/crises/{crisis['id']}/close", json={"disposition": "resolved"})
    assert incomplete.status_code == 422
    acknowledged = await client.post(
        f"/v1/crises/{crisis['id']}/acknowledge", json={"acknowledged_by": "supervisor:SUP-1"}
    )
    assert acknowledged.json()["state"] == "acknowledged"
    closure = {
        "disposition": "referred_to_clinician",
        "what_happened": "Talked it through, on-call clinician called back within the hour.",
        "referrals": ["clinician_on_call"],
        "ems_involved": False,
        "crisis_plan_exists": True,
        "handled_by": "specialist:S-A",
    }
    closed = (await client.post(f"/v1/crises/{crisis['id']}/close", json=closure)).json()
    assert (closed["state"], closed["disposition"], closed["acknowledged_by"]) == (
        "closed",
        "referred_to_clinician",
        "supervisor:SUP-1",
    )
    assert (await client.post(f"/v1/crises/{crisis['id']}/close", json=closure)).status_code == 409
    listed = (await client.get("/v1/crises", params={"case_id": case_id})).json()
    assert [c["id"] for c in listed] == [crisis["id"]]


async def test_consent_recorded_by_staff_starts_matching(api: tuple[httpx.AsyncClient, AssignmentContext]) -> None:
    client, ctx = api
    event = pending(consent_peer_support=None)
    async with ctx.db.transaction() as session:
        await take_discharge(event, Delivery(encode(event, source="/test").envelope, session), ctx=ctx)
    waiting = (await client.get(f"/v1/cases/{event.case_id}/assignment")).json()
    assert (waiting["match_state"], waiting["assignment"]) == ("awaiting_consent", None)
    recorded = await client.post(
        f"/v1/cases/{event.case_id}/consent", json={"consent": True, "recorded_by": "staff:rn-12"}
    )
    assert recorded.json()["match_state"] == "assigned"
