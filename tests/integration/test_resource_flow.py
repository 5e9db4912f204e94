"""Resource on the real broker: a discharge with needs is matched, referred, accepted and completed through an
organisation's signed webhook, all on resource.events; an unanswered referral reminds the specialist once the clock
moves; a bad signature is refused.

The service runs in-process (its own consumer group and database), its HTTP app reached through httpx's ASGI
transport, on a ManualClock with a short scheduler interval.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from services.resource.directory_store import save_directory
from services.resource.hsds_validation import Dataset
from services.resource.main import create_app
from services.resource.settings import ResourceSettings
from services.resource.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared.case_id import case_id_for
from shared.clock import ManualClock
from shared.dlq import read_topic
from shared.envelope import encode, header_map
from shared.events import DischargeRegistered, Event, SpecialistAssigned
from shared.events.assignment import Candidate
from shared.events.common import Channel, GeoPoint, Place
from shared.events.discharge import Identifier, Need, Patient, Payer, PlanningNeeds, Source
from shared.runtime import ServiceRuntime
from shared.settings import KafkaSettings
from tests.factories import discharge_details, unique
from tests.integration.coordinator_view import running_coordinator

pytestmark = pytest.mark.integration

KEY = "it:" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {KEY.split(':', 1)[1]}"}
HOME = (39.7817, -89.6501)


def directory() -> Dataset:
    """Two housing services and a peer group near the patient's home, as HSDS 3.x records."""
    records: Dataset = {
        "organization": {
            "org-casa": {"id": "org-casa", "name": "Casa Nueva Housing", "description": "Bilingual rehousing"},
            "org-peer": {"id": "org-peer", "name": "Peer Alliance", "description": "Peer-run recovery groups"},
        },
        "taxonomy_term": {
            "t-housing": {"id": "t-housing", "code": "BH-1800", "name": "Housing", "description": "AIRS/211"},
            "t-peer": {"id": "t-peer", "code": "PN-8100", "name": "Support Groups", "description": "AIRS/211"},
        },
        "schedule": {
            "s-peer": {
                "id": "s-peer",
                "service_id": "svc-peer",
                "freq": "WEEKLY",
                "byday": "TU,TH",
                "opens_at": "18:00",
            }
        },
    }
    for n, (name, org, term, offset) in {
        "svc-casa": ("Casa Nueva", "org-casa", "t-housing", 0.02),
        "svc-annex": ("Casa Annex", "org-casa", "t-housing", 0.09),
        "svc-peer": ("Recovery Circle", "org-peer", "t-peer", 0.03),
    }.items():
        service = {"id": n, "organization_id": org, "name": name, "status": "active", "assured_date": "2026-10-01"}
        records.setdefault("service", {})[n] = service
        location = {"id": f"loc-{n}", "location_type": "physical", "latitude": HOME[0] + offset, "longitude": HOME[1]}
        records.setdefault("location", {})[f"loc-{n}"] = location
        sal = {"id": f"sal-{n}", "service_id": n, "location_id": f"loc-{n}"}
        records.setdefault("service_at_location", {})[f"sal-{n}"] = sal
        attribute = {"id": f"att-{n}", "link_id": n, "link_entity": "service", "taxonomy_term_id": term}
        records.setdefault("attribute", {})[f"att-{n}"] = attribute
    return records


@dataclass
class Running:
    runtime: ServiceRuntime
    http: httpx.AsyncClient
    clock: ManualClock
    kafka: KafkaSettings
    producer: AIOKafkaProducer

    async def publish(self, event: Event, topic: str) -> None:
        encoded = encode(event, source="/tests", time=self.clock.now())
        headers = [(k, v.encode()) for k, v in encoded.headers.items()]
        await self.producer.send_and_wait(topic, encoded.body, key=encoded.key, headers=headers)

    async def events(self, topic: str, case_id: str) -> list[tuple[str, dict[str, Any]]]:
        """What this instance emitted for the case: by ce_source, since a running stack may act on the case too."""
        records = await read_topic(self.kafka, topic, timeout_s=10)
        mine = f"/{self.runtime.name}"
        return [
            (headers["ce_type"], json.loads(r.value))
            for r in records
            if r.key == case_id.encode() and (headers := header_map(r.headers)).get("ce_source") == mine
        ]

    async def secret_for(self, organization_id: str) -> str:
        answer = await self.http.put(f"/v1/organizations/{organization_id}/webhook-secret", headers=AUTH)
        assert answer.status_code == 200, answer.text
        return answer.json()["secret"]

    def signed(self, body: dict[str, Any], secret: str) -> dict[str, Any]:
        raw = json.dumps(body).encode()
        timestamp = int(self.clock.now().timestamp())
        headers = {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, raw)}
        return {"content": raw, "headers": headers | {"Content-Type": "application/json"}}


@asynccontextmanager
async def running_resource(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Running]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    settings = ResourceSettings(
        service_name=f"resource-it-{uuid.uuid4().hex[:8]}",
        api_keys=SecretStr(KEY),
        data_dir=tmp_path,
        kafka=kafka,
        consumer_max_attempts=3,
        consumer_backoff_s=0.05,
        reminder_interval_s=0.2,
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, clock)
    runtime: ServiceRuntime = app.state.runtime
    async with app.router.lifespan_context(app):
        await save_directory(runtime.db, directory(), replace=True)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://resource") as http:
                yield Running(runtime, http, clock, kafka, producer)
        finally:
            await producer.stop()


async def eventually(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.2)
    pytest.fail(f"condition not met within {timeout_s}s")


