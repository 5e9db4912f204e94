"""Resource's use cases end to end inside one process, without a broker: handlers, HTTP API and the reminder tick on a
SQLite database, with the events they stage in the outbox read back (the real broker is in tests/integration)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from services.resource.db import TABLES
from services.resource.directory_store import save_directory
from services.resource.handlers import close_cancelled_case, open_case, remember_specialist, remind_unanswered
from services.resource.hsds_validation import Dataset
from services.resource.main import create_app
from services.resource.settings import ResourceSettings
from services.resource.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared.case_id import case_id_for
from shared.clock import ManualClock
from shared.db import Database
from shared.envelope import Envelope
from shared.events import DischargeCancelled, DischargeRegistered, DischargeUpdated, Event, SpecialistAssigned
from shared.events.assignment import Candidate
from shared.events.common import Channel, GeoPoint, Place
from shared.events.discharge import Identifier, Need, Patient, Payer, PlanningNeeds, Source
from shared.inbox import Delivery
from shared.outbox import OutboxRecord
from shared.runtime import ServiceRuntime
from tests.factories import discharge_details, unique

pytestmark = pytest.mark.unit

KEY = "tests:" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {KEY.split(':', 1)[1]}"}
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
HOME = (39.7817, -89.6501)


def small_directory() -> Dataset:
    """Housing near and far, a Spanish-speaking one, women only, a weekly peer group and a food bank (HSDS 3.x)."""

    def service(n: str, name: str, org: str, term: str, lat: float, **extra: Any) -> dict[str, dict[str, Any]]:
        return {
            "service": {
                "id": n,
                "organization_id": org,
                "name": name,
                "status": "active",
                "assured_date": "2026-09-01",
                **extra,
            },
            "location": {"id": f"loc-{n}", "location_type": "physical", "latitude": lat, "longitude": HOME[1]},
            "service_at_location": {"id": f"sal-{n}", "service_id": n, "location_id": f"loc-{n}"},
            "attribute": {"id": f"att-{n}", "link_id": n, "link_entity": "service", "taxonomy_term_id": term},
        }

    rows = [
        service("svc-near", "Rapid Rehousing", "org-housing", "t-housing", HOME[0] + 0.02, minimum_age=18),
        service("svc-es", "Casa Nueva", "org-casa", "t-housing", HOME[0] + 0.05),
        service("svc-far", "County Shelter", "org-county", "t-housing", HOME[0] + 0.6),
        service("svc-women", "Women's House", "org-housing", "t-housing", HOME[0] + 0.01),
        service("svc-peer", "Recovery Circle", "org-peer", "t-peer", HOME[0] + 0.03),
        service("svc-food", "Food Bank", "org-food", "t-food", HOME[0] + 0.04),
    ]
    records: Dataset = {}
    for row in rows:
        for table, record in row.items():
            records.setdefault(table, {})[record["id"]] = record
    records["organization"] = {
        o: {"id": o, "name": name, "description": "test"}
        for o, name in [
            ("org-housing", "Housing Partners"),
            ("org-casa", "Casa"),
            ("org-county", "County"),
            ("org-peer", "Peer Alliance"),
            ("org-food", "Food Bank Inc"),
        ]
    }
    records["taxonomy_term"] = {
        "t-housing": {"id": "t-housing", "code": "BH-1800", "name": "Housing", "description": "AIRS"},
        "t-peer": {"id": "t-peer", "code": "PN-8100", "name": "Support Groups", "description": "AIRS"},
        "t-food": {"id": "t-food", "code": "BD", "name": "Food", "description": "AIRS"},
        "t-gender": {"id": "t-gender", "code": "eligibility-gender", "name": "Gender", "description": "rule"},
    }
    records["attribute"]["att-women"] = {
        "id": "att-women",
        "link_id": "svc-women",
        "link_entity": "service",
        "taxonomy_term_id": "t-gender",
        "value": "female",
    }
    records["language"] = {
        "l-1": {"id": "l-1", "service_id": "svc-es", "code": "es", "name": "Spanish"},
        "l-2": {"id": "l-2", "service_id": "svc-near", "code": "en", "name": "English"},
        "l-3": {"id": "l-3", "service_id": "svc-peer", "code": "spa"},
    }
    records["schedule"] = {
        "s-peer": {
            "id": "s-peer",
            "service_id": "svc-peer",
            "freq": "WEEKLY",
            "byday": "TU,TH",
            "opens_at": "18:00",
            "closes_at": "19:30",
        },
    }
    return records


@dataclass
class Service:
    runtime: ServiceRuntime
    http: httpx.AsyncClient
    clock: ManualClock

    async def deliver(self, event: Event, handler: Any) -> None:
        envelope = Envelope(str(uuid.uuid4()), "/tests", event.ce_type, self.clock.now(), event.case_id)
        async with self.runtime.db.transaction() as session:
            await handler(event, Delivery(envelope=envelope, session=session), runtime=self.runtime)

    async def staged(self, case_id: str, ce_type: str | None = None) -> list[dict[str, Any]]:
        async with self.runtime.db.sessions() as session:
            rows = (
                await session.exec(
                    select(OutboxRecord).where(col(OutboxRecord.key) == case_id).order_by(col(OutboxRecord.id))
                )
            ).all()
        return [json.loads(r.body) | {"ce_type": r.ce_type} for r in rows if ce_type is None or r.ce_type == ce_type]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    settings = ResourceSettings(
        service_name=f"resource-{uuid.uuid4().hex[:8]}",
        api_keys=SecretStr(KEY),
        data_dir=tmp_path,
        auto_refer_categories="food",  # type: ignore[arg-type]
        facility_coordinators={"OTHER_FACILITY": ("C-7", "C-8")},
    )
    clock = ManualClock(START)
    app = create_app(settings, clock)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.db.create_tables()
    await save_directory(runtime.db, small_directory(), replace=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://resource") as http:
        yield Service(runtime, http, clock)
    await runtime.db.dispose()


def discharge(needs: tuple[str, ...] = ("housing", "peer_group", "food"), **patient: Any) -> DischargeRegistered:
    person = {
        "identifiers": (Identifier(value=unique("MRN")),),
        "birth_date": date(1986, 5, 1),
        "sex": "F",
        "language": "es",
    } | patient
    details = discharge_details(
        patient=Patient(**person),
        payer=Payer(is_medicaid=True),
        discharged_at=START,
        planning=PlanningNeeds(
            needs=tuple(Need(n) for n in needs),
            destination_place=Place(name="home", location=GeoPoint(lat=HOME[0], lon=HOME[1])),
        ),
    )
    return DischargeRegistered(
        case_id=case_id_for(details.facility.id, details.visit_number),
        discharge=details,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )


async def test_a_discharge_with_needs_gets_ranked_options_per_need_and_auto_referral_where_configured(
    service: Service,
) -> None:
    event = discharge()
    await service.deliver(event, open_case)

    matched = {m["need"]: m for m in await service.staged(event.case_id, "resources.matched.v1")}
    assert set(matched) == {"housing", "peer_group", "food"}
    housing = matched["housing"]
    assert [o["service_id"] for o in housing["options"]] == ["svc-es", "svc-women"]
    assert "speaks es" in housing["options"][0]["reasons"]
    # The nearest lists English only, without interpreters; the county shelter, 67 km away, is outside the box.
    assert (housing["considered"], housing["excluded"]) == (3, [{"reason": "language", "count": 1}])
    # Food is an auto-referral category: its best option is referred without a person confirming.
    (created,) = await service.staged(event.case_id, "referral.created.v1")
    assert created["service_id"] == "svc-food" and created["automatic"] is True

    answer = await service.http.get(f"/v1/cases/{event.case_id}/options", headers=AUTH)
    assert answer.status_code == 200
    assert [n["need"] for n in answer.json()["needs"]] == ["food", "housing", "peer_group"]

    await service.deliver(event, open_case)  # redelivered, or an update that changes nothing matching reads
    assert len(await service.staged(event.case_id, "resources.matched.v1")) == 3


async def test_a_man_is_not_offered_the_womens_house_and_an_english_speaker_not_the_spanish_only_one(
    service: Service,
) -> None:
    event = discharge(needs=("housing",), sex="M", language="en")
    await service.deliver(event, open_case)

    (housing,) = await service.staged(event.case_id, "resources.matched.v1")
    assert [o["service_id"] for o in housing["options"]] == ["svc-near"]
    assert {e["reason"]: e["count"] for e in housing["excluded"]} == {"gender": 1, "language": 1}


async def test_an_import_by_another_process_is_seen_by_the_next_match(service: Service) -> None:
    """Matching keeps sites decoded between matches; the directory CLI's import (its own process and connection)
    must still reach the very next match."""
    first = discharge(needs=("food",))
    await service.deliver(first, open_case)
    (before,) = await service.staged(first.case_id, "resources.matched.v1")
    assert [o["service_name"] for o in before["options"]] == ["Food Bank"]

    changed = small_directory()
    changed["service"]["svc-food"]["name"] = "Community Pantry"
    cli = Database(str(service.runtime.db.url), TABLES, schema="resource")
    try:
        await save_directory(cli, changed, replace=True)
    finally:
        await cli.dispose()
    second = discharge(needs=("food",))
    await service.deliver(second, open_case)
    (after,) = await service.staged(second.case_id, "resources.matched.v1")
    assert [o["service_name"] for o in after["options"]] == ["Community Pantry"]


async def test_an_update_to_the_patients_language_matches_the_needs_again(service: Service) -> None:
    event = discharge(needs=("housing",), sex="M", language="es")
    await service.deliver(event, open_case)
    patient = event.discharge.patient.model_copy(update={"language": "en"})
    update = DischargeUpdated(
        case_id=event.case_id,
        discharge=event.discharge.model_copy(update={"patient": patient}),
        changed_fields=("patient.language",),
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )
    await service.deliver(update, open_case)

    before, after = await service.staged(event.case_id, "resources.matched.v1")
    assert [o["service_id"] for o in before["options"]] == ["svc-es"]
    assert [o["service_id"] for o in after["options"]] == ["svc-near"]  # English now: the Spanish-only house is out


async def test_the_specialist_adds_a_need_and_refers_after_the_checks(service: Service) -> None:
    event = discharge(needs=())
    await service.deliver(event, open_case)

    added = await service.http.post(f"/v1/cases/{event.case_id}/needs", json={"needs": ["housing"]}, headers=AUTH)
    assert added.status_code == 200, added.text
    assert added.json()["needs"][0]["source"] == "specialist"
    assert len(await service.staged(event.case_id, "resources.matched.v1")) == 1

    refused = await service.http.post(
        f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-near"}, headers=AUTH
    )
    assert refused.status_code == 409  # Rapid Rehousing lists English only and has no interpreters
    assert refused.json()["detail"] == {"error": "not_eligible", "reasons": ["language"]}

    made = await service.http.post(f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-es"}, headers=AUTH)
    assert made.status_code == 201, made.text
    referral = made.json()
    assert referral["status"] == "requested" and referral["organization_id"] == "org-casa"
    assert referral["respond_by"].startswith("2026-11-25T09:00")
    (created,) = await service.staged(event.case_id, "referral.created.v1")
    assert created["referral_id"] == referral["id"] and created["automatic"] is False

    unknown = await service.http.post(f"/v1/cases/{event.case_id}/referrals", json={"service_id": "nope"}, headers=AUTH)
    assert unknown.status_code == 404


async def test_part2_data_reaches_no_organisation_until_the_patient_consents(service: Service) -> None:
    event = discharge(needs=("housing", "food"))
    planning = event.discharge.planning.model_copy(update={"part2_protected": True})
    event = event.model_copy(update={"discharge": event.discharge.model_copy(update={"planning": planning})})
    await service.deliver(event, open_case)
    assert len(await service.staged(event.case_id, "resources.matched.v1")) == 2  # options for the specialist
    assert await service.staged(event.case_id, "referral.created.v1") == []  # food is auto-referred, but not here

    path = f"/v1/cases/{event.case_id}"
    refused = await service.http.post(f"{path}/referrals", json={"service_id": "svc-es"}, headers=AUTH)
    assert refused.status_code == 409
    assert refused.json()["detail"]["error"] == "part2_consent_required"
    assert f"{path}/part2-consent" in refused.json()["detail"]["message"]

    consent = {"consent": True, "recorded_by": "C-7"}
    recorded = await service.http.post(f"{path}/part2-consent", json=consent, headers=AUTH)
    assert recorded.status_code == 200, recorded.text
    assert (recorded.json()["protected"], recorded.json()["consent"]) == (True, True)
    made = await service.http.post(f"{path}/referrals", json={"service_id": "svc-es"}, headers=AUTH)
    assert made.status_code == 201, made.text

    withdrawn = await service.http.post(f"{path}/part2-consent", json=consent | {"consent": False}, headers=AUTH)
    assert withdrawn.json()["consent"] is False
    again = await service.http.post(f"{path}/referrals", json={"service_id": "svc-women"}, headers=AUTH)
    assert (again.status_code, again.json()["detail"]["error"]) == (409, "part2_consent_required")
    unknown = await service.http.post("/v1/cases/nope/part2-consent", json=consent, headers=AUTH)
    assert unknown.status_code == 404


async def test_the_organisation_closes_the_loop_by_signed_webhook_and_by_api(service: Service) -> None:
    event = discharge(needs=("housing",))
    await service.deliver(event, open_case)
    made = await service.http.post(f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-es"}, headers=AUTH)
    referral_id = made.json()["id"]
    secret = (await service.http.put("/v1/organizations/org-casa/webhook-secret", headers=AUTH)).json()["secret"]

    def signed(body: dict[str, Any], key: str = secret, at: datetime | None = None) -> dict[str, Any]:
        raw = json.dumps(body).encode()
        timestamp = int((at or service.clock.now()).timestamp())
        headers = {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(key, timestamp, raw)}
        return {"content": raw, "headers": headers | {"Content-Type": "application/json"}}

    status_url = f"/v1/referrals/{referral_id}/status"
    accepted = signed({"status": "accepted", "note": "intake booked for Tuesday"})
    assert (await service.http.post(status_url, **accepted)).status_code == 200
    assert (await service.http.post(status_url, **accepted)).json() == {"detail": {"error": "replayed"}}
    forged = await service.http.post(status_url, **signed({"status": "completed"}, key="not-the-organisations-key"))
    assert forged.status_code == 401 and forged.json() == {"detail": {"error": "bad_signature"}}
    late = await service.http.post(status_url, **signed({"status": "completed"}, at=START - timedelta(hours=1)))
    assert late.json() == {"detail": {"error": "outside_replay_window"}}
    unsigned = await service.http.post(status_url, json={"status": "in-progress"})
    assert unsigned.status_code == 401

    by_api = await service.http.post(status_url, json={"status": "in-progress", "note": "moved in"}, headers=AUTH)
    assert by_api.status_code == 200 and by_api.json()["status"] == "in-progress"
    backwards = await service.http.post(status_url, json={"status": "requested"}, headers=AUTH)
    assert backwards.status_code == 409
    done = await service.http.post(status_url, **signed({"status": "completed", "note": "housed"}))
    assert done.status_code == 200 and done.json()["status"] == "completed"

    kinds = [e["ce_type"] for e in await service.staged(event.case_id) if e["ce_type"].startswith("referral.")]
    assert kinds == [
        "referral.created.v1",
        "referral.accepted.v1",
        "referral.status-changed.v1",
        "referral.completed.v1",
    ]
    (completed,) = await service.staged(event.case_id, "referral.completed.v1")
    assert completed["outcome"] == "housed"

    fhir = await service.http.get("/fhir/Task", params={"patient": event.case_id}, headers=AUTH)
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    task = fhir.json()["entry"][0]["resource"]
    assert task["status"] == "completed" and task["output"][0]["valueString"] == "housed"


async def test_an_unanswered_referral_reminds_the_specialist_else_the_coordinators(service: Service) -> None:
    with_specialist, without = discharge(needs=("housing",)), discharge(needs=("housing",))
    for event in (with_specialist, without):
        await service.deliver(event, open_case)
        await service.http.post(f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-es"}, headers=AUTH)
    assigned = SpecialistAssigned(
        case_id=with_specialist.case_id,
        assignment_id="A-1",
        specialist=Candidate(specialist_id="S-104", score=0.9),
        acknowledge_by=START + timedelta(hours=4),
    )
    await service.deliver(assigned, remember_specialist)

    assert await remind_unanswered(service.runtime) == 0
    service.clock.advance(timedelta(hours=48, minutes=1))
    assert await remind_unanswered(service.runtime) == 2
    assert await remind_unanswered(service.runtime) == 0  # the next one is a day later

    reminders = await service.staged(with_specialist.case_id, "notification.requested.v1")
    reminder = next(n for n in reminders if n["template"] == "referral.unanswered")
    assert (reminder["recipient_id"], reminder["recipient_role"]) == ("S-104", "specialist")
    assert reminder["related_id"].startswith("RF-")
    assert "Rehousing" not in reminder["summary"] and with_specialist.case_id not in reminder["summary"]
    (to_coordinators,) = await service.staged(without.case_id, "notification.requested.v1")
    assert to_coordinators["recipient_id"] == "coordinators:TEST_FACILITY"
    # The new specialist also heard of the peer group to suggest for the first weeks.
    suggestion = next(n for n in reminders if n["template"] == "resource.activities-suggested")
    assert suggestion["link"] == f"/v1/cases/{with_specialist.case_id}/activities"


async def test_a_cancelled_discharge_cancels_open_referrals(service: Service) -> None:
    event = discharge(needs=("housing", "food"))
    await service.deliver(event, open_case)
    cancelled = DischargeCancelled(
        case_id=event.case_id,
        facility_id="TEST_FACILITY",
        visit_number=event.discharge.visit_number,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )
    await service.deliver(cancelled, close_cancelled_case)

    (changed,) = await service.staged(event.case_id, "referral.status-changed.v1")
    assert changed["status"] == "cancelled" and changed["note"] == "discharge cancelled"
    service.clock.advance(timedelta(days=3))
    assert await remind_unanswered(service.runtime) == 0


async def test_activities_list_dated_sessions_for_the_first_weeks(service: Service) -> None:
    event = discharge(needs=())
    await service.deliver(event, open_case)

    answer = await service.http.get(f"/v1/cases/{event.case_id}/activities", params={"weeks": 2}, headers=AUTH)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first_day"], body["last_day"]) == ("2026-11-23", "2026-12-06")
    assert [(o["day"], o["opens_at"], o["service_id"]) for o in body["occurrences"]] == [
        ("2026-11-24", "18:00:00", "svc-peer"),
        ("2026-11-26", "18:00:00", "svc-peer"),
        ("2026-12-01", "18:00:00", "svc-peer"),
        ("2026-12-03", "18:00:00", "svc-peer"),
    ]
    assert "speaks es" in body["occurrences"][0]["reasons"]


async def test_every_route_but_the_answer_needs_the_api_key(service: Service) -> None:
    assert (await service.http.get("/v1/cases/x/options")).status_code == 401
    assert (await service.http.get("/fhir/Task", params={"patient": "x"})).status_code == 401
    assert (await service.http.get("/v1/cases/x/options", headers=AUTH)).status_code == 404
    signed_for_nobody = {TIMESTAMP_HEADER: str(int(START.timestamp())), SIGNATURE_HEADER: "sha256=00"}
    assert (
        await service.http.post("/v1/referrals/RF-x/status", content=b"{}", headers=signed_for_nobody)
    ).status_code == 401


async def test_a_specialist_assigned_before_the_case_arrives_still_hears_of_the_activities(service: Service) -> None:
    event = discharge(needs=())
    assigned = SpecialistAssigned(
        case_id=event.case_id,
        assignment_id="A-2",
        specialist=Candidate(specialist_id="S-200", score=0.8),
        acknowledge_by=START + timedelta(hours=4),
    )
    await service.deliver(assigned, remember_specialist)  # assignment.events is not ordered with discharge.events
    assert await service.staged(event.case_id) == []

    await service.deliver(event, open_case)

    (suggestion,) = await service.staged(event.case_id, "notification.requested.v1")
    assert (suggestion["recipient_id"], suggestion["template"]) == ("S-200", "resource.activities-suggested")
