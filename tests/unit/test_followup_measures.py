"""Which HEDIS measure a stay falls under, its 7- and 30-day deadlines, and which contacts count toward them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.appointment.measures import FacilityKind, Stay, clock_for, credit_for, select_measure
from shared.events.appointment import ContactKind, FollowupMeasure
from shared.events.discharge import PatientClass, RecoveryDomain

pytestmark = pytest.mark.unit

UTC_ZONE = ZoneInfo("UTC")
DISCHARGED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stay", "measure"),
    [
        (Stay(PatientClass.INPATIENT, diagnoses=("F32.9",)), FollowupMeasure.FUH),
        (Stay(PatientClass.INPATIENT, diagnoses=("X78.0XXA",)), FollowupMeasure.FUH),  # intentional self-harm
        (Stay(PatientClass.INPATIENT, diagnoses=("F10.239", "F32.9")), FollowupMeasure.FUI),  # principal decides
        (Stay(PatientClass.INPATIENT, diagnoses=("F17.210",)), None),  # nicotine is not in the AOD value sets
        (Stay(PatientClass.INPATIENT, diagnoses=("I10",)), None),
        (Stay(PatientClass.EMERGENCY, diagnoses=("F11.20",)), FollowupMeasure.FUA),
        (Stay(PatientClass.EMERGENCY, diagnoses=("F32.9", "T40.1X1A")), FollowupMeasure.FUA),  # any overdose
        (Stay(PatientClass.EMERGENCY, diagnoses=("F41.1",)), FollowupMeasure.FUM),
        (Stay(PatientClass.OUTPATIENT, diagnoses=("F32.9",)), None),
        (Stay(PatientClass.INPATIENT, recovery_domains=(RecoveryDomain.MENTAL_HEALTH,)), FollowupMeasure.FUH),
        (Stay(PatientClass.INPATIENT, recovery_domains=(RecoveryDomain.SUBSTANCE_USE,)), FollowupMeasure.FUI),
        (
            Stay(
                PatientClass.INPATIENT,
                facility_kind=FacilityKind.WITHDRAWAL_MANAGEMENT,
                recovery_domains=(RecoveryDomain.MENTAL_HEALTH, RecoveryDomain.SUBSTANCE_USE),
            ),
            FollowupMeasure.FUI,
        ),
        (Stay(PatientClass.INPATIENT, facility_kind=FacilityKind.RESIDENTIAL_TREATMENT), FollowupMeasure.FUI),
        (Stay(PatientClass.INPATIENT, facility_kind=FacilityKind.PSYCHIATRIC), FollowupMeasure.FUH),
        (Stay(PatientClass.EMERGENCY, recovery_domains=(RecoveryDomain.SUBSTANCE_USE,)), FollowupMeasure.FUA),
        (Stay(PatientClass.INPATIENT), None),
    ],
)
def test_the_measure_follows_the_principal_diagnosis_then_the_facility_and_domains(
    stay: Stay, measure: FollowupMeasure | None
) -> None:
    assert select_measure(stay) == measure


def test_deadlines_are_the_last_moments_of_day_7_and_day_30() -> None:
    clock = clock_for(FollowupMeasure.FUH, DISCHARGED, UTC_ZONE)
    assert clock.deadline_7d == datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=UTC)
    assert clock.deadline_30d == datetime(2026, 4, 1, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "within_7", "within_30"),
    [
        (timedelta(hours=6), False, False),  # the day of discharge: FUH does not count it
        (timedelta(days=1), True, True),
        (timedelta(days=7, hours=13), True, True),  # 23:00 on day 7
        (timedelta(days=8), False, True),
        (timedelta(days=30), False, True),
        (timedelta(days=31), False, False),
    ],
)
def test_fuh_counts_day_1_to_7_and_never_the_day_of_discharge(
    after: timedelta, within_7: bool, within_30: bool
) -> None:
    clock = clock_for(FollowupMeasure.FUH, DISCHARGED, UTC_ZONE)
    credit = credit_for(clock, DISCHARGED + after, ContactKind.CLINICAL_VISIT)
    assert (credit.within_7_days, credit.within_30_days) == (within_7, within_30)


@pytest.mark.parametrize("measure", [FollowupMeasure.FUA, FollowupMeasure.FUM])
def test_emergency_visit_measures_count_the_same_day(measure: FollowupMeasure) -> None:
    clock = clock_for(measure, DISCHARGED, UTC_ZONE)
    assert clock.first_day == 0
    credit = credit_for(clock, DISCHARGED + timedelta(hours=3), ContactKind.TELEHEALTH)
    assert credit.within_7_days and credit.within_30_days


def test_which_measures_exclude_the_day_of_discharge_is_a_setting() -> None:
    strict = clock_for(FollowupMeasure.FUI, DISCHARGED, UTC_ZONE, same_day_excluded=(FollowupMeasure.FUH,))
    assert strict.first_day == 0
    excluded = clock_for(
        FollowupMeasure.FUI, DISCHARGED, UTC_ZONE, same_day_excluded=(FollowupMeasure.FUH, FollowupMeasure.FUI)
    )
    assert excluded.first_day == 1


def test_days_are_counted_on_the_calendar_of_the_measure_time_zone() -> None:
    chicago = ZoneInfo("America/Chicago")
    late_evening = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 21:00 on 2 March in Chicago
    clock = clock_for(FollowupMeasure.FUH, late_evening, chicago)
    next_morning = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 09:00 on 3 March in Chicago: day 1
    assert clock.day_number(next_morning) == 1
    assert credit_for(clock, next_morning, ContactKind.CLINICAL_VISIT).within_7_days
    assert clock.deadline_7d == datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=chicago)


def test_a_peer_support_visit_counts_unless_the_setting_says_otherwise() -> None:
    clock = clock_for(FollowupMeasure.FUI, DISCHARGED, UTC_ZONE)
    visit = DISCHARGED + timedelta(days=2)
    assert credit_for(clock, visit, ContactKind.PEER_SUPPORT_VISIT).within_7_days
    assert not credit_for(clock, visit, ContactKind.PEER_SUPPORT_VISIT, peer_support_counts=False).within_30_days


def test_without_a_measure_nothing_is_credited() -> None:
    clock = clock_for(None, DISCHARGED, UTC_ZONE)
    credit = credit_for(clock, DISCHARGED + timedelta(days=2), ContactKind.CLINICAL_VISIT)
    assert not credit.within_7_days and not credit.within_30_days
