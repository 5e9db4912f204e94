"""Matching a patient's need to community services: hard rules first (eligibility, capacity, distance, hours,
language), then a score whose every part is written down as a reason, best first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from .schedules import open_days_of_rules
from .sites import Site
from .taxonomy import Category

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius

ExclusionReason = Literal[
    "inactive",
    "age",
    "gender",
    "payer",
    "recovery_domain",
    "language",
    "no_capacity",
    "distance",
    "no_location",
    "closed",
]

# How much each part weighs in the score (they sum to 1); docs/resources.md explains each.
WEIGHTS = {"distance": 0.35, "language": 0.2, "fit": 0.15, "payer": 0.1, "hours": 0.1, "capacity": 0.1}
STALE_PENALTY = 0.05


@dataclass(frozen=True)
class Profile:
    """What matching may know of the patient: no name, no identifier, no diagnosis."""

    age: int | None = None
    sex: str | None = None  # HL7 table 0001 (F, M, X, ...)
    language: str | None = None  # ISO 639-1
    is_medicaid: bool = False
    recovery_domains: frozenset[str] = frozenset()
    origin: tuple[float, float] | None = None  # the destination after discharge, (lat, lon)


@dataclass(frozen=True)
class Policy:
    today: date
    first_day: date  # the first day at home: hours count from here
    max_distance_km: float = 25.0
    open_within_days: int = 14
    stale_after_days: int = 365
    limit: int = 5

    @property
    def window(self) -> tuple[date, date]:
        return self.first_day, self.first_day + timedelta(days=self.open_within_days - 1)


@dataclass(frozen=True)
class Option:
    site: Site
    score: float
    reasons: tuple[str, ...]
    distance_km: float | None
    stale: bool


@dataclass(frozen=True)
class Assessment:
    option: Option | None
    exclusions: tuple[ExclusionReason, ...] = ()


@dataclass(frozen=True)
class Ranking:
    options: tuple[Option, ...]
    considered: int
    excluded: Counter[str] = field(default_factory=Counter)


def rank_sites(sites: Iterable[Site], category: Category, profile: Profile, policy: Policy) -> Ranking:
    """The eligible sites of a category, best first (ties: nearer, then by id), at most `policy.limit`."""
    options: list[Option] = []
    excluded: Counter[str] = Counter()
    considered = 0
    for site in sites:
        if category not in site.categories:
            continue
        considered += 1
        result = assess(site, profile, policy)
        if result.option is None:
            excluded.update(result.exclusions[:1])  # counted once, by the first rule it breaks
        else:
            options.append(result.option)
    options.sort(key=lambda o: (-o.score, o.distance_km if o.distance_km is not None else math.inf, o.site.id))
    return Ranking(tuple(options[: policy.limit]), considered, excluded)


def assess(site: Site, profile: Profile, policy: Policy) -> Assessment:
    """Whether the patient can be referred to the site (every rule it breaks), and if so its score and reasons."""
    exclusions = eligibility_exclusions(site, profile)
    distance = None
    if profile.origin is not None and not site.remote:
        if site.latitude is None or site.longitude is None:
            exclusions.append("no_location")
        else:
            distance = haversine_km(profile.origin, (site.latitude, site.longitude))
            if distance > policy.max_distance_km:
                exclusions.append("distance")
    start, end = policy.window
    days = open_days_of_rules(site.rules, start, end)
    if days is not None and not days:
        exclusions.append("closed")
    if exclusions:
        return Assessment(None, tuple(exclusions))
    parts, reasons = _score_parts(site, profile, policy, distance, days)
    score = sum(WEIGHTS[name] * value for name, value in parts.items())
    stale = site.assured_date is None or (policy.today - site.assured_date).days > policy.stale_after_days
    if stale:
        score -= STALE_PENALTY
        reasons.append(
            f"last verified {site.assured_date.isoformat()}, over {policy.stale_after_days} days ago: confirm first"
            if site.assured_date
            else "never verified (no assured_date): confirm first"
        )
    else:
        reasons.append(f"verified {site.assured_date.isoformat()}")  # type: ignore[union-attr]
    return Assessment(Option(site, round(max(score, 0.0), 3), tuple(reasons), _km(distance), stale))


def eligibility_exclusions(site: Site, profile: Profile) -> list[ExclusionReason]:
    """The rules a referral would break (checked again when one is made): status, eligibility, capacity, language."""
    found: list[ExclusionReason] = []
    if site.status != "active":
        found.append("inactive")
    if profile.age is not None and (
        (site.minimum_age is not None and profile.age < site.minimum_age)
        or (site.maximum_age is not None and profile.age > site.maximum_age)
    ):
        found.append("age")
    if site.genders and (profile.sex or "").upper() not in site.genders:
        found.append("gender")
    if "medicaid" in site.payers_required and not profile.is_medicaid:
        found.append("payer")
    if site.recovery_domains and not site.recovery_domains & profile.recovery_domains:
        found.append("recovery_domain")
    if site.capacity_available is not None and site.capacity_available <= 0:
        found.append("no_capacity")
    if _language_fit(site, profile.language) is None:
        found.append("language")
    return found


def _score_parts(
    site: Site, profile: Profile, policy: Policy, distance: float | None, days: frozenset[date] | None
) -> tuple[dict[str, float], list[str]]:
    reasons: list[str] = []
    parts: dict[str, float] = {}
    if site.remote:
        parts["distance"] = 0.8
        reasons.append("available remotely")
    elif distance is None:
        parts["distance"] = 0.5
        reasons.append("distance unknown (no destination coordinates)")
    else:
        parts["distance"] = 1 - distance / policy.max_distance_km
        reasons.append(f"{distance:.1f} km from the destination")
    parts["language"], language_reason = _language_fit(site, profile.language) or (0.0, "")
    if language_reason:
        reasons.append(language_reason)
    shared = sorted(site.recovery_domains & profile.recovery_domains)
    parts["fit"] = 1.0 if shared else 0.5
    if shared:
        reasons.append(f"for people in {', '.join(shared)} recovery")
    if site.minimum_age is not None or site.maximum_age is not None:
        reasons.append(f"ages {_age(site.minimum_age)}-{_age(site.maximum_age)}")
    if profile.is_medicaid and "medicaid" in site.payers_accepted | site.payers_required:
        parts["payer"] = 1.0
        reasons.append("accepts Medicaid")
    else:
        parts["payer"] = 0.5
    if days is None:
        parts["hours"] = 0.3
        reasons.append("hours not listed")
    else:
        weeks = max(1.0, policy.open_within_days / 7)
        parts["hours"] = min(1.0, len(days) / (3 * weeks))  # three days a week counts as fully available
        reasons.append(f"open {len(days)} of the first {policy.open_within_days} days")
    if site.capacity_available is None:
        parts["capacity"] = 0.5
    else:
        parts["capacity"] = 1.0
        reasons.append(f"{site.capacity_available} places available")
    return parts, reasons


def _language_fit(site: Site, language: str | None) -> tuple[float, str] | None:
    """How well the site serves the patient's language, or None when it cannot (lists others, no interpreters)."""
    if language is None:
        return 0.5, ""
    language = language.lower()
    if language in site.languages:
        return 1.0, f"speaks {language}"
    if site.interpretation:
        return 0.6, f"{language} through interpretation"
    if not site.languages:
        return (0.7, "") if language == "en" else (0.3, "languages not listed")
    return None


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(origin: tuple[float, float], radius_km: float) -> tuple[float, float, list[tuple[float, float]]]:
    """Latitude bounds and longitude ranges enclosing every point within `radius_km` (an index-friendly prefilter).

    The longitude span widens with latitude (1° of longitude is 111 km times cos(lat)) and splits at the antimeridian.
    """
    lat, lon = origin
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    lat_min, lat_max = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if lat_min <= -90 or lat_max >= 90:
        return lat_min, lat_max, [(-180.0, 180.0)]
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) / math.cos(math.radians(lat)))))
    low, high = lon - dlon, lon + dlon
    if low < -180:
        return lat_min, lat_max, [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return lat_min, lat_max, [(low, 180.0), (-180.0, high - 360)]
    return lat_min, lat_max, [(low, high)]


def _km(distance: float | None) -> float | None:
    return round(distance, 2) if distance is not None else None


def _age(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
