"""The appointment service on the real broker: discharges become visits on day 1 to 7, reminders go out at their
offsets (exactly once, across restarts), visits are attended or missed and rebooked, no slot means at risk, a
cancelled discharge frees its slot, and racing discharges never share a slot.

Each test runs the service in-process under a consumer group of its own that starts at the topics' ends, with a
ManualClock set in a far-off year, so discharges of other tests (and other sessions) pass it by.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr
from sqlmodel import col, select

from services.appointment.db import Appointment, CaseSpecialist
from services.appointment.main import create_app
from services.appointment.settings import AppointmentSettings
from shared.case_id import case_id_for
from shared.clock import ManualClock
from shared.dlq import read_topic
from shared.envelope import encode, header_map
from shared.events import (
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    SpecialistAssigned,
)
from shared.events.assignment import Candidate
from shared.events.common import Channel, Code
from shared.events.discharge import Facility, Source
from shared.kafka import client_options, ensure_topics
from shared.runtime import ServiceRuntime
from shared.settings import KafkaSettings
from tests.factories import discharge_details, unique

pytestmark = pytest.mark.integration

API_KEY = "it:" + uuid.uuid4().hex
LISTENS = ("discharge.events", "assignment.events", "transport.events")
SCHEDULED, REMINDER, ATTENDED, MISSED = (
    "followup.scheduled.v1",
    "followup.reminder-due.v1",
    "followup.attended.v1",
    "followup.missed.v1",
)
CANCELLED, AT_RISK, NOTICE = "followup.cancelled.v1", "followup.at-risk.v1", "notification.requested.v1"
Seen = list[tuple[str, dict[str, Any]]]


@dataclass
class Running:
    app: FastAPI
    http: httpx.AsyncClient
    kafka: KafkaSettings
    facility: str

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime


async def start_group_at_end(kafka: KafkaSettings, group: str, topics: Sequence[str]) -> None:
    """Commit the group's offsets at the topics' current ends, so it skips what earlier tests published."""
    await ensure_topics(kafka, topics)
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


@asynccontextmanager
async def running_appointment(
    kafka_bootstrap: str, data_dir: Path, clock: ManualClock, *, name: str, facility: str, **overrides: Any
) -> AsyncIterator[Running]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    settings = AppointmentSettings(
        service_name=name,
        api_keys=SecretStr(API_KEY),
        data_dir=data_dir,
        kafka=kafka,
        scheduler_interval_s=0.1,
        consumer_backoff_s=0.05,
        **overrides,
    )
    app = create_app(settings, clock)
    auth = {"Authorization": f"Bearer {API_KEY.split(':', 1)[1]}"}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://appointment", headers=auth) as http,
    ):
        yield Running(app, http, kafka, facility)


@asynccontextmanager
async def fresh_service(
    kafka_bootstrap: str, tmp_path: Path, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Running]:
    name = f"appointment-it-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(KafkaSettings(bootstrap_servers=kafka_bootstrap), name, LISTENS)
    async with running_appointment(
        kafka_bootstrap, tmp_path, clock, name=name, facility=unique("FAC"), **overrides
    ) as s:
        yield s


def far_morning() -> datetime:
    """09:00 UTC on a random day decades ahead: no other test's discharge has a window there."""
    return datetime(2040, 1, 1, 9, tzinfo=UTC) + timedelta(days=random.randrange(20_000))


def provider(provider_id: str, specialty: str = "outpatient_mental_health", **fields: Any) -> dict[str, Any]:
    return {
        "id": provider_id,
        "organization": f"Clinic {provider_id}",
        "specialty": specialty,
        "address": {"lines": ["400 Main St"], "city": "Springfield", "state": "IL"},
        "lat": 39.80,
        "lon": -89.64,
        **fields,
    }


def slot(slot_id: str, provider_id: str, starts_at: datetime, **fields: Any) -> dict[str, Any]:
    return {"id": slot_id, "provider_id": provider_id, "starts_at": starts_at.isoformat(), **fields}


async def seed(service: Running, providers: list[dict[str, Any]], slots: list[dict[str, Any]]) -> None:
    answer = await service.http.post("/v1/directory/import", json={"providers": providers, "slots": slots})
    assert answer.status_code == 200, answer.text


