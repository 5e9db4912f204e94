"""Coordinator's read model: one row per case and its timeline, plus web users and the audit log of case views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime


class CaseView(SQLModel, table=True):
    __tablename__ = "coordinator_case"
    __table_args__ = (Index("ix_coordinator_case_lookup", "facility_id", "visit_number"),)

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str | None = Field(default=None, max_length=100)
    visit_number: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    patient_display: str | None = Field(default=None, max_length=200, description="e.g. 'Rivera, A.' for staff")
    status: str = Field(default="unknown", max_length=32, index=True)
    discharge_at: datetime | None = Field(default=None, index=True, sa_type=UtcDateTime)
    specialist_id: str | None = Field(default=None, max_length=100, index=True)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "coordinator_timeline"
    __table_args__ = (Index("ix_coordinator_timeline_case", "case_id", "occurred_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64)
    event_id: str = Field(unique=True, max_length=64)
    ce_type: str = Field(max_length=100)
    source: str = Field(max_length=100)
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    data: str


class WebUser(SQLModel, table=True):
    """A person who signs in to the board. Roles: facility_staff, coordinator, supervisor, specialist."""

    __tablename__ = "coordinator_user"

    username: str = Field(primary_key=True, max_length=100)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=32)
    facility_id: str | None = Field(default=None, max_length=100, description="facility staff: their facility")
    specialist_id: str | None = Field(default=None, max_length=100, description="specialists: their roster id")


class AuditEntry(SQLModel, table=True):
    """Every view of a case, allowed or refused (HIPAA §164.312(b) audit controls)."""

    __tablename__ = "coordinator_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True, sa_type=UtcDateTime)
    username: str = Field(max_length=100)
    role: str = Field(max_length=32)
    case_id: str = Field(max_length=64, index=True)
    action: str = Field(max_length=32)
    allowed: bool


class DeadLetterSeen(SQLModel, table=True):
    """A record some service dead-lettered: only its metadata (the headers), never its body, which may hold PHI."""

    __tablename__ = "coordinator_dead_letter"

    id: str = Field(primary_key=True, max_length=300, description="<dlq topic>:<partition>:<offset>")
    dlq_topic: str = Field(max_length=200, index=True)
    original_topic: str = Field(max_length=200)
    reason: str = Field(max_length=64, index=True)
    service: str | None = Field(default=None, max_length=100)
    ce_type: str | None = Field(default=None, max_length=100)
    case_id: str | None = Field(default=None, max_length=64, index=True)
    attempts: int | None = None
    failed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    recorded_at: datetime = Field(sa_type=UtcDateTime)


TABLES = (CaseView, TimelineEntry, WebUser, AuditEntry, DeadLetterSeen)
