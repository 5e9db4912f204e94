"""Appointment's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AppointmentCase(SQLModel, table=True):
    """A discharge case as appointment knows it."""

    __tablename__ = "appointment_case"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    discharge_at: datetime | None = None
    opened_at: datetime
    updated_at: datetime


TABLES = (AppointmentCase,)
