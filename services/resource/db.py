"""Resource's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class ResourceCase(SQLModel, table=True):
    """A discharge case as resource knows it."""

    __tablename__ = "resource_case"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    needs: str = Field(default="", max_length=300, description="comma-separated")
    opened_at: datetime
    updated_at: datetime


TABLES = (ResourceCase,)
