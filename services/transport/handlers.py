"""Transport's use cases."""

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

from .db import TransportCase

SERVICE = "transport"
SOURCE = f"/{SERVICE}"


async def open_case(
    event: DischargePending | DischargeRegistered | DischargeUpdated, delivery: Delivery, *, clock: Clock
) -> None:
    """Keep what transport needs of the discharge; the first time, emit this service's receipt."""
    session, now, details = delivery.session, clock.now(), event.discharge
    case = await session.get(TransportCase, event.case_id)
    first_time = case is None
    case = case or TransportCase(case_id=event.case_id, facility_id=details.facility.id, opened_at=now, updated_at=now)
    case.sqlmodel_update(
        dict(
            facility_id=details.facility.id,
            mobility=details.planning.mobility,
            destination=details.planning.destination,
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
    case = await delivery.session.get(TransportCase, event.case_id)
    if case is not None:
        case.status = "cancelled"
        case.updated_at = clock.now()
        delivery.session.add(case)
