"""Intake's own tables: the archive of every raw message received and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class ReceivedMessage(SQLModel, table=True):
    """The raw input, kept apart from everything else so it can be encrypted at rest and re-processed."""

    __tablename__ = "intake_received_message"
    __table_args__ = (Index("ix_intake_message_source", "channel", "sender", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime
    channel: str = Field(max_length=16)
    sender: str = Field(max_length=200, description="Sending facility or API principal.")
    message_id: str = Field(max_length=200)
    content_sha256: str = Field(max_length=64)
    content_type: str = Field(max_length=100)
    raw: bytes
    outcome: str = Field(max_length=32, description="accepted, duplicate or rejected")
    error: str | None = None
    case_id: str | None = Field(default=None, max_length=64, index=True)
    event_type: str | None = Field(default=None, max_length=100)


TABLES = (ReceivedMessage,)