def discharged(service: Running, at: datetime, diagnosis: str = "F32.9") -> DischargeRegistered:
    details = discharge_details(
        facility=Facility(id=service.facility, name="Test Behavioral Health"),
        discharged_at=at,
        diagnoses=(Code(code=diagnosis, system="ICD-10-CM"),),
    )
    return DischargeRegistered(
        case_id=case_id_for(details.facility.id, details.visit_number),
        discharge=details,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )


def discharge_cancelled(event: DischargeRegistered) -> DischargeCancelled:
    return DischargeCancelled(
        case_id=event.case_id,
        facility_id=event.discharge.facility.id,
        visit_number=event.discharge.visit_number,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )


async def publish(kafka_bootstrap: str, *events: Event) -> None:
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await client.start()
    try:
        for event in events:
            encoded = encode(event, source="/it")
            headers = [(k, v.encode()) for k, v in encoded.headers.items()]
            await client.send_and_wait(type(event).topic, encoded.body, key=encoded.key, headers=headers)
    finally:
        await client.stop()


async def events_of(kafka: KafkaSettings, topic: str, case_id: str) -> Seen:
    """The case's events on a topic, in order, as an idempotent consumer sees them: once per ce_id (an outbox relay
    may publish a row twice, e.g. two instances sharing one SQLite file, which has no SKIP LOCKED)."""
    records = await read_topic(kafka, topic, timeout_s=10)
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for record in records:
        if record.key == case_id.encode():
            headers = header_map(record.headers or ())
            seen.setdefault(headers["ce_id"], (headers["ce_type"], json.loads(record.value or b"{}")))
    return list(seen.values())


async def wait_for(
    kafka: KafkaSettings, topic: str, case_id: str, done: Callable[[Seen], bool], timeout_s: float = 40.0
) -> Seen:
    deadline = time.monotonic() + timeout_s
    seen: Seen = []
    while time.monotonic() < deadline:
        seen = await events_of(kafka, topic, case_id)
        if done(seen):
            return seen
        await asyncio.sleep(0.3)
    pytest.fail(f"{topic} for {case_id} never satisfied the condition; saw {[t for t, _ in seen]}")


def of_type(seen: Seen, ce_type: str) -> list[dict[str, Any]]:
    return [body for kind, body in seen if kind == ce_type]


def count(ce_type: str, n: int = 1) -> Callable[[Seen], bool]:
    return lambda seen: len(of_type(seen, ce_type)) >= n


def notices(seen: Seen, template: str) -> list[dict[str, Any]]:
    return [body for body in of_type(seen, NOTICE) if body["template"] == template]


