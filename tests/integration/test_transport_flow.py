"""Rides through the real broker: transport runs in-process (own service name, own facility, a ManualClock) with the
reference vendor in-process, and every step is read back from Kafka as a vendor or the coordinator would see it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import SecretStr

from services.transport.main import create_app
from services.transport.settings import TransportSettings
from services.transport.vendor_sim import VendorBehaviour, VendorSim
from shared.clock import ManualClock
from shared.dlq import read_topic
from shared.envelope import decode, encode, header_map
from shared.events import (
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    FollowupCancelled,
    FollowupScheduled,
    RideCancelRequested,
    RideRequested,
    SpecialistAssigned,
)
from shared.events.assignment import Candidate
from shared.events.common import Address, Channel, GeoPoint, Place
from shared.events.discharge import Destination, Facility, Identifier, Patient, Payer, PlanningNeeds, Source
from shared.inbox import InboxRecord
from shared.runtime import ServiceRuntime
from shared.settings import KafkaSettings
from tests.factories import discharge_details, unique
from tests.integration.coordinator_view import running_coordinator

pytestmark = pytest.mark.integration
API_KEY = "it:" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {API_KEY.split(':', 1)[1]}"}
ENTRANCE = Place(
    name="Springfield General, discharge lobby",
    address=Address(lines=("1 Hospital Way",), city="Springfield", state="IL", postal_code="62701"),
    location=GeoPoint(lat=39.80, lon=-89.65),
)
HOME = Place(
    name="Hope Recovery House",
    address=Address(lines=("12 Elm St",), city="Springfield", state="IL", postal_code="62702"),
    location=GeoPoint(lat=39.76, lon=-89.66),
)
CLINIC = Place(
    name="Springfield Community Clinic",
    address=Address(lines=("5 Main St",), city="Springfield", state="IL", postal_code="62704"),
    location=GeoPoint(lat=39.78, lon=-89.64),
)
# Every case a test here sends to the broker: the contract test checks every ride request they produced.
PRODUCED_CASES: set[str] = set()


@dataclass
class Run:
    """One transport instance with its clock, HTTP client and a producer standing in for the other services."""

    app: FastAPI
    clock: ManualClock
    http: httpx.AsyncClient
    kafka: KafkaSettings
    producer: AIOKafkaProducer
    facility: str
    stack: AsyncExitStack
    vendors: list[str] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def register(self, vendor_id: str, **profile: Any) -> str:
        body = {
            "vendor_id": vendor_id,
            "name": f"Test vendor {vendor_id}",
            "service_area": {"center": {"lat": 39.78, "lon": -89.65}, "radius_km": 40},
            "service_levels": ["ambulatory", "wheelchair", "wheelchair_transfer", "stretcher", "bls", "als"],
            "payer_contracts": ["medicaid_nemt", "other"],
            **profile,
        }
        answer = await self.http.put(f"/v1/vendors/{vendor_id}", json=body)
        assert answer.status_code == 200, answer.text
        self.vendors.append(vendor_id)
        return vendor_id

    async def vendor(self, vendor_id: str | None = None, priority: int = 100, **behaviour: Any) -> str:
        """A registered vendor answered by the reference simulator (seeded, in this process)."""
        vendor_id = await self.register(vendor_id or unique("V"), priority=priority)
        settings = {"accept_rate": 1.0, "delay_s": 0.05, "seed": 1, **behaviour}
        sim = VendorSim(self.kafka, vendor_id, VendorBehaviour(**settings), clock=self.clock)
        await self.stack.enter_async_context(sim)
        return vendor_id

    async def send(self, event: Event, source: str = "/intake") -> str:
        PRODUCED_CASES.add(event.case_id)
        encoded = encode(event, source=source, time=self.clock.now())
        headers = [(k, v.encode()) for k, v in encoded.headers.items()]
        await self.producer.send_and_wait(type(event).topic, encoded.body, key=encoded.key, headers=headers)
        return encoded.envelope.id

    async def know_specialist(self, case_id: str, specialist_id: str, phone: str | None = None) -> None:
        """Assignment's news, handled before the test goes on (it travels on another topic than the discharge)."""
        event_id = await self.send(specialist_assigned(case_id, specialist_id, phone), source="/assignment")
        await self.until(lambda: self.handled(event_id), f"specialist {specialist_id} known")

    async def handled(self, event_id: str) -> bool:
        async with self.runtime.db.sessions() as session:
            return await session.get(InboxRecord, event_id) is not None

    def discharge(
        self,
        kind: type[DischargePending | DischargeRegistered | DischargeUpdated] = DischargeRegistered,
        **changes: Any,
    ) -> Any:
        details = stay(self.facility, self.clock.now() + timedelta(hours=2), **changes)
        return kind(
            case_id=case_of(details), discharge=details, source=Source(channel=Channel.JSON, message_id=unique("m"))
        )

    async def records(self, topic: str, case_id: str) -> list[tuple[dict[str, str], Event]]:
        found = []
        for record in await read_topic(self.kafka, topic, timeout_s=10):
            if record.key == case_id.encode():
                headers = header_map(record.headers or ())
                found.append((headers, decode(headers, record.value)[1]))
        return found

    async def statuses(self, case_id: str, leg: str | None = None) -> list[tuple[str, str | None, str]]:
        """(status, vendor, ride id) of each RideStatusChanged of the case, in order."""
        return [
            (e.status.value, e.vendor_id, e.ride_id)
            for _, e in await self.records("transport.events", case_id)
            if e.ce_type == "ride.status-changed.v1" and (leg is None or e.leg.value == leg)  # type: ignore[attr-defined]
        ]

    async def until(self, check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.2)
        pytest.fail(f"not seen within {timeout_s}s: {what}")

    async def until_status(self, case_id: str, status: str, count: int = 1, leg: str | None = None) -> list[Any]:
        async def reached() -> list[Any] | None:
            seen = await self.statuses(case_id, leg)
            return seen if [s for s, _, _ in seen].count(status) >= count else None

        return await self.until(reached, f"{count} x {status} for case {case_id}")  # type: ignore[no-any-return]

    async def requests(self, case_id: str) -> list[tuple[dict[str, str], Any]]:
        return await self.records("transport.ride-requests", case_id)


