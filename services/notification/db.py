"""Notification's own tables: the in-app inbox."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


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
    delivered_at: datetime
    read_at: datetime | None = None


TABLES = (InboxMessage,)
