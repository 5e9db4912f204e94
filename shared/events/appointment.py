"""appointment.events: the follow-up visit that the 7- and 30-day measures count."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Place


class FollowupMeasure(StrEnum):
    FUH = "FUH"
    FUI = "FUI"
    FUA = "FUA"


class FollowupScheduled(Event):
    ce_type = "followup.scheduled.v1"
    topic = "appointment.events"
    appointment_id: str
    provider_id: str
    starts_at: datetime
    telehealth: bool = False
    location: Place | None = None
    measure: FollowupMeasure | None = None
    needs_ride: bool = True


class FollowupReminderDue(Event):
    ce_type = "followup.reminder-due.v1"
    topic = "appointment.events"
    appointment_id: str
    starts_at: datetime
    offset_hours: int = Field(examples=[72, 24])


class FollowupAttended(Event):
    ce_type = "followup.attended.v1"
    topic = "appointment.events"
    appointment_id: str
    attended_at: datetime
    contact_kind: str = Field(examples=["clinical_visit", "telehealth", "peer_support_visit"])


class FollowupMissed(Event):
    ce_type = "followup.missed.v1"
    topic = "appointment.events"
    appointment_id: str
    starts_at: datetime


class FollowupCancelled(Event):
    ce_type = "followup.cancelled.v1"
    topic = "appointment.events"
    appointment_id: str
    reason: str


class FollowupAtRisk(Event):
    ce_type = "followup.at-risk.v1"
    topic = "appointment.events"
    measure: FollowupMeasure | None = None
    deadline: datetime | None = None
    reason: str = Field(examples=["no_slot_within_7_days", "deadline_near_nothing_booked"])
