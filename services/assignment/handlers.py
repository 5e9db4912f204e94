"""Assignment's use cases."""

from __future__ import annotations

import uuid

from shared import outbox
from shared.clock import Clock
from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    NotificationRequested,
)
from shared.inbox import Delivery

from .db import AssignmentCase

SERVICE = "assignment"
SOURCE = f"/{SERVICE}"


async def open_case(
    event: DischargePending | DischargeRegistered | DischargeUpdated, delivery: Delivery, *, clock: Clock
) -> None:
    """Keep what assignment needs of the discharge; the first time, emit this service's receipt."""
    session, now, details = delivery.session, clock.now(), event.discharge
    case = await session.get(AssignmentCase, event.case_id)
    first_time = case is None
    case = case or AssignmentCase(case_id=event.case_id, facility_id=details.facility.id, opened_at=now, updated_at=now)
    case.sqlmodel_update(
        dict(
            facility_id=details.facility.id,
            language=details.patient.language,
            recovery_domains=",".join(details.planning.recovery_domains),
            consent_peer_support=details.planning.consent_peer_support,
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
        outbox.add(
            session,
            NotificationRequested(
                case_id=event.case_id,
                notification_id=str(uuid.uuid5(uuid.UUID(delivery.envelope.id), "awaiting-match")),
                recipient_id=f"coordinators:{details.facility.id}",
                recipient_role="coordinator",
                template="case.awaiting-match",
                summary=f"New case {event.case_id[:8]} at {details.facility.id}: peer specialist match pending",
            ),
            source=SOURCE,
            now=now,
        )


async def close_cancelled_case(event: DischargeCancelled, delivery: Delivery, *, clock: Clock) -> None:
    case = await delivery.session.get(AssignmentCase, event.case_id)
    if case is not None:
        case.status = "cancelled"
        case.updated_at = clock.now()
        delivery.session.add(case)
