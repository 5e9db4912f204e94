"""Who hears about a case's follow-up (its peer specialist, else the facility's coordinators), and how to tell them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import NotificationRequested
from shared.events.common import Priority

from ..db import CaseSpecialist
from ..settings import AppointmentSettings

SOURCE = "/appointment"
NOTICE_NAMESPACE = uuid.UUID("0c8b1f3e-47a2-4e55-9d1c-6a0e2f7b9d41")


async def recipients_of(
    session: AsyncSession, case_id: str, facility_id: str, settings: AppointmentSettings
) -> list[tuple[str, str]]:
    """The assigned specialist when assignment told us one, else the facility's coordinators."""
    specialist = await session.get(CaseSpecialist, case_id)
    if specialist is not None:
        return [(specialist.specialist_id, "specialist")]
    coordinators = settings.facility_coordinators.get(facility_id) or (f"coordinators:{facility_id}",)
    return [(coordinator, "coordinator") for coordinator in coordinators]


def notify(
    session: AsyncSession,
    recipients: list[tuple[str, str]],
    *,
    case_id: str,
    template: str,
    summary: str,
    related_id: str,
    key: str,
    now: datetime,
    priority: Priority = Priority.ROUTINE,
) -> None:
    """Stage one NotificationRequested per recipient. `key` names the occasion, so the notification id is the same
    whenever the same occasion is staged again (the notification service deduplicates on it)."""
    for recipient_id, role in recipients:
        outbox.add(
            session,
            NotificationRequested(
                case_id=case_id,
                notification_id=str(uuid.uuid5(NOTICE_NAMESPACE, f"{key}/{recipient_id}")),
                recipient_id=recipient_id,
                recipient_role=role,
                template=template,
                priority=priority,
                summary=summary[:280],
                link=f"/v1/cases/{case_id}",
                related_id=related_id,
            ),
            source=SOURCE,
            now=now,
        )
