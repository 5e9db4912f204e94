"""Appointment's use cases."""

from __future__ import annotations

from shared import outbox
from shared.clock import Clock
from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
)
from shared.inbox import Delivery

from .db import AppointmentCase

SERVICE = "appointment"
SOURCE = f"/{SERVICE}"


async def open_case(
    event: DischargePending | DischargeRegistered | DischargeUpdated, delivery: Delivery, *, clock: Clock
) -> None:
    """Keep what appointment needs of the discharge; the first time, emit this service's receipt."""
    session, now, details = delivery.session, clock.now(), event.discharge
    case = await session.get(AppointmentCase, event.case_id)
    first_time = case is None
    case = case or AppointmentCase(
        case_id=event.case_id, facility_id=details.facility.id, opened_at=now, updated_at=now
    )
    case.sqlmodel_update(
        dict(
            facility_id=details.facility.id,
            discharge_at=details.discharged_at or details.expected_discharge_at,
            status="open",
            updated_at=now,
        )
    )
    session.add(case)
    if first_time:
        outbox.add(
            session,
            CaseOpened(
                case_id=event.case_id,
                service=SERVICE,
                opened_at=now,
                trigger_event_id=delivery.envelope.id,
            ),
            source=SOURCE,
            now=now,
        )


async def close_cancelled_case(event: DischargeCancelled, delivery: Delivery, *, clock: Clock) -> None:
    case = await delivery.session.get(AppointmentCase, event.case_id)
    if case is not None:
        case.status = "cancelled"
        case.updated_at = clock.now()
        delivery.session.add(case)
