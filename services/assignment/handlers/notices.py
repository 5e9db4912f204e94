"""The notifications assignment asks for: offers to specialists, crisis alerts, notes to coordinators.

Minimum necessary: a short case reference, a link behind sign-in, no name, no diagnosis, no lived-experience area.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.events import NotificationRequested
from shared.events.common import Priority
from shared.events.notification import NotificationChannel, NotificationContact

from ..db import SpecialistRecord, SupervisorRecord


@dataclass(frozen=True)
class Recipient:
    id: str
    role: str  # specialist, supervisor, coordinator
    email: str | None = None
    webhook_url: str | None = None
    language: str = "en"

    @classmethod
    def specialist(cls, row: SpecialistRecord) -> Recipient:
        # Written in English unless the specialist does not read it (the notification service has en and es).
        language = "en" if "en" in row.languages or not row.languages else row.languages[0]
        return cls(row.id, "specialist", row.email, row.webhook_url, language)

    @classmethod
    def supervisor(cls, row: SupervisorRecord) -> Recipient:
        return cls(row.id, "supervisor", row.email, row.webhook_url)

    @classmethod
    def coordinators(cls, facility_id: str) -> Recipient:
        return cls(f"coordinators:{facility_id}", "coordinator")

    def channels(self) -> tuple[NotificationChannel, ...]:
        return (
            NotificationChannel.INBOX,
            *((NotificationChannel.EMAIL,) if self.email else ()),
            *((NotificationChannel.WEBHOOK,) if self.webhook_url else ()),
        )

    def contact(self) -> NotificationContact | None:
        if not (self.email or self.webhook_url):
            return None
        return NotificationContact(email=self.email, webhook_url=self.webhook_url)


def new_notification_id() -> str:
    return f"N-{uuid.uuid4().hex}"


def notice(
    case_id: str,
    recipient: Recipient,
    *,
    template: str,
    summary: str,
    link: str | None = None,
    priority: Priority = Priority.ROUTINE,
    respond_by: datetime | None = None,
    related_id: str | None = None,
    notification_id: str | None = None,
) -> NotificationRequested:
    """A notification request; asking for an answer whenever it has a deadline."""
    return NotificationRequested(
        case_id=case_id,
        notification_id=notification_id or new_notification_id(),
        recipient_id=recipient.id,
        recipient_role=recipient.role,
        template=template,
        language=recipient.language,
        priority=priority,
        summary=summary,
        link=link or f"/v1/cases/{case_id}",
        channels=recipient.channels(),
        needs_acknowledgement=respond_by is not None,
        respond_by=respond_by,
        related_id=related_id,
        contact=recipient.contact(),
    )
