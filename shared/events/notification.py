"""notification.requests and notification.events: telling people, and hearing back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Priority


class NotificationChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    INBOX = "inbox"


class NotificationRequested(Event):
    """A command to the notification service. Minimum necessary: a link and the least identifying summary."""

    ce_type = "notification.requested.v1"
    topic = "notification.requests"
    notification_id: str
    recipient_id: str = Field(description="Specialist, supervisor or coordinator id.", examples=["S-104"])
    recipient_role: str = Field(examples=["specialist", "supervisor", "coordinator"])
    template: str = Field(examples=["specialist.assigned"])
    language: str = "en"
    priority: Priority = Priority.ROUTINE
    summary: str = Field(max_length=280, description="No diagnosis, no full name.")
    link: str | None = None
    channels: tuple[NotificationChannel, ...] = (NotificationChannel.INBOX,)
    needs_acknowledgement: bool = False
    respond_by: datetime | None = None
    related_id: str | None = Field(None, description="Assignment, ride, appointment or crisis id it is about.")


class NotificationDelivered(Event):
    ce_type = "notification.delivered.v1"
    topic = "notification.events"
    notification_id: str
    recipient_id: str
    channel: NotificationChannel
    delivered_at: datetime


class NotificationFailed(Event):
    ce_type = "notification.failed.v1"
    topic = "notification.events"
    notification_id: str
    recipient_id: str
    channel: NotificationChannel
    reason: str
    attempts: int = Field(ge=1)


class NotificationAcknowledged(Event):
    ce_type = "notification.acknowledged.v1"
    topic = "notification.events"
    notification_id: str
    recipient_id: str
    related_id: str | None = None
    accepted: bool = Field(description="False when the recipient declined.")
    responded_at: datetime
