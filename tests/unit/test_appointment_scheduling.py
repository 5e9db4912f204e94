"""The scheduling rule (earliest suitable slot from day 1 to day 7, else to day 30), reminder offsets, the visit's
lifecycle, and the FHIR shapes of appointments and imported slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import SecretStr

from services.appointment.db import Appointment, Provider
from services.appointment.domain import AppointmentStatus, TransitionRefused, attend, cancel, miss, reminder_plan
from services.appointment.fhir import FhirRejected, appointment_resource, searchset, slots_from_bundle, status_update
from services.appointment.measures import clock_for
from services.appointment.scheduling import Patient, SlotOption, Specialty, rank_slots, specialties_for, windows_for
from services.appointment.settings import AppointmentSettings
from shared.events.appointment import FollowupMeasure
from shared.events.discharge import RecoveryDomain

pytestmark = pytest.mark.unit

DISCHARGED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOME = Patient(home_lat=39.78, home_lon=-89.65)
MH = Specialty.OUTPATIENT_MENTAL_HEALTH


def slot(slot_id: str, after: timedelta, specialty: Specialty = MH, **kwargs: object) -> SlotOption:
    values: dict[str, object] = {"lat": 39.80, "lon": -89.64, "telehealth": False}
    values.update(kwargs)
    return SlotOption(slot_id, f"PRV-{slot_id}", specialty, DISCHARGED + after, **values)  # type: ignore[arg-type]


def choose(
    options: list[SlotOption],
    patient: Patient = HOME,
    measure: FollowupMeasure | None = FollowupMeasure.FUH,
    now: datetime = DISCHARGED,
    fallback: bool = False,
) -> list[str]:
    clock = clock_for(measure, DISCHARGED, ZoneInfo("UTC"))
    target, later = windows_for(clock, now, first_day=1, last_day=7, fallback_last_day=30, lead=timedelta(hours=2))
    specialties = specialties_for(measure, ())
    ranked = rank_slots(
        options, patient=patient, specialties=specialties, window=later if fallback else target, max_distance_km=40
    )
    return [option.slot_id for option in ranked]


def test_the_earliest_slot_from_day_1_wins_and_never_one_on_the_day_of_discharge() -> None:
    options = [
        slot("same-day", timedelta(hours=6)),
        slot("day-3", timedelta(days=3)),
        slot("day-1", timedelta(days=1, hours=1)),
        slot("day-9", timedelta(days=9)),
    ]
    assert choose(options) == ["day-1", "day-3"]
    assert choose(options, fallback=True) == ["day-1", "day-3", "day-9"]


def test_the_measure_specialty_comes_before_an_earlier_slot_of_a_fallback_specialty() -> None:
    options = [
        slot("primary", timedelta(days=1), Specialty.PRIMARY_CARE),
        slot("sud", timedelta(days=4), Specialty.SUBSTANCE_USE_TREATMENT),
    ]
    assert choose(options, measure=FollowupMeasure.FUA) == ["sud", "primary"]
    # FUH counts visits with a mental health provider only.
    assert choose([*options, slot("mh", timedelta(days=6))], measure=FollowupMeasure.FUH) == ["mh"]


def test_payer_language_and_distance_filter_unless_the_visit_is_by_telehealth() -> None:
    patient = Patient(language="es-MX", payer_plan_id="IL-MCD-01", is_medicaid=True, home_lat=39.78, home_lon=-89.65)
    options = [
        slot("english-only", timedelta(days=1), languages=("en",)),
        slot("wrong-payer", timedelta(days=1, hours=2), languages=("es",), payers=("BCBS-PPO",)),
        slot("far", timedelta(days=2), languages=("es",), lat=41.88, lon=-87.63),  # Chicago, ~290 km
        slot("far-telehealth", timedelta(days=3), languages=("es",), lat=41.88, lon=-87.63, telehealth=True),
        slot("medicaid", timedelta(days=4), languages=("en", "es"), payers=("medicaid",)),
    ]
    assert choose(options, patient=patient) == ["far-telehealth", "medicaid"]


def test_a_slot_too_soon_to_arrange_a_ride_is_skipped() -> None:
    now = DISCHARGED + timedelta(days=1, hours=8)  # 17:00 on day 1
    options = [slot("in-1h", timedelta(days=1, hours=9)), slot("in-4h", timedelta(days=1, hours=12))]
    assert choose(options, now=now) == ["in-4h"]


def test_without_a_measure_the_recovery_domains_choose_the_specialty_then_primary_care() -> None:
    assert specialties_for(None, [RecoveryDomain.SUBSTANCE_USE]) == (
        Specialty.SUBSTANCE_USE_TREATMENT,
        Specialty.PRIMARY_CARE,
    )
    assert specialties_for(None, []) == (Specialty.PRIMARY_CARE,)


def test_reminders_go_at_each_offset_and_none_that_is_already_past() -> None:
    visit = DISCHARGED + timedelta(days=4)
    planned = reminder_plan(visit, (24, 72), DISCHARGED)
    assert [(r.offset_hours, r.due_at) for r in planned] == [
        (72, visit - timedelta(hours=72)),
        (24, visit - timedelta(hours=24)),
    ]
    assert [r.offset_hours for r in reminder_plan(visit, (72, 24), visit - timedelta(hours=30))] == [24]
    assert reminder_plan(visit, (72, 24), visit - timedelta(hours=10)) == []


def test_reminder_offsets_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPOINTMENT_REMINDER_OFFSETS_HOURS", "24, 72,2")
    settings = AppointmentSettings(api_keys=SecretStr("unit:" + "k" * 32))
    assert settings.reminder_offsets_hours == (72, 24, 2)
    monkeypatch.setenv("APPOINTMENT_REMINDER_OFFSETS_HOURS", "24,-1")
    with pytest.raises(ValueError, match="positive"):
        AppointmentSettings(api_keys=SecretStr("unit:" + "k" * 32))


def test_a_visit_is_attended_or_missed_once_and_a_finished_one_cannot_be_cancelled() -> None:
    start = DISCHARGED + timedelta(days=2)
    assert attend(AppointmentStatus.BOOKED)
    assert not attend(AppointmentStatus.ATTENDED)  # a repeated request changes nothing
    with pytest.raises(TransitionRefused):
        attend(AppointmentStatus.CANCELLED)
    with pytest.raises(TransitionRefused, match="not started"):
        miss(AppointmentStatus.BOOKED, start, start - timedelta(minutes=1))
    assert miss(AppointmentStatus.BOOKED, start, start)
    with pytest.raises(TransitionRefused):
        cancel(AppointmentStatus.ATTENDED)


def test_appointments_export_as_a_valid_fhir_searchset() -> None:
    now = DISCHARGED
    provider = Provider(id="PRV-1", organization="Springfield CMHC", specialty=MH, lat=39.8, lon=-89.6, updated_at=now)
    appointment = Appointment(
        id="AP-1",
        case_id="case-1",
        slot_id="SL-1",
        provider_id="PRV-1",
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1),
        status=AppointmentStatus.ATTENDED,
        measure="FUH",
        booked_at=now,
        updated_at=now,
    )
    resource = appointment_resource(appointment, provider)
    assert resource["status"] == "fulfilled"
    assert resource["participant"][0]["actor"]["reference"] == "Patient/case-1"
    bundle = searchset([resource], base_url="http://h/fhir", self_url="http://h/fhir/Appointment?patient=case-1")
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "searchset" and parsed.total == 1


def test_fhir_status_updates_map_to_attended_missed_and_cancelled() -> None:
    base = {"resourceType": "Appointment", "id": "AP-1", "participant": [{"status": "accepted"}]}
    assert status_update({**base, "status": "fulfilled"}, "AP-1")[0] == AppointmentStatus.ATTENDED
    assert status_update({**base, "status": "noshow"}, "AP-1")[0] == AppointmentStatus.MISSED
    with pytest.raises(FhirRejected, match="cannot be set"):
        status_update({**base, "status": "waitlist"}, "AP-1")
    with pytest.raises(FhirRejected, match="differs"):
        status_update({**base, "status": "noshow"}, "AP-2")


def test_slots_import_from_a_bundle_of_schedules_and_slots() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Schedule", "id": "sch-1", "actor": [{"reference": "Practitioner/PRV-1"}]}},
            {
                "resource": {
                    "resourceType": "Slot",
                    "id": "SL-1",
                    "schedule": {"reference": "Schedule/sch-1"},
                    "status": "free",
                    "start": "2026-03-04T15:00:00Z",
                    "end": "2026-03-04T16:00:00Z",
                    "serviceType": [
                        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"}]}
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "Slot",
                    "id": "SL-2",
                    "schedule": {"reference": "Schedule/sch-1"},
                    "status": "busy-unavailable",
                    "start": "2026-03-05T15:00:00Z",
                    "end": "2026-03-05T16:00:00Z",
                }
            },
        ],
    }
    first, second = slots_from_bundle(bundle, default_minutes=60)
    assert (first.id, first.provider_id, first.telehealth, first.bookable) == ("SL-1", "PRV-1", True, True)
    assert first.starts_at == datetime(2026, 3, 4, 15, tzinfo=UTC)
    assert (second.telehealth, second.bookable) == (False, False)
    orphan = {**bundle, "entry": bundle["entry"][1:]}
    with pytest.raises(FhirRejected, match="Schedule"):
        slots_from_bundle(orphan, default_minutes=60)