def stay(facility_id: str, discharge_at: datetime, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "facility": Facility(id=facility_id, name="Springfield General", unit="DETOX-2", discharge_entrance=ENTRANCE),
        "visit_number": unique("V"),
        "patient": Patient(
            identifiers=(Identifier(value=unique("MRN"), type="MR"),),
            given_name="Ana",
            family_name="Rivera",
            birth_date=datetime(1980, 4, 2).date(),
            phone="+1-217-555-0142",
            language="es",
        ),
        "payer": Payer(name="Illinois Medicaid", member_id="MCD1234567", is_medicaid=True),
        "discharged_at": discharge_at,
        "expected_discharge_at": discharge_at,
        "planning": PlanningNeeds(destination=Destination.RESIDENTIAL_TREATMENT, destination_place=HOME),
    }
    values.update(changes)
    return discharge_details(**values)


def case_of(details: Any) -> str:
    from shared.case_id import case_id_for

    return case_id_for(details.facility.id, details.visit_number)


@asynccontextmanager
async def running_transport(kafka_bootstrap: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Run]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    facility = unique("IT_FACILITY")
    settings = TransportSettings(
        service_name=f"transport-{uuid.uuid4().hex[:8]}",
        api_keys=SecretStr(API_KEY),
        data_dir=tmp_path,
        kafka=kafka,
        facilities=(facility,),
        scheduler_interval_s=0.2,
        consumer_backoff_s=0.05,
        **overrides,
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://transport", headers=AUTH)
        )
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        stack.push_async_callback(producer.stop)
        yield Run(app, clock, http, kafka, producer, facility, stack)


