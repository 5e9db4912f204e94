"""A seeded month of discharges in one region: facilities, stays, and what each facility's systems send when.

Pure and deterministic: the same `ScenarioConfig` gives the same stays and messages. Every part draws from its own
seeded stream (`_rng(config, "stays")`), so changing the roster size does not reshuffle the patients. All times fall
on the simulation's step grid, so the driver sends each message in exactly one step. The supply side (specialists,
vendors, clinics, community services) is in `infra/scenario_supply.py`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

REGION_CENTER = (39.7817, -89.6501)  # Springfield, Illinois
LOCAL_ZONE = ZoneInfo("America/Chicago")
POSTAL_CODES = ("62701", "62702", "62703", "62704", "62707", "62711", "62712")
GIVEN = ("Ana", "Marcus", "Lena", "Tomasz", "Keisha", "Ravi", "Sofia", "Jamal", "Grace", "Luis", "Mei", "Darnell")
FAMILY = ("Rivera", "Okafor", "Nguyen", "Kowalski", "Brown", "Patel", "Garcia", "Hughes", "Haddad", "Lee", "Diaz")
STREETS = ("Elm St", "Oak Ave", "Monroe St", "Walnut St", "Ash St", "Cook St", "Grand Ave", "Lincoln Ave")
# Primary languages of patients (ISO 639-1) and how often each is spoken at home in the region.
LANGUAGES = (("en", 0.84), ("es", 0.11), ("pl", 0.02), ("ar", 0.015), ("vi", 0.015))


class FacilityKind(StrEnum):
    """The three kinds of stay the platform plans discharges from (appointment's FacilityKind names)."""

    PSYCHIATRIC = "psychiatric"
    INPATIENT_REHAB = "residential_treatment"
    WITHDRAWAL_MANAGEMENT = "withdrawal_management"


class Channel(StrEnum):
    HL7 = "hl7"  # HL7 v2 ADT over MLLP
    FHIR = "fhir"  # FHIR R4 Encounter


@dataclass(frozen=True)
class Facility:
    id: str
    name: str
    kind: FacilityKind
    unit: str
    hospital_service: str  # PV1-10, which intake maps to recovery domains (hl7_mapping.service_domains)
    channel: Channel
    lat: float
    lon: float
    street: str
    postal_code: str
    weight: float  # share of the region's discharges


# The first three are the region's facilities; more are numbered copies of these kinds (--facilities N).
FACILITY_TEMPLATES = (
    ("SPRINGFIELD_PSY", "Springfield Behavioral Health", FacilityKind.PSYCHIATRIC, "PSY-3", "PSY", Channel.HL7, 0.45),
    ("RIVERSIDE_REHAB", "Riverside Inpatient Rehabilitation", FacilityKind.INPATIENT_REHAB, "REHAB-1", "SUD",
     Channel.FHIR, 0.25),
    ("LAKESIDE_WM", "Lakeside Withdrawal Management", FacilityKind.WITHDRAWAL_MANAGEMENT, "DETOX-2", "DETOX",
     Channel.HL7, 0.30),
)  # fmt: skip
# Length of stay in days, (low, high), per kind: acute psychiatry about a week, rehab weeks, detox days.
LENGTH_OF_STAY = {
    FacilityKind.PSYCHIATRIC: (4, 14),
    FacilityKind.INPATIENT_REHAB: (14, 28),
    FacilityKind.WITHDRAWAL_MANAGEMENT: (3, 7),
}
# ICD-10-CM codes per kind, with weights; intake maps them to recovery domains, risks and needs.
PRIMARY_DIAGNOSES = {
    FacilityKind.PSYCHIATRIC: (("F33.2", "Major depressive disorder, recurrent, severe", 4),
                               ("F20.9", "Schizophrenia, unspecified", 2), ("F31.9", "Bipolar disorder", 2),
                               ("F43.10", "Post-traumatic stress disorder", 1)),
    FacilityKind.INPATIENT_REHAB: (("F10.20", "Alcohol dependence, uncomplicated", 4),
                                   ("F11.20", "Opioid dependence, uncomplicated", 4),
                                   ("F15.20", "Stimulant dependence, uncomplicated", 2)),
    FacilityKind.WITHDRAWAL_MANAGEMENT: (("F11.23", "Opioid dependence with withdrawal", 5),
                                         ("F10.230", "Alcohol dependence with withdrawal", 4)),
}  # fmt: skip
# Secondary codes: (code, text, share of stays, kinds it applies to).
SECONDARY_DIAGNOSES = (
    ("R45.851", "Suicidal ideations", 0.15, (FacilityKind.PSYCHIATRIC,)),
    ("T40.1X1A", "Poisoning by heroin, accidental", 0.12, (FacilityKind.WITHDRAWAL_MANAGEMENT,)),
    ("F32.9", "Major depressive disorder, single episode", 0.3,
     (FacilityKind.INPATIENT_REHAB, FacilityKind.WITHDRAWAL_MANAGEMENT)),
    ("F11.20", "Opioid dependence, uncomplicated", 0.15, (FacilityKind.PSYCHIATRIC,)),
    ("Z59.0", "Homelessness", 0.1, tuple(FacilityKind)),
    ("Z56.0", "Unemployment", 0.2, tuple(FacilityKind)),
    ("Z63.8", "Problems related to primary support group", 0.08, tuple(FacilityKind)),
    ("T74.11XA", "Adult physical abuse, confirmed", 0.05, tuple(FacilityKind)),
)  # fmt: skip
# PV1-36 discharge dispositions (UB-04 codes or the mapping's words) with their shares.
DISPOSITIONS = (("01", 0.78), ("FAMILY", 0.1), ("SHELTER", 0.07), ("RESIDENTIAL TREATMENT", 0.05))


@dataclass(frozen=True)
class ScenarioConfig:
    """The knobs of one simulated month (the CLI's options)."""

    seed: int = 7
    days: int = 30
    facilities: int = 3
    discharges_per_day: float = 100.0
    specialists: int = 160
    slots_per_day: int = 70
    vendor_acceptance: float = 0.85
    no_answer_share: float = 0.15
    step_minutes: int = 30
    resources: int = 400
    start: datetime = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # Monday 00:00 in Chicago
    # Shares of the facilities' behaviour: how many discharges are announced ahead (A16), changed, cancelled.
    announced_share: float = 0.8
    changed_share: float = 0.15
    cancelled_share: float = 0.04
    readmitted_share: float = 0.08
    consent_share: float = 0.9

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.step_minutes)