async def test_a_discharge_is_booked_on_the_earliest_suitable_day_reminded_and_attended(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        await seed(service, [provider("PRV-MH", languages=["en", "es"]), provider("PRV-PC", "primary_care")], [])
        schedule_slots = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Schedule",
                        "id": "s-mh",
                        "actor": [{"reference": "Practitioner/PRV-MH"}],
                    }
                },
                {"resource": {"resourceType": "Schedule", "id": "s-pc", "actor": [{"reference": "Location/PRV-PC"}]}},
                *(
                    {
                        "resource": {
                            "resourceType": "Slot",
                            "id": slot_id,
                            "schedule": {"reference": f"Schedule/{schedule}"},
                            "status": "free",
                            "start": start.isoformat(),
                            "end": (start + timedelta(hours=1)).isoformat(),
                        }
                    }
                    for slot_id, schedule, start in [
                        ("mh-same-day", "s-mh", t0 + timedelta(hours=5)),  # the day of discharge: FUH never counts it
                        ("pc-day-1", "s-pc", t0 + timedelta(days=1, hours=1)),  # FUH needs a mental health provider
                        ("mh-day-3", "s-mh", t0 + timedelta(days=3, hours=1)),
                        ("mh-day-6", "s-mh", t0 + timedelta(days=6, hours=1)),
                    ]
                ),
            ],
        }
        imported = await service.http.post("/v1/directory/import", json=schedule_slots)
        assert imported.json()["slots"] == 4, imported.text

        event = discharged(service, t0)
        await publish(kafka_bootstrap, event)
        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(SCHEDULED))
        (scheduled,) = of_type(seen, SCHEDULED)
        visit = t0 + timedelta(days=3, hours=1)
        assert datetime.fromisoformat(scheduled["starts_at"]) == visit
        assert scheduled["measure"] == "FUH"
        assert scheduled["needs_ride"] is True and scheduled["telehealth"] is False
        assert scheduled["location"]["name"] == "Clinic PRV-MH"
        requests = await wait_for(service.kafka, "notification.requests", event.case_id, count(NOTICE))
        (told,) = notices(requests, "followup.scheduled")
        assert (told["recipient_id"], told["recipient_role"]) == (f"coordinators:{service.facility}", "coordinator")

        await asyncio.sleep(1.0)  # ten scheduler ticks: nothing is due yet
        assert of_type(await events_of(service.kafka, "appointment.events", event.case_id), REMINDER) == []
        clock.advance(visit - timedelta(hours=72) - clock.now() + timedelta(minutes=1))
        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(REMINDER))
        assert [r["offset_hours"] for r in of_type(seen, REMINDER)] == [72]
        clock.advance(visit - timedelta(hours=24) - clock.now() + timedelta(minutes=1))
        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(REMINDER, 2))
        assert [r["offset_hours"] for r in of_type(seen, REMINDER)] == [72, 24]

        clock.advance(visit + timedelta(hours=1) - clock.now())
        answer = await service.http.post(f"/v1/appointments/{scheduled['appointment_id']}/attended")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "attended"
        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(ATTENDED))
        (attended,) = of_type(seen, ATTENDED)
        assert (attended["contact_kind"], attended["within_7_days"], attended["within_30_days"]) == (
            "clinical_visit",
            True,
            True,
        )
        requests = await events_of(service.kafka, "notification.requests", event.case_id)
        assert len(notices(requests, "followup.reminder")) == 2

        bundle = await service.http.get("/fhir/Appointment", params={"patient": event.case_id})
        assert bundle.headers["content-type"].startswith("application/fhir+json")
        parsed = Bundle.model_validate(bundle.json())
        assert parsed.type == "searchset" and parsed.total == 1
        assert bundle.json()["entry"][0]["resource"]["status"] == "fulfilled"
        clock_view = (await service.http.get(f"/v1/cases/{event.case_id}/followup")).json()
        assert clock_view["measure"] == "FUH" and clock_view["met_7d_at"] is not None


async def test_a_missed_visit_asks_the_specialist_to_re_engage_and_books_the_next_slot(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        first, second = t0 + timedelta(days=2, hours=1), t0 + timedelta(days=3, hours=1)
        await seed(service, [provider("PRV-MH")], [slot("a", "PRV-MH", first), slot("b", "PRV-MH", second)])
        event = discharged(service, t0)
        specialist = unique("S")
        assigned = SpecialistAssigned(
            case_id=event.case_id,
            assignment_id=unique("A"),
            specialist=Candidate(specialist_id=specialist, score=0.9),
            acknowledge_by=t0 + timedelta(hours=4),
        )
        await publish(kafka_bootstrap, assigned)

        async def specialist_known() -> bool:
            async with service.runtime.db.sessions() as session:
                return await session.get(CaseSpecialist, event.case_id) is not None

        deadline = time.monotonic() + 40
        while not await specialist_known():
            assert time.monotonic() < deadline, "SpecialistAssigned was not consumed"
            await asyncio.sleep(0.2)
        await publish(kafka_bootstrap, event)
        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(SCHEDULED))
        booked = of_type(seen, SCHEDULED)[0]
        assert datetime.fromisoformat(booked["starts_at"]) == first

        too_soon = await service.http.post(f"/v1/appointments/{booked['appointment_id']}/missed")
        assert too_soon.status_code == 409, too_soon.text  # a visit is missed only once it was due
        assert (await service.http.post("/v1/appointments/AP-nobody/missed")).status_code == 404
        clock.advance(first + timedelta(hours=2) - clock.now())
        answer = await service.http.post(f"/v1/appointments/{booked['appointment_id']}/missed")
        assert answer.status_code == 200, answer.text
        rebooked = answer.json()["rebooked"]
        assert datetime.fromisoformat(rebooked["starts_at"]) == second
        assert rebooked["replaces_id"] == booked["appointment_id"]

        seen = await wait_for(service.kafka, "appointment.events", event.case_id, count(SCHEDULED, 2))
        assert [kind for kind, _ in seen if kind != "case.opened.v1"] == [SCHEDULED, MISSED, SCHEDULED]
        assert of_type(seen, SCHEDULED)[1]["replaces_appointment_id"] == booked["appointment_id"]
        requests = await wait_for(
            service.kafka, "notification.requests", event.case_id, lambda s: bool(notices(s, "followup.missed"))
        )
        (re_engage,) = notices(requests, "followup.missed")
        assert (re_engage["recipient_id"], re_engage["recipient_role"], re_engage["priority"]) == (
            specialist,
            "specialist",
            "urgent",
        )
        assert rebooked["id"] in re_engage["summary"]
        assert {n["recipient_id"] for n in notices(requests, "followup.scheduled")} == {specialist}
        again = await service.http.post(f"/v1/appointments/{booked['appointment_id']}/missed")
        assert again.json()["rebooked"]["id"] == rebooked["id"]  # repeating the request books nothing more


