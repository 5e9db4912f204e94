"""The scheduling rule: which free slots suit a patient, best first, within the 7-day window or the 30-day fallback."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.events.appointment import FollowupMeasure
from shared.events.discharge import RecoveryDomain

from .measures import FollowupClock


class Specialty(StrEnum):
    OUTPATIENT_MENTAL_HEALTH = "outpatient_mental_health"
    SUBSTANCE_USE_TREATMENT = "substance_use_treatment"
    PRIMARY_CARE = "primary_care"


# Preference order per measure. FUH counts visits with a mental health provider; FUI, FUA and FUM count visits with
# any practitioner when the visit carries the diagnosis, so primary care is an acceptable last resort for them.
SPECIALTIES_FOR_MEASURE: dict[FollowupMeasure, tuple[Specialty, ...]] = {
    FollowupMeasure.FUH: (Specialty.OUTPATIENT_MENTAL_HEALTH,),
    FollowupMeasure.FUM: (Specialty.OUTPATIENT_MENTAL_HEALTH, Specialty.PRIMARY_CARE),
    FollowupMeasure.FUI: (Specialty.SUBSTANCE_USE_TREATMENT, Specialty.PRIMARY_CARE),
    FollowupMeasure.FUA: (
        Specialty.SUBSTANCE_USE_TREATMENT,
        Specialty.OUTPATIENT_MENTAL_HEALTH,
        Specialty.PRIMARY_CARE,
    ),
}
SPECIALTY_FOR_DOMAIN: dict[RecoveryDomain, Specialty] = {
    RecoveryDomain.MENTAL_HEALTH: Specialty.OUTPATIENT_MENTAL_HEALTH,
    RecoveryDomain.SUBSTANCE_USE: Specialty.SUBSTANCE_USE_TREATMENT,
    RecoveryDomain.ABUSE_TRAUMA: Specialty.OUTPATIENT_MENTAL_HEALTH,
}


def specialties_for(measure: FollowupMeasure | None, domains: Iterable[RecoveryDomain]) -> tuple[Specialty, ...]:
    """The specialties that may see the patient, preferred first: the measure's, else the recovery domains'."""
    if measure is not None:
        return SPECIALTIES_FOR_MEASURE[measure]
    ranked = [SPECIALTY_FOR_DOMAIN[d] for d in domains if d in SPECIALTY_FOR_DOMAIN]
    return (*dict.fromkeys(ranked), *(() if Specialty.PRIMARY_CARE in ranked else (Specialty.PRIMARY_CARE,)))


@dataclass(frozen=True, slots=True)
class Patient:
    """What the rule matches on: language, coverage and where the patient will live."""

    language: str | None = None
    payer_plan_id: str | None = None
    payer_name: str | None = None
    is_medicaid: bool = False
    home_lat: float | None = None
    home_lon: float | None = None


@dataclass(frozen=True, slots=True)
class SlotOption:
    """A free slot with what the rule needs of its provider."""

    slot_id: str
    provider_id: str
    specialty: Specialty
    starts_at: datetime
    telehealth: bool
    languages: tuple[str, ...] = ("en",)
    payers: tuple[str, ...] = ()  # empty: the provider takes every coverage (e.g. a sliding-scale clinic)
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Slots may start from `earliest` through `latest`; `last_day` is the day after discharge `latest` ends."""

    earliest: datetime
    latest: datetime
    last_day: int


def windows_for(
    clock: FollowupClock, now: datetime, *, first_day: int, last_day: int, fallback_last_day: int, lead: timedelta
) -> tuple[Window, Window]:
    """The target window (by default day 1 to day 7) and the fallback to day 30. A visit is never booked on a day
    that would not count: for FUH not on the day of discharge, whatever `first_day` says."""
    earliest = max(clock.start_of_day(max(first_day, clock.first_day)), now + lead)
    return (
        Window(earliest, clock.end_of_day(last_day), last_day),
        Window(earliest, clock.end_of_day(fallback_last_day), fallback_last_day),
    )


def language_of(tag: str | None) -> str | None:
    """The primary subtag of a BCP 47 tag ("es-MX" → "es"), lower case."""
    if not tag:
        return None
    return tag.split("-")[0].strip().lower() or None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean Earth radius (IUGG): close enough for "within 40 km of home"."""
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = rlat2 - rlat1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(a))


def distance_km(patient: Patient, option: SlotOption) -> float | None:
    if patient.home_lat is None or patient.home_lon is None or option.lat is None or option.lon is None:
        return None
    return haversine_km(patient.home_lat, patient.home_lon, option.lat, option.lon)


def suits(patient: Patient, option: SlotOption, *, max_distance_km: float) -> bool:
    """Coverage accepted, a shared language, and near enough unless the visit is by telehealth. What is unknown
    (no payer on the discharge, no geocoded home) does not exclude: staff confirm at the reminder."""
    payers = {p.casefold() for p in option.payers}
    if payers and (patient.payer_plan_id or patient.payer_name or patient.is_medicaid):
        known = {v.casefold() for v in (patient.payer_plan_id, patient.payer_name) if v}
        if not (known & payers or (patient.is_medicaid and "medicaid" in payers)):
            return False
    language = language_of(patient.language)
    if language and language not in {language_of(spoken) for spoken in option.languages}:
        return False
    if option.telehealth:
        return True
    far = distance_km(patient, option)
    return far is None or far <= max_distance_km


def rank_slots(
    options: Iterable[SlotOption],
    *,
    patient: Patient,
    specialties: Sequence[Specialty],
    window: Window,
    max_distance_km: float,
) -> list[SlotOption]:
    """Suitable slots in the window, best first: the preferred specialty first (a mental health clinic before primary
    care for a psychiatric discharge), then the earliest, then the nearest; later specialties only as fallbacks."""
    rank = {specialty: i for i, specialty in enumerate(specialties)}
    fitting = [
        o
        for o in options
        if o.specialty in rank
        and window.earliest <= o.starts_at <= window.latest
        and suits(patient, o, max_distance_km=max_distance_km)
    ]
    return sorted(fitting, key=lambda o: (rank[o.specialty], o.starts_at, distance_km(patient, o) or 0.0, o.slot_id))
