"""HEDIS follow-up measures: which one a stay falls under (FUH, FUI, FUA, FUM), its 7- and 30-day deadlines, and
whether a contact counts toward them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.events.appointment import ContactKind, FollowupMeasure
from shared.events.discharge import PatientClass, RecoveryDomain


class FacilityKind(StrEnum):
    """The kind of stay a facility provides; FUI counts residential treatment and withdrawal management stays."""

    ACUTE_CARE = "acute_care"
    PSYCHIATRIC = "psychiatric"
    RESIDENTIAL_TREATMENT = "residential_treatment"
    WITHDRAWAL_MANAGEMENT = "withdrawal_management"


class DiagnosisGroup(StrEnum):
    MENTAL_ILLNESS = "mental_illness"
    SUBSTANCE_USE = "substance_use"


HIGH_INTENSITY_SUD_CARE = frozenset({FacilityKind.RESIDENTIAL_TREATMENT, FacilityKind.WITHDRAWAL_MANAGEMENT})
# The 7-day rate runs through day 7 after discharge (FUA and FUM: "8 total days", the ED visit's day included);
# the 30-day rate through day 30 ("31 total days").
SEVEN_DAYS, THIRTY_DAYS = 7, 30


def diagnosis_group(code: str) -> DiagnosisGroup | None:
    """ICD-10-CM chapter ranges standing in for the HEDIS value sets (which are licensed, so not shipped here).

    Substance use: F10-F19 but F17, as the HEDIS AOD value sets leave nicotine dependence out. Mental illness:
    F20-F99, and intentional self-harm (X71-X83, T14.91), which the FUH denominator counts alongside mental illness.
    """
    normalised = code.strip().upper().replace(".", "")
    if len(normalised) < 3:
        return None
    letter, digits = normalised[0], normalised[1:3]
    if not digits.isdigit():
        return None
    number = int(digits)
    if letter == "F" and 10 <= number <= 19 and number != 17:
        return DiagnosisGroup.SUBSTANCE_USE
    if letter == "F" and number >= 20:
        return DiagnosisGroup.MENTAL_ILLNESS
    if (letter == "X" and 71 <= number <= 83) or normalised.startswith("T1491"):
        return DiagnosisGroup.MENTAL_ILLNESS
    return None


def is_drug_overdose(code: str) -> bool:
    """Poisoning by narcotics and psychodysleptics (T40), sedatives (T42.4) or psychostimulants (T43.6): FUA counts an
    emergency visit with any diagnosis of drug overdose, not only a principal one (HEDIS FUA denominator)."""
    normalised = code.strip().upper().replace(".", "")
    return normalised.startswith(("T40", "T424", "T436"))


@dataclass(frozen=True, slots=True)
class Stay:
    """What measure selection needs to know of a stay: the class of visit, the facility and the diagnoses."""

    patient_class: PatientClass
    facility_kind: FacilityKind | None = None
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM codes, principal first (DG1 set id 1, Encounter.diagnosis rank 1)
    recovery_domains: tuple[RecoveryDomain, ...] = ()


def select_measure(stay: Stay) -> FollowupMeasure | None:
    """The HEDIS measure a stay falls under, decided by its principal diagnosis as HEDIS does; without diagnoses, by
    the facility kind and the recovery domains intake recorded. None when no follow-up measure applies."""
    principal = diagnosis_group(stay.diagnoses[0]) if stay.diagnoses else None
    domains = set(stay.recovery_domains)
    if stay.patient_class == PatientClass.EMERGENCY:
        # FUA: principal diagnosis of substance use, or any diagnosis of drug overdose. FUM: of mental illness.
        if principal == DiagnosisGroup.SUBSTANCE_USE or any(is_drug_overdose(code) for code in stay.diagnoses):
            return FollowupMeasure.FUA
        if principal == DiagnosisGroup.MENTAL_ILLNESS:
            return FollowupMeasure.FUM
        if stay.diagnoses:
            return None
        if RecoveryDomain.SUBSTANCE_USE in domains:
            return FollowupMeasure.FUA
        return FollowupMeasure.FUM if RecoveryDomain.MENTAL_HEALTH in domains else None
    if stay.patient_class not in (PatientClass.INPATIENT, PatientClass.OTHER):
        return None  # FUH and FUI count discharges from a stay, not outpatient or pre-admission visits
    if principal == DiagnosisGroup.MENTAL_ILLNESS:
        return FollowupMeasure.FUH
    if principal == DiagnosisGroup.SUBSTANCE_USE:
        return FollowupMeasure.FUI
    if stay.diagnoses:
        return None
    if stay.facility_kind in HIGH_INTENSITY_SUD_CARE:
        return FollowupMeasure.FUI
    if RecoveryDomain.MENTAL_HEALTH in domains or stay.facility_kind == FacilityKind.PSYCHIATRIC:
        return FollowupMeasure.FUH
    return FollowupMeasure.FUI if RecoveryDomain.SUBSTANCE_USE in domains else None


@dataclass(frozen=True, slots=True)
class FollowupClock:
    """A case's two deadlines, counted in calendar days of the measure's time zone from the day of discharge."""

    measure: FollowupMeasure | None
    discharge_day: date
    first_day: int  # 0 when a contact on the day of discharge counts, 1 when it does not
    zone: ZoneInfo

    @property
    def deadline_7d(self) -> datetime:
        return self.end_of_day(SEVEN_DAYS)

    @property
    def deadline_30d(self) -> datetime:
        return self.end_of_day(THIRTY_DAYS)

    def day(self, n: int) -> date:
        return self.discharge_day + timedelta(days=n)

    def start_of_day(self, n: int) -> datetime:
        return datetime.combine(self.day(n), time.min, self.zone)

    def end_of_day(self, n: int) -> datetime:
        """The last moment of day n after discharge: a visit up to then still counts."""
        return self.start_of_day(n + 1) - timedelta(microseconds=1)

    def day_number(self, moment: datetime) -> int:
        """How many calendar days after the day of discharge `moment` falls (0 on the day itself)."""
        return (moment.astimezone(self.zone).date() - self.discharge_day).days


def clock_for(
    measure: FollowupMeasure | None,
    discharged_at: datetime,
    zone: ZoneInfo,
    same_day_excluded: Iterable[FollowupMeasure] = (FollowupMeasure.FUH,),
) -> FollowupClock:
    """FUH: "do not include visits that occur on the date of discharge". FUA and FUM count the day of the emergency
    visit. Which measures exclude the day is a setting, so a plan's reading of FUI can be followed."""
    excluded = measure is None or measure in set(same_day_excluded)
    return FollowupClock(measure, discharged_at.astimezone(zone).date(), 1 if excluded else 0, zone)


@dataclass(frozen=True, slots=True)
class Credit:
    """Whether one contact counts toward the 7-day and the 30-day rate."""

    within_7_days: bool
    within_30_days: bool


def credit_for(
    clock: FollowupClock, occurred_at: datetime, kind: ContactKind, *, peer_support_counts: bool = True
) -> Credit:
    """Clinical and telehealth visits count for every measure (each numerator lists telehealth); a peer support visit
    counts where the newer specifications include peer support services (`peer_support_counts`)."""
    if clock.measure is None or (kind == ContactKind.PEER_SUPPORT_VISIT and not peer_support_counts):
        return Credit(False, False)
    day = clock.day_number(occurred_at)
    return Credit(clock.first_day <= day <= SEVEN_DAYS, clock.first_day <= day <= THIRTY_DAYS)
