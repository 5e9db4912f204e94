"""notification.requests and notification.events: telling people, and hearing back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from .base import Event
from .common import Priority, Value


class NotificationChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    INBOX = "inbox"


# Why a channel failed; part of the contract, so a consumer can tell "fix the roster" from "the server was down".
NotificationFailureReason = Literal[
    "phi_suspected",  # the request looked like it carried health information: nothing was sent on any channel
    "no_email_address",  # email asked for, but the request's contact has no email address
    "no_webhook_url",  # webhook asked for, but the request's contact has no webhook URL
    "no_webhook_secret",  # no signing secret is configured for the recipient, so nothing unsigned is sent
    "email_not_configured",  # NOTIFICATION_SMTP_HOST is not set
    "smtp_unreachable",  # connection, TLS or timeout error on the last attempt
    "smtp_rejected",  # a permanent 5yz reply (RFC 5321 §4.2.1): not retried
    "smtp_deferred",  # a transient 4yz reply on the last attempt
    "webhook_unreachable",  # a connection error on the last attempt
    "webhook_timeout",  # no answer within NOTIFICATION_WEBHOOK_TIMEOUT_S on the last attempt
    "webhook_rejected",  # a non-2xx answer on the last attempt (410 Gone: at once, not retried)
]


class NotificationContact(Value):
    """Where to reach the recipient: copied from the roster by the requesting service, which owns it."""

    email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Address for the email channel.",
        examples=["s-104@peers.example.org"],
    )
    webhook_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="Endpoint for the webhook channel: a signed JSON POST (docs/notifications.md).",
        examples=["https://peers.example.org/hooks/s-104"],
    )


class NotificationRequested(Event):
    """A command to the notification service. Minimum necessary: a link and the least identifying summary."""

    ce_type = "notification.requested.v1"
    topic = "notification.requests"
    notification_id: str = Field(
        description="The notification's id; deliveries and answers refer to it.", examples=["N-5d1e"]
    )
    recipient_id: str = Field(description="Specialist, supervisor or coordinator id.", examples=["S-104"])
    recipient_role: str = Field(
        description="The recipient's role.", examples=["specialist", "supervisor", "coordinator"]
    )
    template: str = Field(description="The message template to render.", examples=["specialist.assigned"])
    language: str = Field("en", description="ISO 639-1 language to write it in.", examples=["en", "es"])
    priority: Priority = Field(
        Priority.ROUTINE, description="How fast the recipient must see it.", examples=["routine"]
    )
    summary: str = Field(
        max_length=280,
        description="No diagnosis, no full name.",
        examples=["New peer support case C-3f2a: discharge tomorrow 14:00, please accept"],
    )
    link: str | None = Field(
        None, description="Where to see the details, behind sign-in.", examples=["/v1/cases/0f8e2a4b"]
    )
    channels: tuple[NotificationChannel, ...] = Field(
        (NotificationChannel.INBOX,), description="Where to deliver it.", examples=[["inbox", "email"]]
    )
    needs_acknowledgement: bool = Field(
        False, description="True when the recipient must accept or decline.", examples=[True]
    )
    respond_by: datetime | None = Field(
        None, description="When an answer is due, if one is needed.", examples=["2026-03-14T15:30:00Z"]
    )
    related_id: str | None = Field(
        None, description="Assignment, ride, appointment or crisis id it is about.", examples=["A-7f3c"]
    )
    contact: NotificationContact | None = Field(
        None, description="Where to reach the recipient on the email and webhook channels; not needed for inbox."
    )


class NotificationDelivered(Event):
    """A notification reached its recipient on one channel."""

    ce_type = "notification.delivered.v1"
    topic = "notification.events"
    notification_id: str = Field(
        description="The notification's id; deliveries and answers refer to it.", examples=["N-5d1e"]
    )
    recipient_id: str = Field(description="Specialist, supervisor or coordinator id.", examples=["S-104"])
    channel: NotificationChannel = Field(description="The channel it was delivered on.", examples=["email"])
    delivered_at: datetime = Field(description="When it was delivered.", examples=["2026-03-14T15:30:00Z"])


class NotificationFailed(Event):
    """A notification could not be delivered on a channel, after its attempts."""

    ce_type = "notification.failed.v1"
    topic = "notification.events"
    notification_id: str = Field(
        description="The notification's id; deliveries and answers refer to it.", examples=["N-5d1e"]
    )
    recipient_id: str = Field(description="Specialist, supervisor or coordinator id.", examples=["S-104"])
    channel: NotificationChannel = Field(description="The channel that failed.", examples=["email"])
    reason: NotificationFailureReason = Field(
        description="Why delivery failed.", examples=["webhook_unreachable", "no_email_address"]
    )
    attempts: int = Field(ge=1, description="Delivery attempts made.", examples=[3])
    detail: str | None = Field(
        None,
        max_length=500,
        description="The last error, without PHI.",
        examples=["HTTP 503", "550 5.1.1 no such user"],
    )


class NotificationAcknowledged(Event):
    """The recipient answered a notification that asked for an answer."""

    ce_type = "notification.acknowledged.v1"
    topic = "notification.events"
    notification_id: str = Field(
        description="The notification's id; deliveries and answers refer to it.", examples=["N-5d1e"]
    )
    recipient_id: str = Field(description="Specialist, supervisor or coordinator id.", examples=["S-104"])
    related_id: str | None = Field(
        None, description="Assignment, ride, appointment or crisis id it was about.", examples=["A-7f3c"]
    )
    accepted: bool = Field(description="False when the recipient declined.", examples=[True])
    responded_at: datetime = Field(description="When the recipient answered.", examples=["2026-03-14T15:30:00Z"])
