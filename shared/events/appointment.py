"""appointment.events: the follow-up visit that the 7- and 30-day measures count."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Place


class FollowupMeasure(StrEnum):
    """HEDIS follow-up measures: after hospitalisation for mental illness (FUH), after high-intensity care for
    substance use (FUI), after an emergency visit for substance use (FUA) or for mental illness (FUM)."""

    FUH = "FUH"
    FUI = "FUI"
    FUA = "FUA"
    FUM = "FUM"


class ContactKind(StrEnum):
    """Follow-up contacts the measures count: a clinical visit in person, a telehealth visit, or a visit with a
    peer support specialist (newer HEDIS specifications count peer support services)."""

    CLINICAL_VISIT = "clinical_visit"
    TELEHEALTH = "telehealth"
    PEER_SUPPORT_VISIT = "peer_support_visit"


class FollowupScheduled(Event):
    """A follow-up visit was booked."""

    ce_type = "followup.scheduled.v1"
    topic = "appointment.events"
    appointment_id: str = Field(description="The follow-up visit's id.", examples=["AP-3b9d"])
    provider_id: str = Field(description="The provider or clinic seeing the patient.", examples=["PRV-221"])
    starts_at: datetime = Field(description="When the visit starts.", examples=["2026-03-14T15:30:00Z"])
    ends_at: datetime | None = Field(
        None, description="When the visit ends: the return ride picks up from then.", examples=["2026-03-14T15:30:00Z"]
    )
    telehealth: bool = Field(False, description="A video or phone visit.", examples=[True])
    location: Place | None = Field(None, description="Where an in-person visit takes place.")
    measure: FollowupMeasure | None = Field(
        None, description="The follow-up measure the visit counts toward.", examples=["FUH"]
    )
    needs_ride: bool = Field(True, description="Transport books rides to and from the visit.", examples=[True])
    replaces_appointment_id: str | None = Field(
        None,
        description="The visit this one replaces (missed, or moved when the discharge date changed).",
        examples=["AP-1c7e"],
    )


class FollowupReminderDue(Event):
    """A reminder of an upcoming visit is due now."""

    ce_type = "followup.reminder-due.v1"
    topic = "appointment.events"
    appointment_id: str = Field(description="The follow-up visit's id.", examples=["AP-3b9d"])
    starts_at: datetime = Field(description="When the visit starts.", examples=["2026-03-14T15:30:00Z"])
    offset_hours: int = Field(description="How long before the visit the reminder goes out.", examples=[72, 24])


class FollowupAttended(Event):
    """The patient had a follow-up contact: a booked visit attended, or a contact the specialist recorded."""

    ce_type = "followup.attended.v1"
    topic = "appointment.events"
    appointment_id: str = Field(
        description="The booked visit (AP-…), or the contact recorded without one (CT-…).", examples=["AP-3b9d"]
    )
    attended_at: datetime = Field(description="When the visit took place.", examples=["2026-03-14T15:30:00Z"])
    contact_kind: ContactKind = Field(
        description="The kind of contact.", examples=["clinical_visit", "telehealth", "peer_support_visit"]
    )
    measure: FollowupMeasure | None = Field(None, description="The follow-up measure of the case.", examples=["FUH"])
    within_7_days: bool = Field(False, description="It counts toward the measure's 7-day rate.", examples=[True])
    within_30_days: bool = Field(False, description="It counts toward the measure's 30-day rate.", examples=[True])


class FollowupMissed(Event):
    """The patient missed the visit."""

    ce_type = "followup.missed.v1"
    topic = "appointment.events"
    appointment_id: str = Field(description="The follow-up visit's id.", examples=["AP-3b9d"])
    starts_at: datetime = Field(description="When the missed visit was to start.", examples=["2026-03-14T15:30:00Z"])


class FollowupCancelled(Event):
    """The visit was cancelled."""

    ce_type = "followup.cancelled.v1"
    topic = "appointment.events"
    appointment_id: str = Field(description="The follow-up visit's id.", examples=["AP-3b9d"])
    reason: str = Field(description="Why.", examples=["discharge_cancelled", "patient_request"])


class FollowupAtRisk(Event):
    """A follow-up measure's deadline may pass without a visit: staff should act."""

    ce_type = "followup.at-risk.v1"
    topic = "appointment.events"
    measure: FollowupMeasure | None = Field(None, description="The measure at risk.", examples=["FUH"])
    deadline: datetime | None = Field(
        None, description="The last moment a visit still counts.", examples=["2026-03-14T15:30:00Z"]
    )
    reason: str = Field(
        description="Why it is at risk.",
        examples=["no_slot_within_7_days", "no_slot_within_30_days", "deadline_near_nothing_booked"],
    )
    window_days: int | None = Field(None, description="The rate at risk: 7 or 30 days.", examples=[7, 30])
    appointment_id: str | None = Field(
        None, description="The visit booked, when one was but too late for the 7-day rate.", examples=["AP-3b9d"]
    )
