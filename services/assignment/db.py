"""Assignment's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AssignmentCase(SQLModel, table=True):
    """A discharge case as assignment knows it."""

    __tablename__ = "assignment_case"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    language: str | None = Field(default=None, max_length=16)
    recovery_domains: str = Field(default="", max_length=200, description="comma-separated")
    consent_peer_support: bool | None = None
    opened_at: datetime
    updated_at: datetime


TABLES = (AssignmentCase,)
