"""Resource's decisions outside matching: the patient profile it may use, and the referral's closed loop.

The loop follows the Gravity Project SDOH Clinical Care IG: the referral is a FHIR ServiceRequest fulfilled through a
Task whose status the performing organisation moves (requested → received → accepted → in-progress → completed, or
rejected/cancelled/failed; on-hold pauses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.events.discharge import DischargeDetails
from shared.events.resource import ReferralStatus

from .matching import Profile

S = ReferralStatus
TERMINAL = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED, S.FAILED})
# Unanswered: the organisation has neither accepted nor declined. "received" only says the Task reached it.
UNANSWERED = frozenset({S.REQUESTED, S.RECEIVED})
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.REQUESTED: frozenset({S.RECEIVED, S.ACCEPTED, S.REJECTED, S.CANCELLED, S.FAILED}),
    S.RECEIVED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED, S.FAILED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.CANCELLED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED, S.CANCELLED, S.FAILED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.FAILED}),
}


class TransitionRefused(ValueError):
    """A status the referral cannot move to from where it is (FHIR Task state machine, Gravity Project)."""


def next_status(current: ReferralStatus, wanted: ReferralStatus) -> ReferralStatus | None:
    """The status to record, None when `wanted` is where the referral already is (a resent answer changes nothing)."""
    if wanted == current:
        return None
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise TransitionRefused(f"a referral that is {current} cannot become {wanted}")
    return wanted


@dataclass(frozen=True)
class ReminderPlan:
    answer_within: timedelta
    remind_every: timedelta
    max_reminders: int

    def first(self, created_at: datetime) -> datetime:
        return created_at + self.answer_within

    def after(self, sent: int, now: datetime) -> datetime | None:
        """When to remind again after the `sent`-th reminder, or None when enough were sent."""
        return now + self.remind_every if sent < self.max_reminders else None


def profile_of(details: DischargeDetails, today: date) -> Profile:
    """The least the matcher needs: age (not the birth date), sex, language, Medicaid, recovery areas, destination."""
    patient, place = details.patient, details.planning.destination_place
    origin = (place.location.lat, place.location.lon) if place and place.location else None
    return Profile(
        age=age_on(patient.birth_date, today) if patient.birth_date else None,
        sex=patient.sex.upper() if patient.sex else None,
        language=patient.language.lower() if patient.language else None,
        is_medicaid=bool(details.payer and details.payer.is_medicaid),
        recovery_domains=frozenset(d.value for d in details.planning.recovery_domains),
        origin=origin,
    )


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def first_day_home(details: DischargeDetails, today: date) -> date:
    """The day hours and activities count from: the discharge, the planned one, or today."""
    moment = details.discharged_at or details.expected_discharge_at
    return moment.date() if moment else today


class StatusUpdate(BaseModel):
    """An organisation's answer to a referral (by signed webhook or by API): its new Gravity status."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: ReferralStatus = Field(description="The referral's status now (FHIR Task.status, Gravity Project).")
    note: str | None = Field(
        None, max_length=500, description="What was done or why not, without PHI.", examples=["intake booked"]
    )
    reason: str | None = Field(
        None, max_length=60, description="A short code when declining.", examples=["no_capacity", "not_eligible"]
    )
