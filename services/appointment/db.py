"""Appointment's own tables: the provider directory and its slots, bookings, cases with their follow-up clocks,
contacts, reminders due, and each case's peer specialist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime


class Provider(SQLModel, table=True):
    """A clinic or clinician that sees patients for follow-up."""

    __tablename__ = "appointment_provider"

    id: str = Field(primary_key=True, max_length=64)
    organization: str = Field(max_length=200)
    clinician: str | None = Field(default=None, max_length=200)
    specialty: str = Field(max_length=40, index=True)
    address: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    lat: float | None = None
    lon: float | None = None
    languages: list[str] = Field(default_factory=lambda: ["en"], sa_type=JSON)
    payers: list[str] = Field(default_factory=list, sa_type=JSON)
    telehealth: bool = False
    phone: str | None = Field(default=None, max_length=40)
    active: bool = True
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Slot(SQLModel, table=True):
    """A bookable time of one provider (FHIR Slot)."""

    __tablename__ = "appointment_slot"
    __table_args__ = (Index("ix_appointment_slot_starts_at", "starts_at"),)

    id: str = Field(primary_key=True, max_length=64)
    provider_id: str = Field(foreign_key="appointment_provider.id", max_length=64, index=True)
    starts_at: datetime = Field(sa_type=UtcDateTime)
    ends_at: datetime = Field(sa_type=UtcDateTime)
    telehealth: bool = False
    bookable: bool = True
    updated_at: datetime = Field(sa_type=UtcDateTime)


class SlotBooking(SQLModel, table=True):
    """The constraint that makes double booking impossible: at most one row per slot (its primary key), inserted with
    ON CONFLICT DO NOTHING by whoever books it first, deleted when the booking is cancelled."""

    __tablename__ = "appointment_slot_booking"

    slot_id: str = Field(primary_key=True, foreign_key="appointment_slot.id", max_length=64)
    appointment_id: str = Field(unique=True, max_length=64)
    booked_at: datetime = Field(sa_type=UtcDateTime)


class FollowupCase(SQLModel, table=True):
    """A discharge case as appointment knows it: what matching needs (no name, no birth date) and its measure clock."""

    __tablename__ = "appointment_case"
    __table_args__ = (
        Index("ix_appointment_case_watch_7d", "watch_7d_at"),
        Index("ix_appointment_case_watch_30d", "watch_30d_at"),
    )

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    discharged: bool = Field(default=False, description="registered (A03), not only pending")
    discharge_at: datetime = Field(sa_type=UtcDateTime)
    patient_class: str = Field(max_length=20)
    recovery_domains: list[str] = Field(default_factory=list, sa_type=JSON)
    language: str | None = Field(default=None, max_length=16)
    payer_plan_id: str | None = Field(default=None, max_length=100)
    payer_name: str | None = Field(default=None, max_length=200)
    is_medicaid: bool = False
    home_lat: float | None = None
    home_lon: float | None = None
    measure: str | None = Field(default=None, max_length=8)
    first_day: int = 1
    deadline_7d: datetime = Field(sa_type=UtcDateTime)
    deadline_30d: datetime = Field(sa_type=UtcDateTime)
    # When to look for "deadline near, nothing booked"; cleared once warned or met, so each window warns once.
    watch_7d_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    watch_30d_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    warned_7d: bool = False
    warned_30d: bool = False
    met_7d_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    met_30d_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Appointment(SQLModel, table=True):
    """A booked follow-up visit and what became of it."""

    __tablename__ = "appointment_visit"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    slot_id: str = Field(max_length=64, index=True)
    provider_id: str = Field(max_length=64)
    starts_at: datetime = Field(sa_type=UtcDateTime)
    ends_at: datetime = Field(sa_type=UtcDateTime)
    telehealth: bool = False
    status: str = Field(default="booked", max_length=20, index=True)
    measure: str | None = Field(default=None, max_length=8)
    replaces_id: str | None = Field(default=None, max_length=64)
    cancel_reason: str | None = Field(default=None, max_length=40)
    attended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ride_status: str | None = Field(default=None, max_length=20)
    booked_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Reminder(SQLModel, table=True):
    """A reminder due before a visit; `sent_at` is set in the transaction that stages its events, so each goes once."""

    __tablename__ = "appointment_reminder"
    __table_args__ = (
        UniqueConstraint("appointment_id", "offset_hours", name="uq_appointment_reminder_offset"),
        Index("ix_appointment_reminder_due", "sent_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appointment_id: str = Field(max_length=64, index=True)
    case_id: str = Field(max_length=64)
    offset_hours: int
    due_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    skipped: bool = Field(default=False, description="due only after the visit started (e.g. after downtime)")


class Contact(SQLModel, table=True):
    """A follow-up contact that may satisfy the measure: an attended visit, or one the specialist recorded."""

    __tablename__ = "appointment_contact"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=40)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    appointment_id: str | None = Field(default=None, max_length=64)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    within_7_days: bool = False
    within_30_days: bool = False


class CaseSpecialist(SQLModel, table=True):
    """The peer specialist assigned to the case (assignment.events): who hears about visits, reminders, misses."""

    __tablename__ = "appointment_case_specialist"

    case_id: str = Field(primary_key=True, max_length=64)
    specialist_id: str = Field(max_length=64)
    assignment_id: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UtcDateTime)


TABLES = (Provider, Slot, SlotBooking, FollowupCase, Appointment, Reminder, Contact, CaseSpecialist)
