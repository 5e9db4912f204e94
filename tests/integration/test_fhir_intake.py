"""FHIR intake on the real broker: the intake app's own lifespan in-process, discharge.events read back with aiokafka.

The Da Vinci discharge notification is the public admit example turned into a discharge in memory (the corpus has no
discharge example; see tests/unit/test_fhir_conformance.py), with a fresh visit number per test so cases never meet.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from pydantic import SecretStr

from services.intake.main import create_app
from services.intake.settings import IntakeSettings
from shared.case_id import case_id_for
from shared.dlq import read_topic
from shared.envelope import header_map
from shared.events import DischargeRegistered
from shared.settings import KafkaSettings

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[2].parent / "shared" / "conformance" / "fhir"
ADMIT = CORPUS / "davinci-notifications" / "admit-notification-message-bundle-01.json"
HEART = CORPUS / "r4-core-examples" / "encounter-example-f001-heart.json"
HOLY_FAMILY_ORG_ID = "a9f20dc1-5147-3789-bcef-bbecb41c5983"
API_KEY = secrets.token_urlsafe(24)[:32]
FHIR_JSON = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {API_KEY}"}


def corpus_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        pytest.fail(f"conformance sample {path} is missing: the public FHIR corpus must be at {CORPUS}")
    return json.loads(path.read_bytes())


def discharge_bundle(visit_number: str) -> dict[str, Any]:
    bundle = copy.deepcopy(corpus_json(ADMIT))
    bundle["id"] = f"discharge-{uuid.uuid4().hex}"
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = "notification-discharge"
    encounter = bundle["entry"][1]["resource"]
    encounter["identifier"][0]["value"] = visit_number
    encounter["status"] = "finished"
    encounter["hospitalization"] = {
        "dischargeDisposition": {"coding": [{"system": "http://www.nubc.org/patient-discharge", "code": "1"}]}
    }
    return bundle


def encounter(visit_number: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(corpus_json(HEART))
    body["identifier"][0]["value"] = visit_number
    body["serviceProvider"] = {"identifier": {"value": "BURGERS_UMC"}}
    body["subject"] = {"identifier": {"system": "http://example.org/mrn", "value": "MRN-F001"}}
    body.update(changes)
    return body


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        api_keys=SecretStr(f"test:{API_KEY}"),
        data_dir=tmp_path_factory.mktemp("intake"),
        http_port=0,
        mllp_port=0,  # the HL7 listener shares the lifespan; never take the registered port 2575 in a test
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client,
    ):
        yield client


async def records_of(
    kafka_bootstrap: str, case_id: str, *, expected: int, timeout_s: float = 20.0
) -> list[ConsumerRecord]:
    """The case's records on discharge.events once `expected` arrived, re-read after a pause to catch extra ones."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = await _case_records(kafka_bootstrap, case_id)
        if len(records) >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # the outbox relay has had its chance to publish anything more
    return await _case_records(kafka_bootstrap, case_id)


async def _case_records(kafka_bootstrap: str, case_id: str) -> list[ConsumerRecord]:
    records = await read_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), "discharge.events", timeout_s=10)
    return sorted((r for r in records if r.key == case_id.encode()), key=lambda r: r.offset)