@dataclass(frozen=True)
class Patient:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    language: str  # ISO 639-1
    phone: str
    street: str
    postal_code: str
    lat: float
    lon: float
    medicaid: bool
    member_id: str


@dataclass(frozen=True)
class Stay:
    """One inpatient stay and how it ends; `discharge_at` is None when it does not end within the month."""

    number: int
    facility: Facility
    visit_number: str
    patient: Patient
    admitted_at: datetime
    discharge_at: datetime | None
    diagnoses: tuple[tuple[str, str], ...]
    disposition: str
    wheelchair: bool
    consents_to_peer_support: bool
    readmission_of: str | None = None  # the earlier stay's visit number


class Trigger(StrEnum):
    """What the facility's system sends (HL7 v2 ADT trigger events; the FHIR feed sends the same facts)."""

    PENDING = "A16"
    DISCHARGED = "A03"
    UPDATED = "A08"
    PENDING_CANCELLED = "A25"
    ADMITTED = "A01"


@dataclass(frozen=True)
class FacilityMessage:
    at: datetime
    trigger: Trigger
    stay: Stay
    expected_at: datetime | None = None  # the planned discharge time the message states (A16, A08)
    sequence: int = 0  # order among one stay's messages sent at the same time


@dataclass(frozen=True)
class Scenario:
    config: ScenarioConfig
    facilities: tuple[Facility, ...]
    stays: tuple[Stay, ...]
    messages: tuple[FacilityMessage, ...] = field(repr=False)

    @property
    def discharges(self) -> tuple[Stay, ...]:
        """Stays that end in a discharge within the month: the outcomes' denominator."""
        return tuple(s for s in self.stays if s.discharge_at is not None)

    def messages_for(self, *, announce_ahead: bool) -> list[FacilityMessage]:
        """The facilities' messages; without `announce_ahead` (the A03-only arm) nothing is sent before a discharge."""
        if announce_ahead:
            return list(self.messages)
        return [m for m in self.messages if m.trigger in (Trigger.DISCHARGED, Trigger.ADMITTED)]


def _rng(config: ScenarioConfig, part: str) -> random.Random:
    return random.Random(f"{config.seed}:{part}")


