"""A realistic synthetic roster (specialists around Midwest metros, supervisors) for tests, benchmark and simulation.

Deterministic for a seed and a day, so a failing property test or a benchmark run can be reproduced.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, time, timedelta

from shared.events.discharge import RecoveryDomain

from .domain import (
    WEEKDAYS,
    AgeBand,
    CertificationIn,
    Contact,
    HomeBase,
    RosterIn,
    SpecialistIn,
    SupervisorIn,
    TimeOff,
    Weekday,
    WorkingHours,
)


@dataclass(frozen=True)
class Region:
    name: str
    state: str
    lat: float
    lon: float
    weight: float  # share of the roster living there


REGIONS: tuple[Region, ...] = (
    Region("Springfield", "IL", 39.7817, -89.6501, 1.0),
    Region("Chicago", "IL", 41.8781, -87.6298, 3.0),
    Region("Peoria", "IL", 40.6936, -89.5890, 0.6),
    Region("St. Louis", "MO", 38.6270, -90.1994, 1.6),
    Region("Kansas City", "MO", 39.0997, -94.5786, 1.2),
    Region("Indianapolis", "IN", 39.7684, -86.1581, 1.4),
    Region("Milwaukee", "WI", 43.0389, -87.9065, 1.0),
    Region("Minneapolis", "MN", 44.9778, -93.2650, 1.4),
    Region("Des Moines", "IA", 41.5868, -93.6250, 0.6),
    Region("Columbus", "OH", 39.9612, -82.9988, 1.3),
    Region("Detroit", "MI", 42.3314, -83.0458, 1.5),
    Region("Louisville", "KY", 38.2527, -85.7585, 0.9),
)
# Second languages of the roster, with how often a specialist speaks each (US Census language-use shares).
SECOND_LANGUAGES: tuple[tuple[str, float], ...] = (
    ("es", 0.24),
    ("pl", 0.03),
    ("ar", 0.02),
    ("vi", 0.02),
    ("zh", 0.02),
    ("ru", 0.015),
    ("ht", 0.01),
    ("so", 0.01),
)
DOMAIN_SHARES: tuple[tuple[str, float], ...] = (
    ("substance_use", 0.6),
    ("mental_health", 0.55),
    ("abuse_trauma", 0.3),
    ("justice_involvement", 0.25),
)
GENDERS = ("woman", "man", "non-binary", "transgender woman", "transgender man")
GENDER_WEIGHTS = (0.52, 0.4, 0.04, 0.02, 0.02)
AGE_BANDS: tuple[AgeBand, ...] = ("18-29", "30-44", "45-59", "60+")
CULTURES = (
    "Black / African American",
    "Latino / Hispanic",
    "White",
    "Asian American",
    "Native American",
    "Arab American",
)
SHIFTS = ((time(8), time(16)), (time(9), time(17)), (time(10), time(18)), (time(12), time(20)))
GIVEN = ("Alex", "Jordan", "Maria", "Darnell", "Priya", "Tomasz", "Aisha", "Luis", "Mei", "Sam", "Keisha", "Omar")
FAMILY = ("Okafor", "Nguyen", "Kowalski", "Brown", "Patel", "García", "Hughes", "Haddad", "Lee", "Johnson", "Diaz")
SPECIALISTS_PER_SUPERVISOR = 25


def generate_roster(count: int, *, seed: int = 0, today: date | None = None) -> RosterIn:
    """`count` specialists and one supervisor per 25 of them (the first on call), reproducible for a seed."""
    rng = random.Random(seed)
    today = today or date.today()
    supervisors = tuple(
        SupervisorIn(
            id=f"SUP-{n:03d}",
            name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
            contact=Contact(email=f"sup-{n:03d}@peers.example.org", phone=f"+1-555-02{n % 100:02d}"),
            on_call=n == 1,
        )
        for n in range(1, max(1, math.ceil(count / SPECIALISTS_PER_SUPERVISOR)) + 1)
    )
    specialists = tuple(_specialist(rng, n, today, supervisors) for n in range(1, count + 1))
    return RosterIn(specialists=specialists, supervisors=supervisors)


def _specialist(rng: random.Random, n: int, today: date, supervisors: tuple[SupervisorIn, ...]) -> SpecialistIn:
    region = rng.choices(REGIONS, weights=[r.weight for r in REGIONS])[0]
    spanish_only = rng.random() < 0.04
    languages = ["es"] if spanish_only else ["en"]
    languages += [code for code, share in SECOND_LANGUAGES if code not in languages and rng.random() < share]
    domains = [RecoveryDomain(name) for name, share in DOMAIN_SHARES if rng.random() < share] or [
        RecoveryDomain(rng.choice(DOMAIN_SHARES)[0])
    ]
    starts, ends = rng.choice(SHIFTS)
    weekdays: list[Weekday] = list(WEEKDAYS[:5])
    if rng.random() < 0.25:  # weekend coverage: swap a weekday for Saturday or Sunday
        weekdays.remove(rng.choice(weekdays))
        weekdays.append(rng.choice(WEEKDAYS[5:]))
    time_off: tuple[TimeOff, ...] = ()
    if rng.random() < 0.12:
        first = today + timedelta(days=rng.randrange(-10, 60))
        time_off = (TimeOff(starts_on=first, ends_on=first + timedelta(days=rng.randrange(1, 15))),)
    sid = f"S-{n:05d}"
    return SpecialistIn(
        id=sid,
        name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
        contact=Contact(email=f"{sid.lower()}@peers.example.org", phone=f"+1-555-01{n % 100:02d}"),
        languages=tuple(languages),
        domains=tuple(domains),
        certifications=_certifications(rng, region, today),
        home=HomeBase(
            lat=round(region.lat + rng.gauss(0, 0.18), 5),
            lon=round(region.lon + rng.gauss(0, 0.22), 5),
        ),
        travel_radius_km=float(rng.choice((10, 15, 25, 25, 40, 40, 60, 80))),
        remote_capable=rng.random() < 0.3,
        has_vehicle=rng.random() < 0.75,
        max_caseload=rng.randrange(6, 21),
        availability=WorkingHours(weekdays=tuple(weekdays), starts=starts, ends=ends, time_off=time_off),
        gender_identity=rng.choices(GENDERS, weights=GENDER_WEIGHTS)[0],
        age_band=rng.choice(AGE_BANDS),
        cultural_background=rng.choice(CULTURES),
        supervisor_id=supervisors[(n - 1) // SPECIALISTS_PER_SUPERVISOR % len(supervisors)].id,
    )


def _certifications(rng: random.Random, region: Region, today: date) -> tuple[CertificationIn, ...]:
    # Most hold a state certification, many the national NCPS; a few have let theirs lapse (renewal is every 2 years).
    held = []
    if rng.random() < 0.88:
        held.append(
            CertificationIn(
                kind="state",
                issuer=region.state,
                number=f"{region.state}-{rng.randrange(10**6):06d}",
                expires_on=today + timedelta(days=rng.randrange(-90, 730)),
            )
        )
    if rng.random() < 0.4:
        held.append(
            CertificationIn(
                kind="NCPS",
                issuer="NAADAC",
                number=f"NCPS-{rng.randrange(10**5):05d}",
                expires_on=today + timedelta(days=rng.randrange(-60, 730)),
            )
        )
    return tuple(held)
