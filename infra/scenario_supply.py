"""The supply side of a simulated month: peer specialists, NEMT vendors, follow-up clinics and their slots, and
community services, each with the habits the simulation gives the people behind them.

Built with the services' own import models (assignment's roster, transport's vendor registry, appointment's
directory, an HSDS 3 directory for resource), so the driver loads them through the services' real interfaces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.appointment.directory import AddressIn, DirectoryImport, ProviderIn, SlotIn
from services.appointment.scheduling import Specialty
from services.assignment.domain import (
    WEEKDAYS,
    CertificationIn,
    HomeBase,
    RosterIn,
    SpecialistIn,
    SupervisorIn,
    TimeOff,
    Weekday,
    WorkingHours,
)
from services.resource.hsds_validation import Dataset
from services.resource.synthetic import synthetic_directory
from services.transport.eligibility import OpeningHours, Point, ServiceArea, VendorHours, VendorProfile
from shared.events.discharge import RecoveryDomain
from shared.events.transport import ServiceLevel

from .scenario import LOCAL_ZONE, POSTAL_CODES, REGION_CENTER, STREETS, ScenarioConfig, _point, _rng

SECOND_LANGUAGES = (("es", 0.25), ("pl", 0.03), ("ar", 0.02), ("vi", 0.02))
DOMAIN_SHARES = (("substance_use", 0.6), ("mental_health", 0.55), ("abuse_trauma", 0.3), ("justice_involvement", 0.2))
SHIFTS = ((time(8), time(16)), (time(9), time(17)), (time(10), time(18)), (time(12), time(20)))


@dataclass(frozen=True)
class SpecialistHabits:
    """How a specialist answers offers in the simulation (not known to the platform)."""

    specialist_id: str
    answers: bool  # False: one of the share who never answer in the platform
    minutes_to_answer: int  # typical delay while on shift


@dataclass(frozen=True)
class VendorHabits:
    vendor_id: str
    accept_rate: float
    minutes_to_answer: int
    no_show_rate: float  # the rider is not at the pickup
    late_rate: float  # no driver reaches the pickup within its window


@dataclass(frozen=True)
class Supply:
    roster: RosterIn
    specialist_habits: dict[str, SpecialistHabits]
    vendors: tuple[VendorProfile, ...]
    vendor_habits: dict[str, VendorHabits]
    directory: DirectoryImport
    resources: Dataset


def build_supply(config: ScenarioConfig) -> Supply:
    roster, habits = _roster(config)
    vendors, vendor_habits = _vendors(config)
    return Supply(
        roster=roster,
        specialist_habits=habits,
        vendors=vendors,
        vendor_habits=vendor_habits,
        directory=_clinics(config),
        resources=synthetic_directory(config.resources, seed=config.seed, center=REGION_CENTER, radius_km=30.0),
    )


def _roster(config: ScenarioConfig) -> tuple[RosterIn, dict[str, SpecialistHabits]]:
    rng = _rng(config, "roster")
    first_day = config.start.astimezone(LOCAL_ZONE).date()
    supervisors = tuple(
        SupervisorIn(id=f"SUP-{n:03d}", name=f"Supervisor {n}", on_call=n == 1)
        for n in range(1, max(1, config.specialists // 25) + 1)
    )
    specialists, habits = [], {}
    for n in range(1, config.specialists + 1):
        sid = f"S-{n:04d}"
        languages = ["es"] if rng.random() < 0.03 else ["en"]
        languages += [code for code, share in SECOND_LANGUAGES if code not in languages and rng.random() < share]
        domains = [RecoveryDomain(d) for d, share in DOMAIN_SHARES if rng.random() < share] or [
            RecoveryDomain(rng.choice(DOMAIN_SHARES)[0])
        ]
        starts, ends = rng.choice(SHIFTS)
        weekdays: list[Weekday] = list(WEEKDAYS[:5])
        if rng.random() < 0.3:  # weekend coverage: a weekday swapped for Saturday or Sunday
            weekdays.remove(rng.choice(weekdays))
            weekdays.append(rng.choice(WEEKDAYS[5:]))
        time_off: tuple[TimeOff, ...] = ()
        if rng.random() < 0.15:
            first = first_day + timedelta(days=rng.randrange(config.days))
            time_off = (TimeOff(starts_on=first, ends_on=first + timedelta(days=rng.randrange(2, 10))),)
        lat, lon = _point(rng, 25.0)
        specialists.append(
            SpecialistIn(
                id=sid,
                name=f"Peer {n}",  # inbox only: no email or webhook, so nothing leaves the simulation
                languages=tuple(languages),
                domains=tuple(domains),
                certifications=(
                    CertificationIn(kind="state", issuer="IL", expires_on=_certified_until(rng, first_day, config)),
                ),
                home=HomeBase(lat=lat, lon=lon),
                travel_radius_km=float(rng.choice((15, 25, 40, 60))),
                remote_capable=rng.random() < 0.35,
                max_caseload=rng.randrange(8, 17),
                availability=WorkingHours(weekdays=tuple(weekdays), starts=starts, ends=ends, time_off=time_off),
                supervisor_id=supervisors[(n - 1) // 25 % len(supervisors)].id,
            )
        )
        habits[sid] = SpecialistHabits(
            specialist_id=sid,
            answers=rng.random() >= config.no_answer_share,
            minutes_to_answer=rng.choice((15, 30, 45, 60, 90)),
        )
    return RosterIn(specialists=tuple(specialists), supervisors=supervisors), habits


def _certified_until(rng: random.Random, first_day: date, config: ScenarioConfig) -> date:
    # A few certifications lapse during the month (renewal every two years): matching must stop offering them.
    if rng.random() < 0.03:
        return first_day + timedelta(days=rng.randrange(config.days))
    return first_day + timedelta(days=rng.randrange(120, 700))


VENDOR_TEMPLATES = (
    # id, name, levels, opens, closes, base acceptance, minutes to answer, no-show, late, priority
    ("V-METRO", "Metro Medical Rides", ("ambulatory", "wheelchair"), time(5), time(22), 0.9, 20, 0.04, 0.03, 10),
    ("V-PRAIRIE", "Prairie NEMT", ("ambulatory",), time(6), time(20), 0.8, 30, 0.06, 0.05, 20),
    ("V-CAPITAL", "Capital City Transport", ("ambulatory", "wheelchair"), time(0), time(23, 59), 0.7, 45, 0.05,
     0.08, 30),
    ("V-CARE", "CareLink Wheelchair Vans", ("wheelchair", "ambulatory"), time(7), time(19), 0.85, 25, 0.03, 0.04, 40),
)  # fmt: skip


def _vendors(config: ScenarioConfig) -> tuple[tuple[VendorProfile, ...], dict[str, VendorHabits]]:
    profiles, habits = [], {}
    for vendor_id, name, levels, opens, closes, accept, minutes, no_show, late, priority in VENDOR_TEMPLATES:
        profiles.append(
            VendorProfile(
                vendor_id=vendor_id,
                name=name,
                service_area=ServiceArea(
                    center=Point(lat=REGION_CENTER[0], lon=REGION_CENTER[1]),
                    radius_km=60.0,
                    postal_codes=list(POSTAL_CODES),
                ),
                service_levels=[ServiceLevel(level) for level in levels],
                hours=VendorHours(
                    timezone=LOCAL_ZONE.key, weekly=[OpeningHours(days=list(WEEKDAYS), opens=opens, closes=closes)]
                ),
                payer_contracts=["medicaid_nemt", "other"],
                priority=priority,
            )
        )
        # The knob scales every vendor's acceptance: 0.85 is the default market, lower is a tighter one.
        habits[vendor_id] = VendorHabits(vendor_id, min(1.0, accept * config.vendor_acceptance / 0.85), minutes,
                                         no_show, late)  # fmt: skip
    return tuple(profiles), habits


def _clinics(config: ScenarioConfig) -> DirectoryImport:
    """Outpatient clinics with fewer follow-up slots than discharges need: the scarcity the month runs into."""
    rng = _rng(config, "clinics")
    kinds = (
        (Specialty.OUTPATIENT_MENTAL_HEALTH, 0.45),
        (Specialty.SUBSTANCE_USE_TREATMENT, 0.35),
        (Specialty.PRIMARY_CARE, 0.2),
    )
    providers = []
    for n in range(1, 25):
        specialty = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        lat, lon = _point(rng, 25.0)
        languages = ["en"] + (["es"] if rng.random() < 0.35 else []) + (["pl"] if rng.random() < 0.05 else [])
        providers.append(
            ProviderIn(
                id=f"PRV-{n:03d}",
                organization=f"{specialty.value.replace('_', ' ').title()} Clinic {n}",
                specialty=specialty,
                address=AddressIn(
                    lines=[f"{rng.randrange(100, 3000)} {rng.choice(STREETS)}"],
                    city="Springfield",
                    state="IL",
                    postal_code=rng.choice(POSTAL_CODES),
                ),
                lat=lat,
                lon=lon,
                languages=languages,
                payers=[] if rng.random() < 0.7 else ["medicaid"],
                telehealth=rng.random() < 0.4,
            )
        )
    slots = []
    first_day = config.start.astimezone(LOCAL_ZONE).date()
    # Slots run 35 days past the month, so the last discharges still have their 30-day window.
    for offset in range(config.days + 35):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for n in range(config.slots_per_day):
            provider = rng.choice(providers)
            hour = 8 + rng.randrange(9)
            starts = datetime.combine(day, time(hour), LOCAL_ZONE)
            slots.append(
                SlotIn(
                    id=f"SL-{offset:03d}-{n:04d}",
                    provider_id=provider.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=60),
                    telehealth=provider.telehealth and rng.random() < 0.5,
                )
            )
    return DirectoryImport(providers=providers, slots=slots)