def on_grid(config: ScenarioConfig, when: datetime, *, up: bool = False) -> datetime:
    """The step boundary at or before (or, with `up`, at or after) `when`."""
    steps = (when - config.start) / config.step
    whole = math.ceil(steps) if up else math.floor(steps)
    return config.start + whole * config.step


def build_facilities(config: ScenarioConfig) -> tuple[Facility, ...]:
    rng = _rng(config, "facilities")
    facilities = []
    for n in range(config.facilities):
        ident, name, kind, unit, service, channel, weight = FACILITY_TEMPLATES[n % len(FACILITY_TEMPLATES)]
        copy = n // len(FACILITY_TEMPLATES)
        lat, lon = _point(rng, 12.0)
        facilities.append(
            Facility(
                id=ident if copy == 0 else f"{ident}_{copy + 1}",
                name=name if copy == 0 else f"{name} {copy + 1}",
                kind=kind,
                unit=unit,
                hospital_service=service,
                channel=channel,
                lat=lat,
                lon=lon,
                street=f"{rng.randrange(100, 2000)} {rng.choice(STREETS)}",
                postal_code=rng.choice(POSTAL_CODES),
                weight=weight,
            )
        )
    return tuple(facilities)


def build_scenario(config: ScenarioConfig) -> Scenario:
    facilities = build_facilities(config)
    rng = _rng(config, "stays")
    stays: list[Stay] = []
    messages: list[FacilityMessage] = []
    for day in range(config.days):
        for _ in range(_discharges_on(rng, config, day)):
            facility = rng.choices(facilities, weights=[f.weight for f in facilities])[0]
            discharge_at = _discharge_time(rng, config, day)
            stay = _stay(rng, config, len(stays), facility, _patient(rng, len(stays)), discharge_at)
            stays.append(stay)
            messages += _discharge_messages(rng, config, stay)
    readmissions = _readmissions(_rng(config, "readmissions"), config, [s for s in stays if s.discharge_at])
    for stay in readmissions:
        stays.append(stay)
        messages.append(FacilityMessage(stay.admitted_at, Trigger.ADMITTED, stay))
        if stay.discharge_at is not None:
            messages += _discharge_messages(rng, config, stay)
    messages.sort(key=lambda m: (m.at, m.stay.number, m.sequence))
    return Scenario(config, facilities, tuple(stays), tuple(messages))


def _discharges_on(rng: random.Random, config: ScenarioConfig, day: int) -> int:
    # Fewer discharges at weekends (about 60% of a weekday), so a week averages the configured rate.
    weekday = (config.start + timedelta(days=day)).astimezone(LOCAL_ZONE).weekday()
    mean = config.discharges_per_day * (1.16 if weekday < 5 else 0.6)
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _discharge_time(rng: random.Random, config: ScenarioConfig, day: int) -> datetime:
    midnight = (config.start + timedelta(days=day)).astimezone(LOCAL_ZONE)
    hour = min(19.5, max(8.0, rng.gauss(13.0, 2.2)))  # late morning to mid afternoon, local time
    return on_grid(config, (midnight + timedelta(hours=hour)).astimezone(UTC))


def _patient(rng: random.Random, number: int) -> Patient:
    lat, lon = _point(rng, 20.0)
    return Patient(
        mrn=f"MRN{number:07d}",
        given_name=rng.choice(GIVEN),
        family_name=rng.choice(FAMILY),
        birth_date=date(rng.randrange(1950, 2006), rng.randrange(1, 13), rng.randrange(1, 29)),
        sex=rng.choice(("F", "M")),
        language=rng.choices([code for code, _ in LANGUAGES], weights=[w for _, w in LANGUAGES])[0],
        phone=f"217-555-{rng.randrange(10**4):04d}",
        street=f"{rng.randrange(1, 999)} {rng.choice(STREETS)}",
        postal_code=rng.choice(POSTAL_CODES),
        lat=lat,
        lon=lon,
        medicaid=rng.random() < 0.7,
        member_id=f"MCD{rng.randrange(10**7):07d}",
    )


