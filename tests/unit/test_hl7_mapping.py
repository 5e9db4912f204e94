"""The HL7 mapping: planning needs from standard fields and code tables, the triggers without a sample, overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake.changes import changed_fields, merge_update
from services.intake.hl7.ack import Problem, response_code
from services.intake.hl7.adt import CaseState, event_for, read_message
from services.intake.hl7.er7 import Delimiters
from services.intake.hl7_mapping import DEFAULT_MAPPING, Hl7Mapping, load_mapping
from services.intake.readmission import PriorDischarge
from shared.events import AdmissionCancelled, DischargeCancelled, DischargePending, DischargeUpdated, Event
from shared.events.discharge import Destination, Mobility, Need, RecoveryDomain, RiskFlag
from tests.hl7_messages import Stay, adt

pytestmark = pytest.mark.unit


def event(raw: bytes, mapping: Hl7Mapping = DEFAULT_MAPPING, state: CaseState | None = None) -> Event | None:
    reading = read_message(raw, mapping)
    assert reading.adt is not None, reading.problem
    return event_for(reading.adt, state or CaseState())


def pending(stay: Stay, mapping: Hl7Mapping = DEFAULT_MAPPING) -> DischargePending:
    result = event(adt("A16", stay), mapping)
    assert isinstance(result, DischargePending)
    return result


def test_a_detox_stay_with_opioid_dependence_is_a_part_2_substance_use_plan() -> None:
    planning = pending(Stay(hospital_service="CD", diagnoses=(("F11.20", "Opioid dependence"),))).discharge.planning
    assert planning.recovery_domains == (RecoveryDomain.SUBSTANCE_USE,)
    assert planning.part2_protected  # 42 CFR Part 2 programme
    assert set(planning.needs) >= {Need.TREATMENT, Need.PEER_GROUP}
    assert planning.destination is Destination.HOME  # PV1-36 "01"


def test_sdoh_diagnoses_raise_risks_and_needs() -> None:
    stay = Stay(
        hospital_service="PSY",
        disposition="21",  # to court or law enforcement
        diagnoses=(("Z59.0", "Homelessness"), ("R45.851", "Suicidal ideations"), ("F32.9", "Depression")),
    )
    planning = pending(stay).discharge.planning
    assert planning.recovery_domains == (
        RecoveryDomain.MENTAL_HEALTH,
        RecoveryDomain.JUSTICE_INVOLVEMENT,
    )
    assert planning.risk_flags == (RiskFlag.HOMELESSNESS, RiskFlag.SUICIDE_RISK)
    assert Need.HOUSING in planning.needs and Need.CONTINUED_CARE in planning.needs
    assert not planning.part2_protected
    assert planning.destination is Destination.OTHER


def test_icd9_codes_are_not_read_as_icd10() -> None:
    raw = adt("A16", Stay(hospital_service="MED", diagnoses=())).replace(b"\rIN1|", b"\rDG1|1||F11.20^x^I9\rIN1|")
    assert b"DG1|1||F11.20^x^I9" in raw
    assert pending_from(raw).discharge.planning.recovery_domains == ()


def pending_from(raw: bytes) -> DischargePending:
    result = event(raw)
    assert isinstance(result, DischargePending)
    return result


def test_ambulatory_status_sets_the_mobility_for_the_ride() -> None:
    segments = adt("A16", Stay()).split(b"\r")
    pv1 = next(i for i, s in enumerate(segments) if s.startswith(b"PV1"))
    fields = segments[pv1].split(b"|")
    fields[15] = b"A0~A2"  # no limitation, wheelchair bound
    segments[pv1] = b"|".join(fields)
    assert pending_from(b"\r".join(segments)).discharge.planning.mobility is Mobility.WHEELCHAIR


def test_medicaid_is_recognised_by_name_when_the_plan_type_is_local() -> None:
    raw = adt("A16", Stay(payer="MEDI-CAL")).replace(b"|MC|", b"|HMO|")
    payer = pending_from(raw).discharge.payer
    assert payer is not None and payer.is_medicaid and payer.member_id == "MCD1234567"


def test_a25_cancels_only_the_pending_discharge_and_a11_the_admission() -> None:
    stay = Stay()
    cancelled = event(adt("A25", stay))
    assert isinstance(cancelled, DischargeCancelled) and cancelled.was_pending_only
    admission = event(adt("A11", stay))
    assert isinstance(admission, AdmissionCancelled)
    assert (admission.facility_id, admission.visit_number) == (stay.facility, stay.visit_number)


def test_cancels_need_no_patient_data() -> None:
    raw = b"\r".join(s for s in adt("A13", Stay()).split(b"\r") if not s.startswith(b"PID"))
    assert isinstance(event(raw), DischargeCancelled)


def test_an_update_keeps_omitted_values_and_clears_explicit_nulls() -> None:
    stay = Stay()
    before = pending(stay).discharge
    raw = adt("A08", replace(stay, phone="(217)555-9999", disposition=None)).replace(b"|(217)555-9999|", b'|""|')
    updated = event(raw, state=CaseState(planning_started=True, previous=before))
    assert isinstance(updated, DischargeUpdated)
    assert updated.discharge.patient.phone is None  # "" deletes (HL7 v2.5 §2.5.3)
    assert updated.discharge.disposition == "01"  # omitted: unchanged
    assert updated.changed_fields == ("patient.phone",)


def test_an_update_without_a_known_version_reports_only_deletions() -> None:
    after = pending(Stay()).discharge
    assert changed_fields(None, after, ["patient.phone"]) == ("patient.phone",)
    assert merge_update(None, after, ()) == after


def test_a_discharge_older_than_30_days_is_not_a_readmission() -> None:
    stay = Stay(admitted_at=datetime(2026, 11, 20, tzinfo=UTC))
    recent = PriorDischarge("before", datetime(2026, 10, 21, tzinfo=UTC))
    old = PriorDischarge("before", datetime(2026, 10, 20, 23, 0, tzinfo=UTC))
    assert event(adt("A01", stay), state=CaseState(prior_discharge=recent)) is not None
    assert event(adt("A01", stay), state=CaseState(prior_discharge=old)) is None


def test_an_ignored_trigger_is_read_without_an_event() -> None:
    mapping = Hl7Mapping(ignored_triggers=frozenset({"A02"}))
    reading = read_message(adt("A02", Stay()), mapping)
    assert reading.ignored and reading.problem is None
    refused = read_message(adt("A02", Stay()), DEFAULT_MAPPING)
    assert refused.problem is not None and refused.problem.code == 201


def test_times_without_an_offset_are_read_in_the_facility_zone() -> None:
    raw = adt("A16", Stay(facility="CHICAGO_PSY", expected_discharge_at=None))
    raw = raw.replace(b"\rPV2\r", b"\rPV2|||||||||20261123140000\r")
    mapping = Hl7Mapping(facility_timezones={"chicago_psy": "America/Chicago"})
    expected = pending_from_mapping(raw, mapping).discharge.expected_discharge_at
    assert expected == datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 14:00 CST


def pending_from_mapping(raw: bytes, mapping: Hl7Mapping) -> DischargePending:
    result = event(raw, mapping)
    assert isinstance(result, DischargePending)
    return result


def test_a_mapping_file_overrides_tables_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "hl7.yaml"
    path.write_text("processing_ids: [P]\ndisposition_destinations:\n  HOMELESS SHELTER: shelter\n")
    mapping = load_mapping(path)
    assert mapping.processing_ids == frozenset({"P"})
    assert mapping.disposition_destinations == {"HOMELESS SHELTER": Destination.SHELTER}
    assert mapping.service_domains == DEFAULT_MAPPING.service_domains  # untouched keys keep their defaults
    planning = pending(Stay(disposition="Homeless shelter"), mapping).discharge.planning
    assert planning.destination is Destination.SHELTER and Need.HOUSING in planning.needs


def test_a_mapping_with_an_unknown_zone_or_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        Hl7Mapping(default_timezone="Mars/Olympus")
    path = tmp_path / "hl7.yaml"
    path.write_text("no_such_key: 1\n")
    with pytest.raises(ValueError, match="no_such_key"):
        load_mapping(path)


def test_a_training_message_is_refused_where_only_production_is_taken() -> None:
    reading = read_message(adt("A16", Stay(), processing_id="T"), Hl7Mapping(processing_ids=frozenset({"P"})))
    assert reading.problem is not None and (reading.problem.code, reading.problem.where) == (202, "MSH-11")


def test_odd_delimiters_still_map_every_field() -> None:
    stay = Stay(street="1 Main St & Co", family_name="O'Brien^Smith")
    odd = pending_from(adt("A16", stay, delimiters=Delimiters("!", "@", "*", "%", "$")))
    assert odd.discharge == pending(stay).discharge


def test_ids_longer_than_the_archive_keeps_are_refused() -> None:
    reading = read_message(adt("A16", Stay(), control_id="C" * 201), DEFAULT_MAPPING)
    assert reading.problem is not None and (reading.problem.code, reading.problem.where) == (104, "MSH-10")


@pytest.mark.parametrize(
    ("accept_ack", "application_ack", "ok", "error"),
    [
        (None, None, "AA", "AE"),  # original mode
        ("AL", "NE", "CA", "CE"),
        ("ER", "NE", None, "CE"),  # commit ACK on errors only
        ("SU", None, "CA", None),
        ("NE", "AL", "AA", "AE"),  # no commit ACK asked: the application ACK answers
        ("NE", "ER", None, "AE"),
        ("NE", "NE", None, None),  # nothing asked, nothing sent
    ],
)
def test_enhanced_mode_answers_as_msh_15_and_msh_16_ask(
    accept_ack: str | None, application_ack: str | None, ok: str | None, error: str | None
) -> None:
    problem = Problem("content", 101, "x", "PV1", 19)
    assert response_code(accept_ack, application_ack, None) == ok
    assert response_code(accept_ack, application_ack, problem) == error
