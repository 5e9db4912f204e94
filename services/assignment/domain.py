"""Assignment's decisions besides the match itself: the roster's shape, caseload weights, states and wording."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, time
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events.discharge import Identifier, RecoveryDomain, RiskFlag

from .matching import Availability, Certification, Preferences, SpecialistProfile

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AgeBand = Literal["18-29", "30-44", "45-59", "60+"]
ROSTER_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

# Caseload points a case takes: the risks that need the most contact weigh most (docs/matching.md).
BASE_LOAD = 1.0
CRISIS_RISKS = frozenset({RiskFlag.SUICIDE_RISK, RiskFlag.OVERDOSE_RISK, RiskFlag.VIOLENCE_RISK})
CRISIS_RISK_LOAD = 0.5
SOCIAL_RISK_LOAD = 0.25


class RosterModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(RosterModel):
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["s-104@peers.example.org"])
    phone: str | None = Field(None, max_length=40, examples=["+1-217-555-0104"])
    webhook_url: str | None = Field(None, pattern=r"^https?://", examples=["https://peers.example.org/hooks/s-104"])


class HomeBase(RosterModel):
    """WGS 84 coordinates of where the specialist travels from."""

    lat: float = Field(ge=-90, le=90, examples=[39.7817])
    lon: float = Field(ge=-180, le=180, examples=[-89.6501])


class CertificationIn(RosterModel):
    kind: Literal["NCPS", "state"] = Field(description="NCPS (national, NAADAC) or a state peer certification.")
    issuer: str = Field(max_length=40, description="NAADAC for NCPS; the state's code otherwise.", examples=["IL"])
    number: str | None = Field(None, max_length=40)
    expires_on: date = Field(description="The last day the certification is valid.")


class TimeOff(RosterModel):
    starts_on: date
    ends_on: date = Field(description="Inclusive.")

    @model_validator(mode="after")
    def ends_after_start(self) -> TimeOff:
        if self.ends_on < self.starts_on:
            raise ValueError("time off ends before it starts")
        return self


class WorkingHours(RosterModel):
    weekdays: tuple[Weekday, ...] = Field(("mon", "tue", "wed", "thu", "fri"), min_length=1)
    starts: time = Field(time(9), description="Local time (ASSIGNMENT_LOCAL_TIME_ZONE).")
    ends: time = time(17)
    time_off: tuple[TimeOff, ...] = ()

    @field_validator("starts", "ends")
    @classmethod
    def local_time(cls, value: time) -> time:
        # An offset would make the hours incomparable with the (naive) defaults and with each other.
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset (the zone is ASSIGNMENT_LOCAL_TIME_ZONE)")
        return value

    @model_validator(mode="after")
    def ends_after_start(self) -> WorkingHours:
        if self.ends <= self.starts:
            raise ValueError("working hours end before they start")
        return self


class SpecialistIn(RosterModel):
    """A peer support specialist on the roster."""

    id: str = Field(pattern=ROSTER_ID, examples=["S-104"])
    name: str = Field(min_length=1, max_length=200)
    contact: Contact = Contact()
    languages: tuple[str, ...] = Field(min_length=1, description="ISO 639-1 codes.", examples=[["en", "es"]])
    domains: tuple[RecoveryDomain, ...] = Field((), description="Lived-experience areas.")
    certifications: tuple[CertificationIn, ...] = ()
    home: HomeBase = Field(description="Home base the travel radius is measured from.")
    travel_radius_km: float = Field(25.0, ge=0, le=500)
    remote_capable: bool = Field(False, description="Can support by phone or video beyond the travel radius.")
    has_vehicle: bool = Field(False, description="Shown to coordinators; the travel radius already accounts for it.")
    max_caseload: int = Field(12, ge=1, le=100, description="Caseload points (an ordinary case is 1).")
    availability: WorkingHours = WorkingHours()
    gender_identity: str | None = Field(None, max_length=40, description="Used only when the patient asks.")
    age_band: AgeBand | None = Field(None, description="Used only when the patient asks.")
    cultural_background: str | None = Field(None, max_length=80, description="Used only when the patient asks.")
    supervisor_id: str | None = Field(None, pattern=ROSTER_ID)
    active: bool = True

    @field_validator("languages")
    @classmethod
    def lower_case_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(code.strip().lower() for code in value if code.strip()))
        if not codes:
            raise ValueError("name at least one language code (ISO 639-1), not only blanks")
        return codes

    def profile(self) -> SpecialistProfile:
        hours = self.availability
        return SpecialistProfile(
            id=self.id,
            languages=frozenset(self.languages),
            domains=frozenset(str(d) for d in self.domains),
            certifications=tuple(Certification(c.kind, c.issuer, c.expires_on) for c in self.certifications),
            lat=self.home.lat,
            lon=self.home.lon,
            travel_radius_km=self.travel_radius_km,
            remote_capable=self.remote_capable,
            max_caseload=float(self.max_caseload),
            availability=Availability(
                weekdays=frozenset(WEEKDAYS.index(day) for day in hours.weekdays),
                starts=hours.starts,
                ends=hours.ends,
                time_off=tuple((t.starts_on, t.ends_on) for t in hours.time_off),
            ),
            gender_identity=self.gender_identity,
            age_band=self.age_band,
            cultural_background=self.cultural_background,
        )


class SupervisorIn(RosterModel):
    """A supervisor: reviews matches, may override them, and is called in a crisis when on call."""

    id: str = Field(pattern=ROSTER_ID, examples=["SUP-01"])
    name: str = Field(min_length=1, max_length=200)
    contact: Contact = Contact()
    on_call: bool = Field(False, description="Crisis notifications go to the supervisors on call.")


class RosterIn(RosterModel):
    specialists: tuple[SpecialistIn, ...] = ()
    supervisors: tuple[SupervisorIn, ...] = ()


class PreferencesIn(RosterModel):
    """What the patient asks for in a peer (client-directed); only what is stated counts."""

    gender_identity: str | None = Field(None, max_length=40)
    age_band: AgeBand | None = None
    cultural_background: str | None = Field(None, max_length=80)

    def preferences(self) -> Preferences:
        return Preferences(self.gender_identity, self.age_band, self.cultural_background)


class AssignmentState(StrEnum):
    OFFERED = "offered"  # waiting for the specialist to accept
    ACKNOWLEDGED = "acknowledged"
    RELEASED = "released"
    UNMATCHED = "unmatched"  # everyone suitable declined or did not answer


ACTIVE_STATES = (AssignmentState.OFFERED, AssignmentState.ACKNOWLEDGED)


class OfferOutcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"  # the patient asked for someone else, or a supervisor moved the case
    CANCELLED = "cancelled"  # the case ended (cancelled discharge, consent withdrawn) before an answer


# Offers whose specialist is not asked again for the same case.
EXCLUDING_OUTCOMES = (OfferOutcome.DECLINED, OfferOutcome.TIMED_OUT, OfferOutcome.WITHDRAWN)


class ChangeReason(StrEnum):
    """Why a specialist changed: the `reason` of SpecialistReassigned."""

    NO_ACKNOWLEDGEMENT = "no_acknowledgement"
    DECLINED = "declined"
    PATIENT_REQUEST = "patient_request"
    SUPERVISOR_OVERRIDE = "supervisor_override"
    NEEDS_CHANGED = "needs_changed"  # an update (A08) left the specialist unable to serve: language, distance


OUTCOME_OF_CHANGE = {
    ChangeReason.NO_ACKNOWLEDGEMENT: OfferOutcome.TIMED_OUT,
    ChangeReason.DECLINED: OfferOutcome.DECLINED,
    ChangeReason.PATIENT_REQUEST: OfferOutcome.WITHDRAWN,
    ChangeReason.SUPERVISOR_OVERRIDE: OfferOutcome.WITHDRAWN,
    ChangeReason.NEEDS_CHANGED: OfferOutcome.WITHDRAWN,
}


class MatchState(StrEnum):
    """Where a case stands in matching, so a repeated discharge message does not repeat the outcome."""

    NEW = "new"
    AWAITING_CONSENT = "awaiting_consent"
    ASSIGNED = "assigned"
    UNMATCHED = "unmatched"
    NO_CONSENT = "no_consent"


class CrisisState(StrEnum):
    OPEN = "open"  # notifications repeat until someone acknowledges
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


CrisisDisposition = Literal[
    "resolved",
    "referred_to_clinician",
    "referred_to_988",
    "mobile_crisis_team",
    "ems_transport",
    "hospitalized",
    "patient_unreachable",
    "false_alarm",
]


def case_load(risk_flags: Iterable[str]) -> float:
    """Caseload points of one case: 1, plus 0.5 per crisis risk and 0.25 per social risk (homelessness, isolation)."""
    flags = set(risk_flags)
    crisis = len(flags & CRISIS_RISKS)
    return BASE_LOAD + CRISIS_RISK_LOAD * crisis + SOCIAL_RISK_LOAD * (len(flags) - crisis)


def crisis_risks(risk_flags: Iterable[str]) -> tuple[str, ...]:
    """The flags that raise a crisis at intake, in a stable order."""
    return tuple(sorted(str(flag) for flag in set(risk_flags) & CRISIS_RISKS))


def patient_key(identifiers: Iterable[Identifier]) -> str | None:
    """A pseudonymous key for the patient across episodes: a hash of the medical record number, never the number."""
    chosen = sorted(identifiers, key=lambda i: (i.type != "MR", i.system or "", i.value))
    if not chosen:
        return None
    first = chosen[0]
    return hashlib.sha256(f"{first.system or ''}|{first.value}".encode()).hexdigest()


def short_case(case_id: str) -> str:
    return case_id[:8]


def offer_summary(case_id: str, facility_id: str, discharge_at: datetime | None, respond_by: datetime) -> str:
    """What a specialist reads in the offer: no name, no diagnosis, no lived-experience area (42 CFR Part 2)."""
    when = f", discharge {discharge_at:%a %d %b %H:%M} UTC" if discharge_at else ""
    return (
        f"New peer support match: case {short_case(case_id)} from {facility_id}{when}. "
        f"Please accept or decline by {respond_by:%a %d %b %H:%M} UTC."
    )


def crisis_summary(case_id: str, round_number: int) -> str:
    again = f" (reminder {round_number - 1})" if round_number > 1 else ""
    return (
        f"URGENT{again}: safety concern flagged for case {short_case(case_id)}. Acknowledge now; "
        "peers are not clinicians: involve the on-call clinician, 988 or emergency services."
    )


def readmission_summary(previous_case_id: str, days: int) -> str:
    return (
        f"A patient you supported (case {short_case(previous_case_id)}) was readmitted {days} day(s) after discharge."
    )


def unmatched_summary(case_id: str, reasons: Iterable[str]) -> str:
    return f"No peer specialist matched for case {short_case(case_id)}: {', '.join(reasons)}. Please review."


def consent_summary(case_id: str) -> str:
    return (
        f"Case {short_case(case_id)}: the patient's consent to peer support was not recorded. "
        "Ask the patient, then record the answer; matching waits for it."
    )


class CrisisClosureIn(RosterModel):
    """The documented disposition a crisis needs before it can be closed."""

    disposition: CrisisDisposition
    what_happened: str = Field(min_length=10, max_length=2000, description="A short account; kept in assignment.")
    referrals: tuple[str, ...] = Field((), description="Referrals made.", examples=[["clinician_on_call", "988"]])
    ems_involved: bool
    crisis_plan_exists: bool
    handled_by: str = Field(min_length=1, max_length=100, examples=["specialist:S-104", "clinician_on_call"])
