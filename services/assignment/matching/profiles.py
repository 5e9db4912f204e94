"""What matching knows: the specialist's profile, the patient's needs, and the two kinds of answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from shared.events.assignment import Candidate, UnmatchedReason


@dataclass(frozen=True, slots=True)
class Certification:
    kind: str  # "NCPS" (national) or "state"
    issuer: str
    expires_on: date


@dataclass(frozen=True, slots=True)
class Availability:
    weekdays: frozenset[int]  # 0 = Monday, as date.weekday()
    starts: time
    ends: time
    time_off: tuple[tuple[date, date], ...] = ()  # inclusive ranges

    def on_leave(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.time_off)


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the patient asked for in a peer, if anything: used only when stated (client-directed)."""

    gender_identity: str | None = None
    age_band: str | None = None
    cultural_background: str | None = None

    def stated(self) -> dict[str, str]:
        asked = {
            "gender_identity": self.gender_identity,
            "age_band": self.age_band,
            "cultural_background": self.cultural_background,
        }
        return {key: value for key, value in asked.items() if value}


@dataclass(frozen=True, slots=True)
class SpecialistProfile:
    """What matching knows of a specialist (the roster entry without contact details)."""

    id: str
    languages: frozenset[str]
    domains: frozenset[str]
    certifications: tuple[Certification, ...]
    lat: float
    lon: float
    travel_radius_km: float
    remote_capable: bool
    max_caseload: float
    availability: Availability
    gender_identity: str | None = None
    age_band: str | None = None
    cultural_background: str | None = None


@dataclass(frozen=True, slots=True)
class PatientNeeds:
    """What matching knows of the patient: no name, no diagnosis."""

    language: str
    domains: frozenset[str]
    load: float  # caseload points this case takes (acuity-weighted, see domain.case_load)
    discharge_at: datetime  # local time: the day and hour availability is judged on
    location: tuple[float, float] | None = None  # (lat, lon) of the destination; None waives distance
    previous_specialists: frozenset[str] = frozenset()
    preferences: Preferences = Preferences()
    consent: bool | None = True


@dataclass(frozen=True, slots=True)
class Matched:
    best: Candidate
    runner_up: Candidate | None
    considered: int  # how many specialists were scored (the index's work, for the benchmark)


@dataclass(frozen=True, slots=True)
class Unmatched:
    reasons: tuple[UnmatchedReason, ...]
    detail: str