def followup(case_id: str, starts_at: datetime, **changes: Any) -> FollowupScheduled:
    values: dict[str, Any] = {
        "case_id": case_id,
        "appointment_id": unique("AP"),
        "provider_id": "PRV-221",
        "starts_at": starts_at,
        "location": CLINIC,
        "needs_ride": True,
    }
    values.update(changes)
    return FollowupScheduled(**values)


def specialist_assigned(case_id: str, specialist_id: str, phone: str | None = None) -> SpecialistAssigned:
    return SpecialistAssigned(
        case_id=case_id,
        assignment_id=unique("A"),
        specialist=Candidate(specialist_id=specialist_id, score=0.9),
        specialist_phone=phone,
        acknowledge_by=datetime.now(UTC) + timedelta(hours=4),
    )


def kinds(records: Iterable[tuple[dict[str, str], Any]]) -> list[str]:
    return [event.ce_type for _, event in records]


async def test_a_discharge_gets_a_ride_home_through_every_state(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with (
        running_coordinator(kafka_bootstrap, tmp_path / "coordinator") as coordinator,
        running_transport(kafka_bootstrap, tmp_path) as run,
    ):
        vendor = await run.vendor()
        event = run.discharge()
        await run.send(event)

        seen = await run.until_status(event.case_id, "completed")
        assert [(s, v) for s, v, _ in seen] == [
            ("requested", vendor),
            ("accepted", vendor),
            ("driver_assigned", vendor),
            ("picked_up", vendor),
            ("completed", vendor),
        ]
        events = await run.records("transport.events", event.case_id)
        assert events[0][1].ce_type == "case.opened.v1"
        assigned = next(e for _, e in events if getattr(e, "status", None) == "driver_assigned")
        assert assigned.eta is not None

        ((headers, request),) = await run.requests(event.case_id)
        assert isinstance(request, RideRequested)
        assert headers["vendor_id"] == request.vendor_id == vendor
        assert request.pickup == ENTRANCE and request.dropoff == Place(address=HOME.address, location=HOME.location)
        assert request.earliest_pickup == event.discharge.discharged_at - timedelta(minutes=15)
        assert (request.rider.first_name, request.rider.last_name, request.rider.phone) == (
            "Ana",
            "Rivera",
            "+1-217-555-0142",
        )
        assert request.payer is not None and request.payer.kind == "medicaid_nemt"
        assert request.idempotency_key == f"{request.ride_id}:1"

        rides = (await run.http.get(f"/v1/cases/{event.case_id}/rides")).json()
        assert [(r["leg"], r["status"], r["vendor_id"]) for r in rides] == [("home", "completed", vendor)]

        case = await coordinator.until(
            event.case_id, lambda c: c.plan["ride_home"].state == "done", "the ride home done"
        )
        on_timeline = [i.data["status"] for i in case.timeline if i.type == "ride.status-changed.v1"]
        assert on_timeline == ["requested", "accepted", "driver_assigned", "picked_up", "completed"]


async def test_the_specialist_matched_after_the_offer_reaches_the_vendor_as_the_contact(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        vendor = await run.vendor(progress_delay_s=600)  # accepts, then holds the ride while the test looks
        event = run.discharge()
        await run.send(event)
        await run.until_status(event.case_id, "accepted")
        first = [request for _, request in await run.requests(event.case_id)]
        assert [request.notify_contact_phone for request in first] == [None]

        await run.know_specialist(event.case_id, "S-ride-contact", phone="+1-217-555-0104")

        async def resent() -> list[Any] | None:
            found = [(headers, request) for headers, request in await run.requests(event.case_id)]
            return found if len(found) == 2 else None

        (_, original), (headers, again) = await run.until(resent, "the offer sent again with the contact")
        assert headers["vendor_id"] == vendor
        assert again.notify_contact_phone == "+1-217-555-0104"
        # The same booking, updated: the vendor's idempotency key makes it one ride, not two.
        assert (again.ride_id, again.idempotency_key) == (original.ride_id, original.idempotency_key)
        assert [s for s, _, _ in await run.statuses(event.case_id)].count("requested") == 1

        later = run.discharge()
        await run.know_specialist(later.case_id, "S-ride-contact", phone="+1-217-555-0104")
        await run.send(later)
        await run.until_status(later.case_id, "accepted")
        assert [r.notify_contact_phone for _, r in await run.requests(later.case_id)] == ["+1-217-555-0104"]


async def test_a_rejecting_vendor_passes_the_offer_to_the_next(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        refuser = await run.vendor(priority=1, accept_rate=0.0)
        taker = await run.vendor(priority=2)
        event = run.discharge()
        await run.send(event)

        seen = await run.until_status(event.case_id, "completed")
        assert [(s, v) for s, v, _ in seen][:4] == [
            ("requested", refuser),
            ("rejected", refuser),
            ("requested", taker),
            ("accepted", taker),
        ]
        requests = await run.requests(event.case_id)
        assert [(h["vendor_id"], r.idempotency_key.endswith(f":{n}")) for n, (h, r) in enumerate(requests, 1)] == [
            (refuser, True),
            (taker, True),
        ]


async def test_a_vendor_silent_past_the_accept_timeout_is_skipped(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path, accept_timeout_minutes=10) as run:
        silent = await run.register(unique("V-SILENT"), priority=1)
        taker = await run.vendor(priority=2)
        event = run.discharge()
        await run.send(event)
        await run.until_status(event.case_id, "requested")

        run.clock.advance(timedelta(minutes=11))
        seen = await run.until_status(event.case_id, "completed")
        assert [(s, v) for s, v, _ in seen][:3] == [("requested", silent), ("rejected", silent), ("requested", taker)]
        withdrawn = [e for h, e in await run.requests(event.case_id) if isinstance(e, RideCancelRequested)]
        assert [(e.vendor_id, e.reason) for e in withdrawn] == [(silent, "offer_expired")]


async def test_a_cancelled_discharge_cancels_the_ride_with_the_vendor(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        vendor = await run.vendor(delay_s=60)  # still thinking when the discharge is called off
        event = run.discharge(DischargePending)
        await run.send(event)
        await run.until_status(event.case_id, "requested")

        cancel = DischargeCancelled(
            case_id=event.case_id,
            facility_id=run.facility,
            visit_number=event.discharge.visit_number,
            source=Source(channel=Channel.JSON, message_id=unique("m")),
        )
        await run.send(cancel)
        await run.until_status(event.case_id, "cancelled")

        async def confirmed() -> bool:
            updates = await run.records("transport.ride-updates", event.case_id)
            return any(e.ce_type == "ride.cancelled.v1" for _, e in updates)

        await run.until(confirmed, "the vendor's confirmation")
        (header, withdrawn), *_ = [
            (h, e) for h, e in await run.requests(event.case_id) if isinstance(e, RideCancelRequested)
        ]
        assert (header["vendor_id"], withdrawn.vendor_id, withdrawn.reason) == (vendor, vendor, "discharge_cancelled")
        await asyncio.sleep(1.0)  # the vendor's confirmation changes nothing
        assert [s for s, _, _ in await run.statuses(event.case_id)] == ["requested", "cancelled"]


async def test_a_new_discharge_time_reschedules_and_a_small_shift_does_not(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor(delay_s=60)
        first = run.discharge(DischargePending, discharged_at=None)
        await run.send(first)
        await run.until_status(first.case_id, "requested")

        later = first.discharge.expected_discharge_at + timedelta(hours=3)
        moved = DischargeUpdated(
            case_id=first.case_id,
            discharge=first.discharge.model_copy(update={"expected_discharge_at": later}),
            changed_fields=("expected_discharge_at",),
            source=Source(channel=Channel.JSON, message_id=unique("m")),
        )
        await run.send(moved)
        seen = await run.until_status(first.case_id, "requested", count=2)
        assert [s for s, _, _ in seen] == ["requested", "cancelled", "requested"]
        old_ride, new_ride = seen[0][2], seen[2][2]
        assert old_ride != new_ride and seen[1][2] == old_ride

        requests = await run.requests(first.case_id)
        assert kinds(requests) == ["ride.requested.v1", "ride.cancel-requested.v1", "ride.requested.v1"]
        assert requests[1][1].reason == "rescheduled"
        assert requests[2][1].earliest_pickup == later - timedelta(minutes=15)

        actual = later + timedelta(minutes=5)  # the A03 a few minutes after the planned time
        registered = DischargeRegistered(
            case_id=first.case_id,
            discharge=first.discharge.model_copy(update={"expected_discharge_at": later, "discharged_at": actual}),
            source=Source(channel=Channel.JSON, message_id=unique("m")),
        )
        event_id = await run.send(registered)
        await run.until(lambda: run.handled(event_id), "the A03 handled")
        assert len(await run.statuses(first.case_id)) == 3


async def test_an_update_with_a_new_phone_reaches_the_vendor_holding_the_ride(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor(delay_s=60)
        first = run.discharge(DischargePending, discharged_at=None)
        await run.send(first)
        await run.until_status(first.case_id, "requested")

        patient = first.discharge.patient.model_copy(update={"phone": "+1-217-555-0177"})
        changed = DischargeUpdated(
            case_id=first.case_id,
            discharge=first.discharge.model_copy(update={"patient": patient}),
            changed_fields=("patient.phone",),
            source=Source(channel=Channel.JSON, message_id=unique("m")),
        )
        await run.send(changed)

        async def resent() -> list[Any] | None:
            found = [request for _, request in await run.requests(first.case_id)]
            return found if len(found) == 2 else None

        original, again = await run.until(resent, "the offer sent again with the new phone")
        assert (original.rider.phone, again.rider.phone) == ("+1-217-555-0142", "+1-217-555-0177")
        assert (again.ride_id, again.idempotency_key) == (original.ride_id, original.idempotency_key)
        assert [s for s, _, _ in await run.statuses(first.case_id)] == ["requested"]  # the same ride, not a new one


async def test_a_followup_in_person_gets_a_round_trip_of_two_legs(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor()
        event = run.discharge()
        await run.send(event)
        visit = followup(event.case_id, run.clock.now() + timedelta(days=3))
        await run.send(visit, source="/appointment")

        await run.until_status(event.case_id, "completed", leg="to_appointment")
        await run.until_status(event.case_id, "completed", leg="from_appointment")
        legs = [e for _, e in await run.requests(event.case_id) if isinstance(e, RideRequested) and e.leg != "home"]
        assert sorted(e.leg.value for e in legs) == ["from_appointment", "to_appointment"]
        assert all(e.round_trip for e in legs)
        there = next(e for e in legs if e.leg == "to_appointment")
        back = next(e for e in legs if e.leg == "from_appointment")
        assert there.latest_arrival == visit.starts_at - timedelta(minutes=15)
        assert there.dropoff == Place(address=CLINIC.address, location=CLINIC.location)
        assert back.will_call and back.pickup == there.dropoff
        changes = [
            e for _, e in await run.records("transport.events", event.case_id) if e.ce_type == "ride.status-changed.v1"
        ]
        assert {e.appointment_id for e in changes if e.leg != "home"} == {visit.appointment_id}


async def test_a_cancelled_followup_cancels_both_legs(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor(delay_s=60)
        event = run.discharge()
        await run.send(event)
        visit = followup(event.case_id, run.clock.now() + timedelta(days=3))
        await run.send(visit, source="/appointment")
        await run.until_status(event.case_id, "requested", count=3)

        cancelled = FollowupCancelled(
            case_id=event.case_id, appointment_id=visit.appointment_id, reason="patient_request"
        )
        await run.send(cancelled, source="/appointment")
        await run.until_status(event.case_id, "cancelled", count=2)
        by_leg = {
            leg: [s for s, _, _ in await run.statuses(event.case_id, leg)]
            for leg in ("home", "to_appointment", "from_appointment")
        }
        assert by_leg == {
            "home": ["requested"],
            "to_appointment": ["requested", "cancelled"],
            "from_appointment": ["requested", "cancelled"],
        }
        reasons = [e.reason for _, e in await run.requests(event.case_id) if isinstance(e, RideCancelRequested)]
        assert reasons == ["followup_cancelled", "followup_cancelled"]


async def test_a_missed_pickup_goes_to_another_vendor_and_the_specialist_hears_at_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        stalled = await run.vendor(priority=1, progress_delay_s=600)  # accepts, then no driver comes
        backup = await run.vendor(priority=2)
        event = run.discharge()
        await run.know_specialist(event.case_id, "S-104")
        await run.send(event)
        await run.until_status(event.case_id, "accepted")

        run.clock.advance(timedelta(hours=3, minutes=1))  # past the end of the pickup window
        seen = await run.until_status(event.case_id, "completed")
        assert [(s, v) for s, v, _ in seen][:3] == [
            ("requested", stalled),
            ("accepted", stalled),
            ("requested", backup),
        ]
        reoffer = [
            e for _, e in await run.records("transport.events", event.case_id) if getattr(e, "vendor_id", 0) == backup
        ]
        assert reoffer[0].detail.startswith("missed_pickup")

        withdrawn = [e for _, e in await run.requests(event.case_id) if isinstance(e, RideCancelRequested)]
        assert [(e.vendor_id, e.reason) for e in withdrawn] == [(stalled, "missed_pickup")]
        notices = [e for _, e in await run.records("notification.requests", event.case_id)]
        assert [(n.recipient_id, n.template, n.priority.value) for n in notices] == [
            ("S-104", "ride.missed-pickup", "urgent")
        ]
        assert "Ana" not in notices[0].summary and "Rivera" not in notices[0].summary


async def test_a_no_show_tells_the_specialist_and_the_ride_can_be_rebooked(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor(no_show_rate=1.0)
        event = run.discharge()
        await run.know_specialist(event.case_id, "S-7")
        await run.send(event)
        seen = await run.until_status(event.case_id, "no_show")
        ride_id = seen[-1][2]

        async def noticed() -> list[Any]:
            return [e for _, e in await run.records("notification.requests", event.case_id)]

        (notice,) = await run.until(noticed, "the specialist's notice")
        assert (notice.recipient_id, notice.template, notice.related_id) == ("S-7", "ride.no-show", ride_id)
        assert f"/v1/rides/{ride_id}/rebook" in notice.summary

        answer = await run.http.post(f"/v1/rides/{ride_id}/rebook", json={})
        assert answer.status_code == 201, answer.text
        assert answer.json()["ride_id"] != ride_id
        await run.until_status(event.case_id, "requested", count=2)
        again = await run.http.post(f"/v1/rides/{ride_id}/rebook", json={})
        assert again.status_code == 409


async def test_no_eligible_vendor_fails_the_ride_with_its_reason(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.register(unique("V-FAR"), service_area={"center": {"lat": 41.88, "lon": -87.63}, "radius_km": 20})
        event = run.discharge()
        await run.know_specialist(event.case_id, "S-9")
        await run.send(event)

        await run.until_status(event.case_id, "failed")
        failed = [e for _, e in await run.records("transport.events", event.case_id) if e.ce_type == "ride.failed.v1"]
        assert [(e.leg.value, e.reason) for e in failed] == [("home", "no_vendor")]
        notices = await run.until(lambda: run.records("notification.requests", event.case_id), "the failure notice")
        assert [(h["ce_type"], e.template) for h, e in notices] == [("notification.requested.v1", "ride.failed")]
        assert await run.requests(event.case_id) == []


async def test_without_a_discharge_entrance_the_ride_fails_rather_than_picking_up_at_the_unit(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor()
        event = run.discharge(facility=Facility(id=run.facility, unit="DETOX-2"))
        await run.send(event)
        await run.until_status(event.case_id, "failed")
        failed = [e for _, e in await run.records("transport.events", event.case_id) if e.ce_type == "ride.failed.v1"]
        assert [e.reason for e in failed] == ["no_pickup_place"]