async def test_without_a_slot_in_7_days_the_visit_is_booked_within_30_and_else_flagged_at_risk(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        await seed(service, [provider("PRV-MH")], [slot("day-12", "PRV-MH", t0 + timedelta(days=12, hours=1))])
        late, none = discharged(service, t0), discharged(service, t0)
        await publish(kafka_bootstrap, late)
        seen = await wait_for(service.kafka, "appointment.events", late.case_id, count(AT_RISK))
        (scheduled,) = of_type(seen, SCHEDULED)
        (risk,) = of_type(seen, AT_RISK)
        assert (risk["reason"], risk["window_days"], risk["measure"]) == ("no_slot_within_7_days", 7, "FUH")
        assert risk["appointment_id"] == scheduled["appointment_id"]
        assert datetime.fromisoformat(risk["deadline"]) == datetime.combine(
            (t0 + timedelta(days=8)).date(), datetime.min.time(), UTC
        ) - timedelta(microseconds=1)

        await publish(kafka_bootstrap, none)
        seen = await wait_for(service.kafka, "appointment.events", none.case_id, count(AT_RISK))
        assert of_type(seen, SCHEDULED) == []
        assert [(r["reason"], r["window_days"]) for r in of_type(seen, AT_RISK)] == [("no_slot_within_30_days", 30)]
        requests = await wait_for(service.kafka, "notification.requests", none.case_id, count(NOTICE))
        assert notices(requests, "followup.at_risk")[0]["priority"] == "urgent"


async def test_a_cancelled_discharge_cancels_the_visit_and_releases_its_slot(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        visit = t0 + timedelta(days=2, hours=1)
        await seed(service, [provider("PRV-MH")], [slot("only", "PRV-MH", visit)])
        first, second = discharged(service, t0), discharged(service, t0)
        await publish(kafka_bootstrap, first)
        await wait_for(service.kafka, "appointment.events", first.case_id, count(SCHEDULED))
        await publish(kafka_bootstrap, discharge_cancelled(first))
        seen = await wait_for(service.kafka, "appointment.events", first.case_id, count(CANCELLED))
        assert of_type(seen, CANCELLED)[0]["reason"] == "discharge_cancelled"
        free = (await service.http.get("/v1/slots", params={"free": "true"})).json()
        assert [s["id"] for s in free] == ["only"]

        await publish(kafka_bootstrap, second)
        seen = await wait_for(service.kafka, "appointment.events", second.case_id, count(SCHEDULED))
        (scheduled,) = of_type(seen, SCHEDULED)
        assert datetime.fromisoformat(scheduled["starts_at"]) == visit
        assert (await service.http.get("/v1/slots", params={"free": "true"})).json() == []

        # The clinic's system reports the visit through FHIR.
        clock.advance(visit + timedelta(hours=1) - clock.now())
        update = {"resourceType": "Appointment", "status": "fulfilled", "participant": [{"status": "accepted"}]}
        answer = await service.http.put(
            f"/fhir/Appointment/{scheduled['appointment_id']}",
            content=json.dumps(update),
            headers={"Content-Type": "application/fhir+json"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "fulfilled"
        await wait_for(service.kafka, "appointment.events", second.case_id, count(ATTENDED))


async def test_an_update_to_a_language_the_clinic_does_not_speak_moves_the_visit_to_one_that_does(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        early, later = t0 + timedelta(days=1, hours=1), t0 + timedelta(days=2, hours=1)
        await seed(
            service,
            [provider("PRV-EN", languages=["en"]), provider("PRV-ES", languages=["en", "es"])],
            [slot("en-early", "PRV-EN", early), slot("es-later", "PRV-ES", later)],
        )
        first = discharged(service, t0)
        await publish(kafka_bootstrap, first)
        seen = await wait_for(service.kafka, "appointment.events", first.case_id, count(SCHEDULED))
        assert of_type(seen, SCHEDULED)[0]["provider_id"] == "PRV-EN"  # the earliest suitable slot

        patient = first.discharge.patient.model_copy(update={"language": "es"})
        update = DischargeUpdated(
            case_id=first.case_id,
            discharge=first.discharge.model_copy(update={"patient": patient}),
            changed_fields=("patient.language",),
            source=Source(channel=Channel.JSON, message_id=unique("msg")),
        )
        await publish(kafka_bootstrap, update)
        seen = await wait_for(service.kafka, "appointment.events", first.case_id, count(SCHEDULED, 2))
        assert of_type(seen, CANCELLED)[0]["reason"] == "rescheduled"
        assert [s["provider_id"] for s in of_type(seen, SCHEDULED)] == ["PRV-EN", "PRV-ES"]
        free = (await service.http.get("/v1/slots", params={"free": "true"})).json()
        assert [s["id"] for s in free] == ["en-early"]


async def test_a_deadline_near_with_nothing_booked_is_at_risk_unless_a_peer_support_visit_met_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        await seed(service, [provider("PRV-MH")], [slot("only", "PRV-MH", t0 + timedelta(days=2, hours=1))])
        unbooked, peer_supported = discharged(service, t0), discharged(service, t0)
        for case in (unbooked, peer_supported):
            await publish(kafka_bootstrap, case)
            seen = await wait_for(service.kafka, "appointment.events", case.case_id, count(SCHEDULED))
            cancelled = await service.http.post(
                f"/v1/appointments/{of_type(seen, SCHEDULED)[0]['appointment_id']}/cancel",
                json={"reason": "patient_request", "rebook": False},
            )
            assert cancelled.json()["rebooked"] is None
        clock.advance(timedelta(days=2))
        contact = await service.http.post(
            f"/v1/cases/{peer_supported.case_id}/contacts",
            json={"kind": "peer_support_visit", "occurred_at": (t0 + timedelta(days=2)).isoformat()},
        )
        assert contact.status_code == 201, contact.text
        assert contact.json()["within_7_days"] is True

        deadline_7d = datetime.combine((t0 + timedelta(days=8)).date(), datetime.min.time(), UTC)
        clock.advance(deadline_7d - timedelta(hours=47) - clock.now())
        seen = await wait_for(service.kafka, "appointment.events", unbooked.case_id, count(AT_RISK))
        assert [(r["reason"], r["window_days"]) for r in of_type(seen, AT_RISK)] == [
            ("deadline_near_nothing_booked", 7)
        ]
        await asyncio.sleep(1.0)
        seen = await events_of(service.kafka, "appointment.events", peer_supported.case_id)
        assert of_type(seen, AT_RISK) == []
        (attended,) = of_type(seen, ATTENDED)
        assert attended["appointment_id"].startswith("CT-")
        assert attended["contact_kind"] == "peer_support_visit"


async def test_discharges_racing_for_few_slots_never_share_one_and_each_ends_booked_or_at_risk(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name, facility = f"appointment-it-{uuid.uuid4().hex[:8]}", unique("FAC")
    await start_group_at_end(kafka, name, LISTENS)
    async with AsyncExitStack() as stack:
        # Three instances of one consumer group on one database, as a scaled-out deployment runs them.
        instances = [
            await stack.enter_async_context(
                running_appointment(
                    kafka_bootstrap, tmp_path, clock, name=name, facility=facility, consumer_max_attempts=20
                )
            )
            for _ in range(3)
        ]
        slots = [slot(f"s{i}", "PRV-MH", t0 + timedelta(days=1 + i % 6, hours=1 + i)) for i in range(6)]
        await seed(instances[0], [provider("PRV-MH")], slots)
        cases = [discharged(instances[0], t0) for _ in range(24)]
        await publish(kafka_bootstrap, *cases)

        async def outcomes() -> dict[str, str]:
            records = await read_topic(kafka, "appointment.events", timeout_s=10)
            wanted = {c.case_id.encode(): c.case_id for c in cases}
            ended: dict[str, str] = {}
            for record in records:
                kind = header_map(record.headers or ())["ce_type"]
                if record.key in wanted and kind in (SCHEDULED, AT_RISK):
                    ended.setdefault(wanted[record.key], kind)
            return ended

        deadline = time.monotonic() + 90
        ended = await outcomes()
        while len(ended) < len(cases):
            assert time.monotonic() < deadline, f"only {len(ended)} of {len(cases)} cases ended"
            await asyncio.sleep(0.5)
            ended = await outcomes()
        assert sorted(ended.values()).count(SCHEDULED) == len(slots)
        async with instances[0].runtime.db.sessions() as session:
            booked = (await session.exec(select(Appointment.slot_id).where(col(Appointment.status) == "booked"))).all()
        assert sorted(booked) == sorted(s["id"] for s in slots)
        for case in cases:
            seen = await events_of(kafka, "appointment.events", case.case_id)
            assert len(of_type(seen, SCHEDULED)) + len(of_type(seen, AT_RISK)) == 1


async def test_reminders_pending_across_restarts_are_each_sent_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 + timedelta(minutes=5))
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name, facility = f"appointment-it-{uuid.uuid4().hex[:8]}", unique("FAC")
    await start_group_at_end(kafka, name, LISTENS)
    visit = t0 + timedelta(days=3, hours=1)
    event: DischargeRegistered | None = None
    async with running_appointment(kafka_bootstrap, tmp_path, clock, name=name, facility=facility) as service:
        await seed(service, [provider("PRV-MH")], [slot("day-3", "PRV-MH", visit)])
        event = discharged(service, t0)
        await publish(kafka_bootstrap, event)
        await wait_for(kafka, "appointment.events", event.case_id, count(SCHEDULED))
    # Down while the 72-hour reminder falls due.
    clock.advance(visit - timedelta(hours=72) - clock.now() + timedelta(minutes=1))
    async with running_appointment(kafka_bootstrap, tmp_path, clock, name=name, facility=facility):
        await wait_for(kafka, "appointment.events", event.case_id, count(REMINDER))
    async with running_appointment(kafka_bootstrap, tmp_path, clock, name=name, facility=facility):
        await asyncio.sleep(1.0)  # restarted with the 24-hour reminder still pending
        clock.advance(visit - timedelta(hours=24) - clock.now() + timedelta(minutes=1))
        await wait_for(kafka, "appointment.events", event.case_id, count(REMINDER, 2))
        await asyncio.sleep(1.0)
    seen = await events_of(kafka, "appointment.events", event.case_id)
    assert [r["offset_hours"] for r in of_type(seen, REMINDER)] == [72, 24]
    assert len(of_type(seen, SCHEDULED)) == 1
    requests = await events_of(kafka, "notification.requests", event.case_id)
    assert sorted(n["summary"][:6] for n in notices(requests, "followup.reminder")) == ["In 24 ", "In 72 "]


async def test_planning_starts_at_the_pending_discharge_and_a_later_discharge_moves_the_visit(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    t0 = far_morning()
    clock = ManualClock(t0 - timedelta(days=1))
    async with fresh_service(kafka_bootstrap, tmp_path, clock) as service:
        day_2, day_4 = t0 + timedelta(days=2, hours=1), t0 + timedelta(days=4, hours=1)
        await seed(service, [provider("PRV-MH")], [slot("day-2", "PRV-MH", day_2), slot("day-4", "PRV-MH", day_4)])
        planned = discharged(service, t0)
        pending = DischargePending(
            case_id=planned.case_id,
            discharge=planned.discharge.model_copy(update={"discharged_at": None, "expected_discharge_at": t0}),
            source=planned.source,
        )
        await publish(kafka_bootstrap, pending)
        seen = await wait_for(service.kafka, "appointment.events", planned.case_id, count(SCHEDULED))
        first = of_type(seen, SCHEDULED)[0]
        assert datetime.fromisoformat(first["starts_at"]) == day_2

        # The patient leaves two days late: the booked visit would fall on the day of discharge, which FUH never counts.
        clock.advance(timedelta(days=3))
        late = planned.discharge.model_copy(update={"discharged_at": day_2 - timedelta(hours=3)})
        await publish(kafka_bootstrap, planned.model_copy(update={"discharge": late}))
        seen = await wait_for(service.kafka, "appointment.events", planned.case_id, count(SCHEDULED, 2))
        assert of_type(seen, CANCELLED) == [
            {"case_id": planned.case_id, "appointment_id": first["appointment_id"], "reason": "rescheduled"}
        ]
        moved = of_type(seen, SCHEDULED)[1]
        assert datetime.fromisoformat(moved["starts_at"]) == day_4
        assert moved["replaces_appointment_id"] == first["appointment_id"]
