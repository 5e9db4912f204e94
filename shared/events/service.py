"""Events every domain service emits about its own bookkeeping of a case."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .base import Event


class CaseOpened(Event):
    """A service has taken the case into its own records (its receipt, shown on the timeline)."""

    ce_type = "case.opened.v1"
    # Each service emits it on its own "<service>.events" topic, so the outbox is told the topic.
    topic = ""
    service: str = Field(description="The service that opened the case.", examples=["transport"])
    opened_at: datetime = Field(
        description="When the service took the case into its records.", examples=["2026-03-14T15:30:00Z"]
    )
    trigger_event_id: str = Field(
        description="ce_id of the event that opened it.", examples=["5f0c7b1e-2d4a-4c55-9a53-1f3e2b7d9c10"]
    )
