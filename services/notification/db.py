"""Notification's own tables: requests taken (with their acknowledgement state), outbound messages, the in-app inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime


class Notification(SQLModel, table=True):
    """One notification_id, once: a request seen again under a new event id finds this row and is not re-sent."""

    __tablename__ = "notification_request"

    notification_id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    recipient_id: str = Field(max_length=100, index=True)
    recipient_role: str = Field(max_length=100)
    template: str = Field(max_length=100)
    language: str = Field(max_length=16)
    subject: str = Field(max_length=300)
    related_id: str | None = Field(default=None, max_length=100)
    needs_acknowledgement: bool = False
    # SHA-256 of the one-time token; the token itself is never stored (only in the pending outbound message).
    ack_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    answer_by: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    accepted: bool | None = None
    answered_via: str | None = Field(default=None, max_length=20)
    refused_reason: str | None = Field(default=None, max_length=40)
    requested_at: datetime = Field(sa_type=UtcDateTime)


class OutboundMessage(SQLModel, table=True):
    """A message for an outside channel (email, webhook) and its due-work state: sent by the delivery tick.

    `content` (the rendered email text or the webhook's JSON, with the acknowledgement link) is kept only while the
    message is pending, so a raw token lives no longer than its delivery.
    """

    __tablename__ = "notification_outbound"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_outbound_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(max_length=64)
    case_id: str = Field(max_length=64)
    recipient_id: str = Field(max_length=100)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=2000)
    subject: str = Field(max_length=300)
    content: str | None = None
    status: str = Field(default="pending", max_length=16)  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_reason: str | None = Field(default=None, max_length=40)
    last_detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class InboxMessage(SQLModel, table=True):
    """A notification in its recipient's in-app inbox (the channel that needs no outside server)."""

    __tablename__ = "notification_inbox_message"

    notification_id: str = Field(primary_key=True, max_length=64)
    recipient_id: str = Field(max_length=100, index=True)
    case_id: str = Field(max_length=64, index=True)
    template: str = Field(max_length=100)
    priority: str = Field(max_length=16)
    summary: str = Field(max_length=280)
    link: str | None = None
    delivered_at: datetime = Field(sa_type=UtcDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


TABLES = (Notification, OutboundMessage, InboxMessage)