def _stay(
    rng: random.Random,
    config: ScenarioConfig,
    number: int,
    facility: Facility,
    patient: Patient,
    discharge_at: datetime | None,
    *,
    admitted_at: datetime | None = None,
    readmission_of: str | None = None,
) -> Stay:
    low, high = LENGTH_OF_STAY[facility.kind]
    if admitted_at is None:
        assert discharge_at is not None
        admitted_at = discharge_at - timedelta(days=rng.randrange(low, high + 1), hours=rng.randrange(24))
    codes = PRIMARY_DIAGNOSES[facility.kind]
    primary = rng.choices(codes, weights=[weight for *_, weight in codes])[0]
    secondary = [(code, text) for code, text, share, kinds in SECONDARY_DIAGNOSES if facility.kind in kinds
                 and rng.random() < share]  # fmt: skip
    disposition = rng.choices([d for d, _ in DISPOSITIONS], weights=[w for _, w in DISPOSITIONS])[0]
    if ("Z59.0", "Homelessness") in secondary:
        disposition = "SHELTER"
    return Stay(
        number=number,
        facility=facility,
        visit_number=f"V{facility.id[:3]}{number:06d}",
        patient=patient,
        admitted_at=admitted_at,
        discharge_at=discharge_at,
        diagnoses=((primary[0], primary[1]), *secondary),
        disposition=disposition,
        wheelchair=rng.random() < 0.06,
        consents_to_peer_support=rng.random() < config.consent_share,
        readmission_of=readmission_of,
    )


def _discharge_messages(rng: random.Random, config: ScenarioConfig, stay: Stay) -> list[FacilityMessage]:
    """A16 some hours ahead (most stays), then A08 when the time changes, A25 when planning is called off and
    restarted, and A03 when the patient leaves; some discharges are only ever announced by their A03."""
    assert stay.discharge_at is not None
    final = stay.discharge_at
    out: list[FacilityMessage] = []
    if rng.random() < config.announced_share:
        lead = timedelta(hours=rng.triangular(3, 48, 20))
        expected = final
        if rng.random() < config.changed_share:
            expected = on_grid(config, final - timedelta(hours=rng.choice((-20, -6, -3, 2, 4, 24))))
        earliest = max(config.start, on_grid(config, stay.admitted_at, up=True))
        first = min(final, max(earliest, on_grid(config, min(expected, final) - lead)))
        out.append(FacilityMessage(first, Trigger.PENDING, stay, expected))
        if rng.random() < config.cancelled_share:
            # Planning called off (A25), then restarted with a new A16 once the team agrees on a date again.
            cancelled = min(final, max(first, on_grid(config, first + (min(expected, final) - first) / 2, up=True)))
            out.append(FacilityMessage(cancelled, Trigger.PENDING_CANCELLED, stay, sequence=1))
            restarted = min(final, cancelled + timedelta(hours=2))
            out.append(FacilityMessage(restarted, Trigger.PENDING, stay, final, sequence=2))
        elif expected != final:
            changed = min(final, max(first, on_grid(config, first + (min(expected, final) - first) / 2, up=True)))
            out.append(FacilityMessage(changed, Trigger.UPDATED, stay, final, sequence=1))
    out.append(FacilityMessage(final, Trigger.DISCHARGED, stay, sequence=3))
    return out


def _readmissions(rng: random.Random, config: ScenarioConfig, discharged: list[Stay]) -> list[Stay]:
    """About 8% of patients come back within 30 days (CMS counts readmissions within 30 days)."""
    stays = []
    number = len(discharged) * 10  # visit numbers of readmissions never collide with first stays
    for stay in discharged:
        assert stay.discharge_at is not None
        if rng.random() >= config.readmitted_share:
            continue
        admitted = on_grid(config, stay.discharge_at + timedelta(days=rng.uniform(2, 28)))
        if admitted >= config.end:
            continue
        low, high = LENGTH_OF_STAY[stay.facility.kind]
        discharge = _discharge_time(rng, config, (admitted - config.start).days + rng.randrange(low, high + 1))
        number += 1
        readmitted = _stay(
            rng,
            config,
            number,
            stay.facility,
            stay.patient,
            discharge if discharge < config.end else None,
            admitted_at=admitted,
            readmission_of=stay.visit_number,
        )
        stays.append(replace(readmitted, diagnoses=stay.diagnoses))
    return stays


def _point(rng: random.Random, radius_km: float) -> tuple[float, float]:
    # Uniform over a disc around the region's centre: radius by the square root, so the centre is not crowded.
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    lat = REGION_CENTER[0] + math.degrees(distance * math.cos(bearing) / 6371.0)
    lon = REGION_CENTER[1] + math.degrees(distance * math.sin(bearing) / 6371.0) / math.cos(
        math.radians(REGION_CENTER[0])
    )
    return round(lat, 5), round(lon, 5)