async def test_a_da_vinci_discharge_notification_is_one_event_however_often_it_is_sent(
    intake: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    visit = f"V-{uuid.uuid4().hex[:12]}"
    body = json.dumps(discharge_bundle(visit)).encode()

    first = await intake.post("/fhir/$process-message", content=body, headers=FHIR_JSON)
    again = await intake.post("/fhir/$process-message", content=body, headers=FHIR_JSON)

    case_id = case_id_for(HOLY_FAMILY_ORG_ID, visit)
    assert first.status_code == 202, first.text
    assert first.json() == {
        "case_id": case_id,
        "event_type": "discharge.registered.v1",
        "duplicate": False,
        "event_id": first.json()["event_id"],
    }
    assert again.status_code == 202 and again.json()["duplicate"] is True and again.json()["case_id"] == case_id

    records = await records_of(kafka_bootstrap, case_id, expected=1)
    assert len(records) == 1
    headers = header_map(records[0].headers)
    assert headers["ce_type"] == "discharge.registered.v1"
    assert headers["ce_subject"] == case_id
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_source"] == "/intake"
    assert headers["ce_id"] == first.json()["event_id"]
    event = DischargeRegistered.model_validate_json(records[0].value)
    assert event.discharge.facility.id == HOLY_FAMILY_ORG_ID
    assert event.discharge.visit_number == visit
    assert event.discharge.patient.family_name == "Halvorson124"
    assert event.discharge.discharged_at == datetime(2018, 10, 22, 5, 22, 15, tzinfo=UTC)
    assert event.source.channel.value == "fhir"


async def test_an_encounter_resent_as_it_progresses_is_pending_registered_then_updated(
    intake: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    visit = f"V-{uuid.uuid4().hex[:12]}"
    plain_json = {**FHIR_JSON, "Content-Type": "application/json"}
    expected_end = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    steps = [
        encounter(visit, status="in-progress", period={"end": expected_end.isoformat()}),
        encounter(visit, period={"end": "2026-11-23T11:30:00+01:00"}),
        encounter(visit, period={"end": "2026-11-23T12:15:00+01:00"}),
    ]
    answers = [await intake.post("/fhir/Encounter", json=step, headers=plain_json) for step in steps]

    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    types = ["discharge.pending.v1", "discharge.registered.v1", "discharge.updated.v1"]
    assert [a.json()["event_type"] for a in answers] == types
    case_id = case_id_for("BURGERS_UMC", visit)
    records = await records_of(kafka_bootstrap, case_id, expected=3)
    assert [header_map(r.headers)["ce_type"] for r in records] == types
    assert len({r.partition for r in records}) == 1, "one case, one partition, in order"
    assert json.loads(records[2].value)["changed_fields"] == ["discharged_at"]


async def test_an_invalid_resource_is_answered_with_an_operation_outcome_naming_the_field(
    intake: httpx.AsyncClient,
) -> None:
    without_end = encounter(f"V-{uuid.uuid4().hex[:12]}")  # finished, but no period.end
    bad_date = encounter(f"V-{uuid.uuid4().hex[:12]}", period={"end": "last tuesday"})

    missing = await intake.post("/fhir/Encounter", json=without_end, headers=FHIR_JSON)
    malformed = await intake.post("/fhir/Encounter", json=bad_date, headers=FHIR_JSON)

    for answer, status in ((missing, 422), (malformed, 400)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/fhir+json")
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert [issue["expression"] for issue in outcome["issue"]] == [["Encounter.period.end"]]
        assert outcome["issue"][0]["severity"] == "error"


def notification(kind: str, visit_number: str, **encounter_changes: Any) -> dict[str, Any]:
    """The public admit example as an admit or transfer of the same patient's stay `visit_number`."""
    bundle = copy.deepcopy(corpus_json(ADMIT))
    bundle["id"] = f"{kind}-{uuid.uuid4().hex}"
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = f"notification-{kind}"
    encounter = bundle["entry"][1]["resource"]
    encounter["identifier"][0]["value"] = visit_number
    encounter.update(encounter_changes)
    return bundle


async def test_an_admit_within_30_days_of_a_discharge_is_a_readmission_and_a_transfer_is_kept(
    intake: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    first, second = f"V-{uuid.uuid4().hex[:12]}", f"V-{uuid.uuid4().hex[:12]}"
    discharge = discharge_bundle(first)
    discharge["entry"][1]["resource"]["period"] = {
        "start": "2018-10-01T08:00:00-07:00",
        "end": "2018-10-10T12:00:00-07:00",
    }
    answer = await intake.post("/fhir/$process-message", content=json.dumps(discharge), headers=FHIR_JSON)
    assert answer.status_code == 202, answer.text
    first_case = answer.json()["case_id"]

    admit = json.dumps(notification("admit", second))  # admitted 2018-10-21: 11 days after the discharge
    answer = await intake.post("/fhir/$process-message", content=admit, headers=FHIR_JSON)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["event_type"], body["duplicate"]) == ("patient.readmitted.v1", False)
    (record,) = await records_of(kafka_bootstrap, body["case_id"], expected=1)
    readmitted = json.loads(record.value)
    assert (readmitted["previous_case_id"], readmitted["days_since_discharge"]) == (first_case, 11)
    assert readmitted["visit_number"] == second

    again = await intake.post("/fhir/$process-message", content=admit, headers=FHIR_JSON)
    assert (again.json()["event_type"], again.json()["duplicate"]) == ("patient.readmitted.v1", True)

    transfer = json.dumps(notification("transfer", second))
    answer = await intake.post("/fhir/$process-message", content=transfer, headers=FHIR_JSON)
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_type"] is None  # kept in the archive; nothing to plan
    assert len(await records_of(kafka_bootstrap, body["case_id"], expected=1)) == 1


async def test_an_admit_of_a_patient_not_discharged_lately_is_kept_without_an_event(intake: httpx.AsyncClient) -> None:
    admit = notification("admit", f"V-{uuid.uuid4().hex[:12]}")
    patient = next(e["resource"] for e in admit["entry"] if e["resource"]["resourceType"] == "Patient")
    for identifier in patient["identifier"]:
        identifier["value"] = uuid.uuid4().hex  # someone else: no discharge of theirs on record
    answer = await intake.post("/fhir/$process-message", content=json.dumps(admit), headers=FHIR_JSON)
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_type"] is None


async def test_a_request_without_an_api_key_is_401(intake: httpx.AsyncClient) -> None:
    body = discharge_bundle(f"V-{uuid.uuid4().hex[:12]}")
    answer = await intake.post("/fhir/$process-message", json=body, headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer.json()["issue"][0]["code"] == "login"
