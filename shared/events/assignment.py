"""assignment.events: which peer support specialist mentors the patient, and why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Priority, Value


class MatchReason(Value):
    factor: str = Field(examples=["lived_experience"])
    score: float = Field(examples=[0.4])
    detail: str = Field(examples=["shares substance_use recovery experience"])


class Candidate(Value):
    specialist_id: str
    score: float
    reasons: tuple[MatchReason, ...] = ()


class SpecialistAssigned(Event):
    ce_type = "specialist.assigned.v1"
    topic = "assignment.events"
    assignment_id: str
    specialist: Candidate
    runner_up: Candidate | None = None
    acknowledge_by: datetime


class SpecialistReassigned(Event):
    ce_type = "specialist.reassigned.v1"
    topic = "assignment.events"
    assignment_id: str
    previous_specialist_id: str
    specialist: Candidate
    runner_up: Candidate | None = None
    reason: str = Field(examples=["no_acknowledgement", "declined", "patient_request", "supervisor_override"])
    acknowledge_by: datetime


class SpecialistReleased(Event):
    ce_type = "specialist.released.v1"
    topic = "assignment.events"
    assignment_id: str
    specialist_id: str
    reason: str = Field(examples=["discharge_cancelled", "episode_closed"])


class UnmatchedReason(StrEnum):
    NO_CONSENT = "no_consent"
    CAPACITY = "capacity"
    LANGUAGE = "language"
    DISTANCE = "distance"
    CERTIFICATION = "certification"
    NO_SPECIALISTS = "no_specialists"


class SpecialistUnmatched(Event):
    ce_type = "specialist.unmatched.v1"
    topic = "assignment.events"
    reasons: tuple[UnmatchedReason, ...] = Field(min_length=1)
    detail: str | None = None


class SpecialistAcknowledged(Event):
    ce_type = "specialist.acknowledged.v1"
    topic = "assignment.events"
    assignment_id: str
    specialist_id: str
    acknowledged_at: datetime


class CrisisFlagged(Event):
    """Urgent: the assigned specialist and the on-call supervisor are notified until someone answers."""

    ce_type = "crisis.flagged.v1"
    topic = "assignment.events"
    crisis_id: str
    raised_by: str = Field(examples=["intake", "specialist:S-104"])
    reason: str = Field(max_length=500)
    priority: Priority = Priority.URGENT
    escalation_path: tuple[str, ...] = Field(
        ("clinician_on_call", "988", "emergency_services"),
        description="Peers are not clinicians: who to involve, in order.",
    )


class CrisisClosed(Event):
    ce_type = "crisis.closed.v1"
    topic = "assignment.events"
    crisis_id: str
    disposition: str
    ems_involved: bool
    crisis_plan_exists: bool
    handled_by: str
