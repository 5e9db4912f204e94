"""The follow-up chain across services on the real broker: a discharge is booked by the appointment service on day 1
to 7, the transport service reads that booking from Kafka and books the round trip with a vendor, reminders go out
at their offsets as the clock moves, and the visit is attended.

Both services run in-process with consumer groups of their own; nothing stands in for either side of the chain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.events import RideRequested
from shared.events.common import Code
from tests.integration.test_appointment_flow import (
    ATTENDED,
    REMINDER,
    SCHEDULED,
    count,
    fresh_service,
    of_type,
    provider,
    seed,
    slot,
    wait_for,
)
from tests.integration.test_transport_flow import running_transport

pytestmark = pytest.mark.integration


async def test_a_booked_followup_gets_its_round_trip_reminders_and_is_attended(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path / "transport") as transport:
        await transport.vendor()
        clock = ManualClock(transport.clock.now())
        async with fresh_service(kafka_bootstrap, tmp_path / "appointment", clock) as appointment:
            event = transport.discharge(diagnoses=(Code(code="F32.9", system="ICD-10-CM"),))
            discharged_at = event.discharge.discharged_at
            assert discharged_at is not None
            visit_at = (discharged_at + timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
            await seed(
                appointment,
                [provider("PRV-MH", languages=["en", "es"])],
                [slot("day-2", "PRV-MH", visit_at)],
            )
            await transport.send(event)

            seen = await wait_for(appointment.kafka, "appointment.events", event.case_id, count(SCHEDULED))
            (scheduled,) = of_type(seen, SCHEDULED)
            assert datetime.fromisoformat(scheduled["starts_at"]) == visit_at.astimezone(UTC)
            assert scheduled["needs_ride"] is True

            async def round_trip() -> list[RideRequested] | None:
                legs = [
                    e
                    for _, e in await transport.requests(event.case_id)
                    if isinstance(e, RideRequested) and e.leg.value != "home"
                ]
                return legs if len({e.leg.value for e in legs}) == 2 else None

            legs = await transport.until(round_trip, "the round trip to the booked visit", timeout_s=40)
            assert sorted(e.leg.value for e in legs) == ["from_appointment", "to_appointment"]
            there = next(e for e in legs if e.leg.value == "to_appointment")
            assert there.latest_arrival == visit_at - timedelta(minutes=15)
            assert there.dropoff.address is not None and there.dropoff.address.lines == ("400 Main St",)

            clock.advance(visit_at - timedelta(hours=24) - clock.now() + timedelta(minutes=1))
            seen = await wait_for(appointment.kafka, "appointment.events", event.case_id, count(REMINDER))
            assert [r["offset_hours"] for r in of_type(seen, REMINDER)] == [24]  # 72 h before had already passed

            clock.advance(visit_at + timedelta(hours=1) - clock.now())
            answer = await appointment.http.post(f"/v1/appointments/{scheduled['appointment_id']}/attended")
            assert answer.status_code == 200, answer.text
            seen = await wait_for(appointment.kafka, "appointment.events", event.case_id, count(ATTENDED))
            (attended,) = of_type(seen, ATTENDED)
            assert attended["within_7_days"] is True
