"""An appointment's lifecycle (booked → attended | missed | cancelled), its reminder plan and the at-risk reasons."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from shared.events.appointment import ContactKind


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ATTENDED = "attended"
    MISSED = "missed"
    CANCELLED = "cancelled"


class CaseStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


# Why a measure is at risk: part of the followup.at-risk contract.
AtRiskReason = Literal[
    "no_slot_within_7_days",  # booked, but only after day 7: the 30-day rate can still be met
    "no_slot_within_30_days",  # nothing suitable is free before the 30-day deadline
    "deadline_near_nothing_booked",  # the deadline is close and no visit is booked or attended before it
]
CancelReason = Literal["discharge_cancelled", "patient_request", "rescheduled", "provider_cancelled"]


class TransitionRefused(Exception):
    """The appointment's status does not allow this change (e.g. attending a cancelled visit)."""


def attend(status: AppointmentStatus) -> bool:
    """True when the visit becomes attended now; False when it already was (a repeated request changes nothing)."""
    if status == AppointmentStatus.ATTENDED:
        return False
    if status != AppointmentStatus.BOOKED:
        raise TransitionRefused(f"a {status} visit cannot be attended")
    return True


def miss(status: AppointmentStatus, starts_at: datetime, now: datetime) -> bool:
    """True when the visit becomes missed now; a visit can be missed only once it was due to start."""
    if status == AppointmentStatus.MISSED:
        return False
    if status != AppointmentStatus.BOOKED:
        raise TransitionRefused(f"a {status} visit cannot be missed")
    if now < starts_at:
        raise TransitionRefused("the visit has not started yet; cancel it instead")
    return True


def cancel(status: AppointmentStatus) -> bool:
    """True when the visit becomes cancelled now; a visit that took place (or was missed) stays as it was."""
    if status == AppointmentStatus.CANCELLED:
        return False
    if status != AppointmentStatus.BOOKED:
        raise TransitionRefused(f"a {status} visit cannot be cancelled")
    return True


def contact_kind_of(telehealth: bool) -> ContactKind:
    return ContactKind.TELEHEALTH if telehealth else ContactKind.CLINICAL_VISIT


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    offset_hours: int
    due_at: datetime


def reminder_plan(starts_at: datetime, offsets_hours: Iterable[int], now: datetime) -> list[PlannedReminder]:
    """One reminder per offset before the visit, earliest first; offsets already past when booking are skipped (a
    72-hour reminder for a visit booked 30 hours ahead would arrive after the 24-hour one is due)."""
    planned = [PlannedReminder(h, starts_at - timedelta(hours=h)) for h in sorted(set(offsets_hours), reverse=True)]
    return [reminder for reminder in planned if reminder.due_at > now]


def visit_summary(appointment_id: str, starts_at: datetime, where: str, telehealth: bool) -> str:
    """Minimum necessary: the visit, its time and place; never who the patient is or why."""
    how = "telehealth" if telehealth else where
    return f"Follow-up visit {appointment_id} on {starts_at:%Y-%m-%d %H:%M} UTC ({how})"[:280]
