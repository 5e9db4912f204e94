"""Assignment's own tables: the roster, what matching knows of each case, assignments and their offers, crises."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime

from .domain import (
    CertificationIn,
    Contact,
    CrisisState,
    HomeBase,
    MatchState,
    OfferOutcome,
    SpecialistIn,
    SupervisorIn,
    TimeOff,
    WorkingHours,
)


class SpecialistRecord(SQLModel, table=True):
    """A peer support specialist on the roster; `active_load`/`active_cases` follow their active assignments."""

    __tablename__ = "assignment_specialist"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    webhook_url: str | None = Field(default=None, max_length=500)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    domains: list[str] = Field(default_factory=list, sa_type=JSON)
    certifications: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    home_lat: float
    home_lon: float
    travel_radius_km: float
    remote_capable: bool = False
    has_vehicle: bool = False
    max_caseload: int
    working_days: list[str] = Field(default_factory=list, sa_type=JSON)
    works_from: time
    works_until: time
    time_off: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    gender_identity: str | None = Field(default=None, max_length=40)
    age_band: str | None = Field(default=None, max_length=8)
    cultural_background: str | None = Field(default=None, max_length=80)
    supervisor_id: str | None = Field(default=None, max_length=64, index=True)
    active: bool = Field(default=True, index=True)
    # Caseload points and cases of active (offered or acknowledged) assignments, changed in the same
    # transaction as the assignment, so a capacity check never needs to sum the assignments table.
    active_load: float = 0.0
    active_cases: int = 0
    updated_at: datetime = Field(sa_type=UtcDateTime)

    @classmethod
    def from_roster(cls, entry: SpecialistIn, now: datetime) -> SpecialistRecord:
        return cls(id=entry.id, updated_at=now, **cls.columns_of(entry))

    @staticmethod
    def columns_of(entry: SpecialistIn) -> dict[str, Any]:
        """The roster entry as column values (everything but the caseload counters)."""
        hours = entry.availability
        return dict(
            name=entry.name,
            email=entry.contact.email,
            phone=entry.contact.phone,
            webhook_url=entry.contact.webhook_url,
            languages=list(entry.languages),
            domains=[str(d) for d in entry.domains],
            certifications=[c.model_dump(mode="json") for c in entry.certifications],
            home_lat=entry.home.lat,
            home_lon=entry.home.lon,
            travel_radius_km=entry.travel_radius_km,
            remote_capable=entry.remote_capable,
            has_vehicle=entry.has_vehicle,
            max_caseload=entry.max_caseload,
            working_days=list(hours.weekdays),
            works_from=hours.starts,
            works_until=hours.ends,
            time_off=[t.model_dump(mode="json") for t in hours.time_off],
            gender_identity=entry.gender_identity,
            age_band=entry.age_band,
            cultural_background=entry.cultural_background,
            supervisor_id=entry.supervisor_id,
            active=entry.active,
        )

    def to_roster(self) -> SpecialistIn:
        return SpecialistIn.model_validate(
            dict(
                id=self.id,
                name=self.name,
                contact=Contact(email=self.email, phone=self.phone, webhook_url=self.webhook_url),
                languages=tuple(self.languages),
                domains=tuple(self.domains),
                certifications=tuple(CertificationIn.model_validate(c) for c in self.certifications),
                home=HomeBase(lat=self.home_lat, lon=self.home_lon),
                travel_radius_km=self.travel_radius_km,
                remote_capable=self.remote_capable,
                has_vehicle=self.has_vehicle,
                max_caseload=self.max_caseload,
                availability=WorkingHours.model_validate(
                    dict(
                        weekdays=tuple(self.working_days),
                        starts=self.works_from,
                        ends=self.works_until,
                        time_off=tuple(TimeOff.model_validate(t) for t in self.time_off),
                    )
                ),
                gender_identity=self.gender_identity,
                age_band=self.age_band,
                cultural_background=self.cultural_background,
                supervisor_id=self.supervisor_id,
                active=self.active,
            )
        )


class SupervisorRecord(SQLModel, table=True):
    __tablename__ = "assignment_supervisor"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    webhook_url: str | None = Field(default=None, max_length=500)
    on_call: bool = Field(default=False, index=True)
    updated_at: datetime = Field(sa_type=UtcDateTime)

    def to_roster(self) -> SupervisorIn:
        contact = Contact(email=self.email, phone=self.phone, webhook_url=self.webhook_url)
        return SupervisorIn(id=self.id, name=self.name, contact=contact, on_call=self.on_call)


class RosterVersion(SQLModel, table=True):
    """Bumped with every roster change, so each instance knows when to rebuild its in-memory match index."""

    __tablename__ = "assignment_roster_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class CaseNeeds(SQLModel, table=True):
    """What matching knows of a case (no name, no diagnosis), and where the case stands in matching."""

    __tablename__ = "assignment_case_needs"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=16)  # open, cancelled
    match_state: str = Field(default=MatchState.NEW, max_length=20)  # a MatchState
    unmatched_reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    patient_key: str | None = Field(default=None, max_length=64, index=True)
    previous_case_id: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    recovery_domains: list[str] = Field(default_factory=list, sa_type=JSON)
    risk_flags: list[str] = Field(default_factory=list, sa_type=JSON)
    raised_risks: list[str] = Field(default_factory=list, sa_type=JSON)  # flags a crisis was already raised for
    consent_peer_support: bool | None = None
    destination_lat: float | None = None
    destination_lon: float | None = None
    discharge_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    preferences: dict[str, str] = Field(default_factory=dict, sa_type=JSON)  # client-directed, when stated
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class AssignmentRecord(SQLModel, table=True):
    """One peer support assignment of a case; its specialist changes on decline, timeout or override."""

    __tablename__ = "assignment_assignment"
    __table_args__ = (Index("ix_assignment_due", "state", "acknowledge_by"),)

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    specialist_id: str = Field(max_length=64, index=True)
    state: str = Field(max_length=16)  # an AssignmentState
    load: float  # caseload points this case takes from its specialist
    acknowledge_by: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    ended_reason: str | None = Field(default=None, max_length=40)


class OfferRecord(SQLModel, table=True):
    """A specialist asked to take an assignment, and how they answered: who to exclude when asking the next."""

    __tablename__ = "assignment_offer"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: str = Field(max_length=64, index=True)
    case_id: str = Field(max_length=64, index=True)
    specialist_id: str = Field(max_length=64, index=True)
    notification_id: str = Field(max_length=64, unique=True)
    reason: str = Field(max_length=40)  # initial, or the ChangeReason that led to this offer
    requested_by: str | None = Field(default=None, max_length=100)  # the supervisor of an override, or "patient"
    note: str | None = Field(default=None, max_length=500)  # a supervisor's rationale for an override
    score: float
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    outcome: str = Field(default=OfferOutcome.PENDING, max_length=16)  # an OfferOutcome
    offered_at: datetime = Field(sa_type=UtcDateTime)
    respond_by: datetime = Field(sa_type=UtcDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CrisisRecord(SQLModel, table=True):
    """A flagged crisis and, once closed, its documented disposition: kept as the crisis record."""

    __tablename__ = "assignment_crisis"
    __table_args__ = (Index("ix_crisis_due", "state", "next_notice_at"),)

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    raised_by: str = Field(max_length=100)
    reason: str = Field(max_length=500)
    state: str = Field(default=CrisisState.OPEN, max_length=16)  # a CrisisState
    flagged_at: datetime = Field(sa_type=UtcDateTime)
    notices_sent: int = 0  # notification rounds so far
    next_notice_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disposition: str | None = Field(default=None, max_length=40)
    what_happened: str | None = Field(default=None, max_length=2000)
    referrals: list[str] = Field(default_factory=list, sa_type=JSON)
    ems_involved: bool | None = None
    crisis_plan_exists: bool | None = None
    handled_by: str | None = Field(default=None, max_length=100)


class ReadinessFlag(SQLModel, table=True):
    """A case flagged at risk because no specialist had accepted as its discharge came close (once per case)."""

    __tablename__ = "assignment_readiness_flag"

    case_id: str = Field(primary_key=True, max_length=64)
    reason: str = Field(max_length=40)
    flagged_at: datetime = Field(sa_type=UtcDateTime)


TABLES = (
    SpecialistRecord,
    SupervisorRecord,
    RosterVersion,
    CaseNeeds,
    AssignmentRecord,
    OfferRecord,
    CrisisRecord,
    ReadinessFlag,
)
