"""Transport's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class TransportCase(SQLModel, table=True):
    """A discharge case as transport knows it."""

    __tablename__ = "transport_case"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    mobility: str = Field(default="ambulatory", max_length=32)
    destination: str = Field(default="unknown", max_length=32)
    opened_at: datetime
    updated_at: datetime


TABLES = (TransportCase,)
