"""The HTTP API's request and response bodies (roster shapes live in domain.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from .domain import ROSTER_ID, PreferencesIn, SpecialistIn

ActorId = Annotated[str, Field(min_length=1, max_length=100, examples=["specialist:S-104"])]


class SpecialistOut(SpecialistIn):
    active_load: float = Field(description="Caseload points of active assignments (acuity-weighted).")
    active_cases: int = Field(description="Active (offered or acknowledged) assignments.")


class ImportResult(BaseModel):
    specialists: int
    supervisors: int


class OfferOut(BaseModel):
    specialist_id: str
    reason: str
    requested_by: str | None
    note: str | None
    score: float
    reasons: list[dict[str, Any]]
    outcome: str
    offered_at: datetime
    respond_by: datetime
    answered_at: datetime | None


class AssignmentOut(BaseModel):
    id: str
    case_id: str
    specialist_id: str
    state: str
    acknowledge_by: datetime | None
    ended_reason: str | None
    offers: list[OfferOut]


class CaseMatchOut(BaseModel):
    case_id: str
    status: str
    match_state: str
    unmatched_reasons: list[str]
    consent_peer_support: bool | None
    assignment: AssignmentOut | None


class AnswerIn(BaseModel):
    specialist_id: str = Field(pattern=ROSTER_ID)
    accepted: bool


class OverrideIn(BaseModel):
    specialist_id: str = Field(pattern=ROSTER_ID)
    supervisor_id: str = Field(pattern=ROSTER_ID, description="Who overrides: kept with the offer.")
    note: str | None = Field(None, max_length=500, description="The supervisor's rationale, kept with the offer.")
    force: bool = Field(False, description="Assign even if hard constraints break (they are listed in the reasons).")


class ChangeRequestIn(BaseModel):
    # No free-text reason: the patient's own words would be health information kept for no use.
    preferences: PreferencesIn | None = Field(None, description="What the patient would like in a peer, if stated.")


class ConsentIn(BaseModel):
    consent: bool
    recorded_by: ActorId


class CrisisIn(BaseModel):
    raised_by: ActorId
    reason: str = Field(min_length=3, max_length=500, description="What was observed, in a few words.")


class CrisisAcknowledgeIn(BaseModel):
    acknowledged_by: ActorId


class CrisisOut(BaseModel):
    id: str
    case_id: str
    raised_by: str
    reason: str
    state: str
    flagged_at: datetime
    notices_sent: int
    next_notice_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None
    disposition: str | None
    what_happened: str | None
    referrals: list[str]
    ems_involved: bool | None
    crisis_plan_exists: bool | None
    handled_by: str | None