def discharge_with_needs(now: datetime) -> DischargeRegistered:
    details = discharge_details(
        patient=Patient(
            identifiers=(Identifier(value=unique("MRN")),), birth_date=date(1984, 2, 9), sex="F", language="es"
        ),
        payer=Payer(is_medicaid=True),
        discharged_at=now,
        planning=PlanningNeeds(
            needs=(Need.HOUSING, Need.PEER_GROUP),
            destination_place=Place(name="home", location=GeoPoint(lat=HOME[0], lon=HOME[1])),
        ),
    )
    return DischargeRegistered(
        case_id=case_id_for(details.facility.id, details.visit_number),
        discharge=details,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )


async def test_a_discharge_is_matched_referred_and_closed_by_the_organisations_signed_webhook(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with (
        running_coordinator(kafka_bootstrap, tmp_path / "coordinator") as coordinator,
        running_resource(kafka_bootstrap, tmp_path) as service,
    ):
        secret = await service.secret_for("org-casa")
        event = discharge_with_needs(service.clock.now())
        await service.publish(event, "discharge.events")

        async def matched() -> dict[str, dict[str, Any]]:
            found = await service.events("resource.events", event.case_id)
            return {body["need"]: body for kind, body in found if kind == "resources.matched.v1"}

        by_need = await eventually(lambda: _both(matched()))
        housing = by_need["housing"]
        assert [o["service_id"] for o in housing["options"]] == ["svc-casa", "svc-annex"]
        assert housing["options"][0]["score"] > housing["options"][1]["score"]
        assert "2.2 km from the destination" in housing["options"][0]["reasons"]
        assert [o["service_id"] for o in by_need["peer_group"]["options"]] == ["svc-peer"]

        made = await service.http.post(
            f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-casa"}, headers=AUTH
        )
        assert made.status_code == 201, made.text
        referral_id = made.json()["id"]
        status_url = f"/v1/referrals/{referral_id}/status"

        forged = await service.http.post(status_url, **service.signed({"status": "accepted"}, "a-guessed-secret"))
        assert forged.status_code == 401
        accepted = await service.http.post(status_url, **service.signed({"status": "accepted"}, secret))
        assert accepted.status_code == 200, accepted.text
        service.clock.advance(timedelta(days=9))
        done = {"status": "completed", "note": "moved into transitional housing"}
        completed = await service.http.post(status_url, **service.signed(done, secret))
        assert completed.status_code == 200, completed.text

        async def loop_closed() -> list[tuple[str, dict[str, Any]]] | None:
            found = [
                (k, b) for k, b in await service.events("resource.events", event.case_id) if k.startswith("referral.")
            ]
            return found if len(found) >= 3 else None

        loop = await eventually(loop_closed)
        assert [kind for kind, _ in loop] == ["referral.created.v1", "referral.accepted.v1", "referral.completed.v1"]
        assert {body["referral_id"] for _, body in loop} == {referral_id}
        assert loop[2][1]["outcome"] == "moved into transitional housing"
        options = await service.http.get(f"/v1/cases/{event.case_id}/options", headers=AUTH)
        assert [n["need"] for n in options.json()["needs"]] == ["housing", "peer_group"]

        case = await coordinator.until(
            event.case_id, lambda c: c.plan["referrals"].state == "done", "the referral loop closed"
        )
        referrals = [i for i in case.timeline if i.type.startswith("referral.")]
        assert [i.type for i in referrals] == [kind for kind, _ in loop]
        assert {i.data["referral_id"] for i in referrals} == {referral_id}


async def test_an_unanswered_referral_reminds_the_specialist_after_the_clock_moves(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_resource(kafka_bootstrap, tmp_path) as service:
        event = discharge_with_needs(service.clock.now())
        await service.publish(event, "discharge.events")
        assigned = SpecialistAssigned(
            case_id=event.case_id,
            assignment_id=unique("A"),
            specialist=Candidate(specialist_id="S-104", score=0.9),
            acknowledge_by=service.clock.now() + timedelta(hours=4),
        )
        await service.publish(assigned, "assignment.events")

        async def notifications() -> list[dict[str, Any]]:
            found = await service.events("notification.requests", event.case_id)
            return [body for kind, body in found if kind == "notification.requested.v1"]

        # The specialist first hears of the peer group to suggest: the assignment has been taken in.
        suggested = await eventually(notifications)
        assert suggested[0]["template"] == "resource.activities-suggested"
        assert suggested[0]["recipient_id"] == "S-104"

        made = await service.http.post(
            f"/v1/cases/{event.case_id}/referrals", json={"service_id": "svc-annex"}, headers=AUTH
        )
        assert made.status_code == 201, made.text
        referral_id = made.json()["id"]
        await asyncio.sleep(1.0)  # several scheduler ticks: nothing is due yet
        assert not [n for n in await notifications() if n["template"] == "referral.unanswered"]

        service.clock.advance(timedelta(hours=48, minutes=5))

        async def reminded() -> list[dict[str, Any]]:
            return [n for n in await notifications() if n["template"] == "referral.unanswered"]

        (reminder,) = await eventually(reminded)
        assert reminder["related_id"] == referral_id
        assert (reminder["recipient_id"], reminder["recipient_role"]) == ("S-104", "specialist")
        assert reminder["link"] == f"/v1/cases/{event.case_id}"


async def _both(pending: Any) -> dict[str, dict[str, Any]] | None:
    found = await pending
    return found if {"housing", "peer_group"} <= set(found) else None
