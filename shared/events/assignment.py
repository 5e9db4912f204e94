"""assignment.events: which peer support specialist mentors the patient, and why."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Priority, Value


class MatchReason(Value):
    """One factor of a match, with its contribution to the score."""

    factor: str = Field(
        examples=["lived_experience"],
        description="The score factor: lived_experience, distance, caseload_balance, continuity, availability, ...",
    )
    score: float = Field(examples=[0.4], description="What this factor added to the score.")
    detail: str = Field(
        examples=["shares substance_use recovery experience"],
        description="What a supervisor reads: why the factor scored so.",
    )


class Candidate(Value):
    """A peer support specialist considered for the patient, with the score and its reasons."""

    specialist_id: str = Field(description="The specialist's id.", examples=["S-104"])
    score: float = Field(description="Match score; higher is better.", examples=[0.82])
    reasons: tuple[MatchReason, ...] = Field((), description="The factors behind the score.")


class SpecialistAssigned(Event):
    """A peer support specialist was assigned to mentor the patient and is asked to acknowledge."""

    ce_type = "specialist.assigned.v1"
    topic = "assignment.events"
    assignment_id: str = Field(description="The assignment's id.", examples=["A-7f3c"])
    specialist: Candidate = Field(description="The assigned specialist.")
    specialist_phone: str | None = Field(
        None,
        description="The specialist's work phone: ride vendors get it as the contact to notify about the ride.",
        examples=["+1-217-555-0104"],
    )
    runner_up: Candidate | None = Field(
        None, description="The next best candidate, asked if the first does not answer."
    )
    acknowledge_by: datetime = Field(
        description="Without an acknowledgement by then, the patient is reassigned.", examples=["2026-03-14T15:30:00Z"]
    )


class SpecialistReassigned(Event):
    """The patient's specialist changed; the new one is asked to acknowledge."""

    ce_type = "specialist.reassigned.v1"
    topic = "assignment.events"
    assignment_id: str = Field(description="The assignment's id.", examples=["A-7f3c"])
    previous_specialist_id: str = Field(description="The specialist no longer assigned.", examples=["S-104"])
    specialist: Candidate = Field(description="The newly assigned specialist.")
    specialist_phone: str | None = Field(
        None,
        description="The specialist's work phone: ride vendors get it as the contact to notify about the ride.",
        examples=["+1-217-555-0104"],
    )
    runner_up: Candidate | None = Field(None, description="The next best candidate, asked if this one does not answer.")
    reason: str = Field(
        description="Why the specialist changed.",
        examples=["no_acknowledgement", "declined", "patient_request", "supervisor_override", "needs_changed"],
    )
    acknowledge_by: datetime = Field(
        description="Without an acknowledgement by then, the patient is reassigned.", examples=["2026-03-14T15:30:00Z"]
    )


class SpecialistReleased(Event):
    """The assignment ended: the specialist no longer mentors the patient."""

    ce_type = "specialist.released.v1"
    topic = "assignment.events"
    assignment_id: str = Field(description="The assignment's id.", examples=["A-7f3c"])
    specialist_id: str = Field(description="The specialist's id.", examples=["S-104"])
    reason: str = Field(description="Why the assignment ended.", examples=["discharge_cancelled", "episode_closed"])


class UnmatchedReason(StrEnum):
    NO_CONSENT = "no_consent"
    CAPACITY = "capacity"
    LANGUAGE = "language"
    DISTANCE = "distance"
    CERTIFICATION = "certification"
    NO_SPECIALISTS = "no_specialists"


class SpecialistUnmatched(Event):
    """No peer support specialist could be assigned; coordinators see why."""

    ce_type = "specialist.unmatched.v1"
    topic = "assignment.events"
    reasons: tuple[UnmatchedReason, ...] = Field(
        min_length=1, description="Why nobody fits.", examples=[["capacity", "language"]]
    )
    detail: str | None = Field(
        None,
        description="Human-readable detail, without PHI.",
        examples=["no certified specialist speaks pl within 40 km"],
    )
    assignment_id: str | None = Field(
        None,
        description="The assignment that ended unmatched, when everyone asked declined or did not answer.",
        examples=["A-7f3c"],
    )


class SpecialistAcknowledged(Event):
    """The assigned specialist accepted the assignment."""

    ce_type = "specialist.acknowledged.v1"
    topic = "assignment.events"
    assignment_id: str = Field(description="The assignment's id.", examples=["A-7f3c"])
    specialist_id: str = Field(description="The specialist's id.", examples=["S-104"])
    acknowledged_at: datetime = Field(
        description="When the specialist acknowledged.", examples=["2026-03-14T15:30:00Z"]
    )


class CrisisFlagged(Event):
    """Urgent: the assigned specialist and the on-call supervisor are notified until someone answers."""

    ce_type = "crisis.flagged.v1"
    topic = "assignment.events"
    crisis_id: str = Field(description="The crisis' id.", examples=["CR-19a2"])
    raised_by: str = Field(description="Who raised it.", examples=["intake", "specialist:S-104"])
    reason: str = Field(
        max_length=500, description="What was observed, in a few words.", examples=["suicide_risk flagged at intake"]
    )
    priority: Priority = Field(Priority.URGENT, description="How fast someone must answer.", examples=["routine"])
    escalation_path: tuple[str, ...] = Field(
        ("clinician_on_call", "988", "emergency_services"),
        description="Peers are not clinicians: who to involve, in order.",
        examples=[["S-104", "SUP-1"]],
    )


class CrisisAcknowledged(Event):
    """Someone answered a crisis alert: the repeated notifications stop; the crisis stays open until closed."""

    ce_type = "crisis.acknowledged.v1"
    topic = "assignment.events"
    crisis_id: str = Field(description="The crisis' id.", examples=["CR-19a2"])
    acknowledged_by: str = Field(description="Who answered.", examples=["specialist:S-104", "supervisor:SUP-001"])
    acknowledged_at: datetime = Field(description="When they answered.", examples=["2026-03-14T15:30:00Z"])


class CrisisClosed(Event):
    """A flagged crisis was resolved, with how it ended."""

    ce_type = "crisis.closed.v1"
    topic = "assignment.events"
    crisis_id: str = Field(description="The crisis' id.", examples=["CR-19a2"])
    disposition: str = Field(description="How it ended.", examples=["resolved", "referred_to_clinician"])
    ems_involved: bool = Field(description="Whether emergency medical services were called.", examples=[False])
    crisis_plan_exists: bool = Field(description="Whether the patient has a crisis plan on file.", examples=[True])
    handled_by: str = Field(description="Who handled it.", examples=["specialist:S-104", "clinician_on_call"])
    referrals: tuple[str, ...] = Field(
        (), description="Referrals made, by kind.", examples=[["clinician_on_call", "988", "mobile_crisis_team"]]
    )
    closed_at: datetime | None = Field(
        None, description="When the crisis was closed.", examples=["2026-03-14T15:30:00Z"]
    )


class SpecialistAtRisk(Event):
    """The patient leaves soon, or has just left, and no specialist has accepted yet: staff should step in."""

    ce_type = "specialist.at-risk.v1"
    topic = "assignment.events"
    reason: str = Field(
        description="Where matching stands.",
        examples=["offer_not_accepted", "consent_not_recorded", "unmatched", "not_matched"],
    )
    discharge_at: datetime = Field(
        description="When the patient leaves (planned, or as it happened).", examples=["2026-03-14T15:30:00Z"]
    )
    assignment_id: str | None = Field(
        None, description="The assignment waiting for an answer, if one is.", examples=["A-7f3c"]
    )
