"""Intake's own tables: the archive of every raw message received and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime


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


class PatientDischarge(SQLModel, table=True):
    """Discharges remembered per patient, to recognise a readmission. Patients are opaque keys (a hash of facility,
    assigning authority and identifier), so this table holds no identifier in clear."""

    __tablename__ = "intake_patient_discharge"
    __table_args__ = (Index("ix_intake_discharge_patient", "patient_key"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_key: str = Field(max_length=64)
    case_id: str = Field(max_length=64, index=True)
    discharged_at: datetime = Field(sa_type=UtcDateTime)


TABLES = (ReceivedMessage, PatientDischarge)
