"""Coordinator's read model: one row per case and its timeline of events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class CaseView(SQLModel, table=True):
    __tablename__ = "coordinator_case"
    __table_args__ = (Index("ix_coordinator_case_lookup", "facility_id", "visit_number"),)

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str | None = Field(default=None, max_length=100)
    visit_number: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    status: str = Field(default="unknown", max_length=32, index=True)
    discharge_at: datetime | None = None
    updated_at: datetime


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "coordinator_timeline"
    __table_args__ = (Index("ix_coordinator_timeline_case", "case_id", "occurred_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64)
    event_id: str = Field(unique=True, max_length=64)
    ce_type: str = Field(max_length=100)
    source: str = Field(max_length=100)
    occurred_at: datetime
    recorded_at: datetime
    data: str


TABLES = (CaseView, TimelineEntry)
