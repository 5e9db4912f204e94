"""Every public HL7 v2 sample in the conformance corpus: the ACK it earns, the event it becomes, field by field.

The corpus lives beside the repository (see tests/hl7_messages.py); a missing corpus fails the suite, never skips it.
Reading, mapping and acknowledging are pure, so this needs no broker: the stored state a message is read against
(an earlier discharge, a planned case) is given explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.intake.hl7 import er7
from services.intake.hl7.ack import Problem, acknowledgement, response_code
from services.intake.hl7.adt import CaseState, Reading, event_for, read_message
from services.intake.hl7_mapping import DEFAULT_MAPPING
from services.intake.readmission import PriorDischarge
from shared.case_id import case_id_for
from shared.events import (
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    PatientReadmitted,
)
from shared.events.common import Address, Channel, Code
from shared.events.discharge import Identifier, PatientClass, Payer
from tests.hl7_messages import CORPUS, corpus_files

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Expect:
    ack: str  # MSA-1 of the answer
    event: type[Event] | None = None  # the event, against no stored state
    error: tuple[int, str] | None = None  # ERR-3 code and the ERR-2 location, as Problem.where names it


# The outcome every sample earns, and why (the quirks are in SOURCES.md beside the corpus).
EXPECTED: dict[str, Expect] = {
    # Admits without a known earlier discharge are taken (AA) and emit nothing: readmission needs one.
    "hapi_adt_a01_docs_uhn.hl7": Expect("AA"),
    "hapi_adt_a01_v22_pv1_45.hl7": Expect("AR", error=(203, "MSH-12")),  # v2.2: below the supported range
    "hapi_adt_a01_v22_runon_pid.hl7": Expect("AR", error=(203, "MSH-12")),  # v2.2, and a run-on PID besides
    "hapi_adt_a01_v26_zfa.hl7": Expect("AE", error=(101, "PV1-19")),  # "PV1|2|I||R": no visit number, no case
    "hapi_adt_a03_lodi.hl7": Expect("AA", DischargeRegistered),
    "hapi_adt_a03_struct_a05_bare_pv1.hl7": Expect("AE", error=(101, "PV1-19")),  # bare PV1; MSH-15 NE, MSH-16 AL
    "hapi_adt_a03_zzz_zsegment.hl7": Expect("AA", DischargeRegistered),  # the ZZZ segment is ignored
    "hapi_adt_a04_escape_T.hl7": Expect("AA"),
    "hapi_adt_a04_idx_ail.hl7": Expect("AE", error=(101, "PV1-19")),
    "hapi_adt_a04_msh8_security.hl7": Expect("AE", error=(100, "PV1")),  # no PV1 at all
    "hapi_adt_a08_aus_quoted_nulls.hl7": Expect("CE", error=(100, "PV1")),  # enhanced mode (MSH-15 AL): commit ACK
    "hapi_bar_p01_brace_subcomponent_NON_ADT.hl7": Expect("AR", error=(200, "MSH-9.1")),  # BAR, not ADT
    "hl7apy_adt_a01_v26.hl7": Expect("AE", error=(101, "PV1-19")),  # MSH-16 AL only: the application ACK
    "iguana_adt_a01_escT_msh4.hl7": Expect("AA"),
    "iguana_adt_a04.hl7": Expect("AA"),
    "lfh_adt_a01_msh2_doubled_backslash.hl7": Expect("CA"),  # MSH-2 "^~\\&" read as "^~\&"
    "ms_adt01_23_bom_v23.hl7": Expect("AA"),
    "ms_adt01_28_bom_v251.hl7": Expect("AE", error=(101, "PV1-19")),
    "ms_adt04_251_bom_redox.hl7": Expect("AE", error=(101, "PV1-19")),
    # PV1-13 = R: the facility flags a readmission itself.
    "ms_adt_a01_01.hl7": Expect("AA", PatientReadmitted),
    "ms_adt_a01_02.hl7": Expect("AA", PatientReadmitted),
    # PID-30 = Y: the patient died; no ride, peer or referral is planned, so downstream stops as for a cancel.
    "ms_adt_a03_01.hl7": Expect("AA", DischargeCancelled),
    "ms_adt_a03_02.hl7": Expect("AA", DischargeCancelled),
    "ms_adt_a04_02.hl7": Expect("AA", PatientReadmitted),
    "ms_adt_a08_01.hl7": Expect("AA"),  # an update of a stay with no discharge planned changes nothing
    "ms_adt_a13_01.hl7": Expect("AA", DischargeCancelled),
    "ms_adt_a13_02.hl7": Expect("AA", DischargeCancelled),
    "ms_adt_a16_01.hl7": Expect("AA", DischargePending),
    "pyhl7_adt_a01_hnam_multi_pid3.hl7": Expect("AA"),
    "simhospital_adt_a01_1.hl7": Expect("CA"),
    "simhospital_adt_a01_3.hl7": Expect("CA"),
    "uclh_adt_a01.hl7": Expect("CA"),
    "uclh_adt_a03.hl7": Expect("CA", DischargeRegistered),
    "uclh_adt_a03_death.hl7": Expect("CA", DischargeCancelled),
    "uclh_adt_a08.hl7": Expect("CA"),
    "uclh_adt_a13.hl7": Expect("CA", DischargeCancelled),
}


def sample(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def read(name: str) -> Reading:
    return read_message(sample(name), DEFAULT_MAPPING)


def event_of(name: str, state: CaseState | None = None) -> Event | None:
    reading = read(name)
    assert reading.adt is not None, reading.problem
    return event_for(reading.adt, state or CaseState())


def answer(reading: Reading) -> er7.Message:
    """The ACK as a sender receives it, parsed back with the same parser."""
    assert reading.header is not None
    header = reading.header
    code = response_code(header.accept_ack, header.application_ack, reading.problem)
    assert code is not None
    text = acknowledgement(header.msh, header.delimiters, code, reading.problem, now=NOW)
    return er7.parse(text.encode(header.charset if header.charset != "ascii" else "utf-8"))


def test_the_corpus_is_beside_the_repository_and_every_sample_has_an_expectation() -> None:
    assert CORPUS.is_dir(), f"conformance corpus missing at {CORPUS}: CI provides it beside the repository"
    names = {path.name for path in corpus_files()}
    assert names, f"no .hl7 sample in {CORPUS}"
    assert names == set(EXPECTED), (
        f"samples without an expectation: {sorted(names - set(EXPECTED))}; "
        f"expectations without a sample: {sorted(set(EXPECTED) - names)}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_earns_its_acknowledgement_and_event(name: str) -> None:
    expected = EXPECTED[name]
    reading = read(name)
    ack = answer(reading)
    msa = ack.segment("MSA")
    assert msa is not None
    assert msa.get(1) == expected.ack
    assert msa.get(2) == reading.header.control_id if reading.header else None  # MSA-2 echoes MSH-10
    err = ack.segment("ERR")
    if expected.error is None:
        assert reading.problem is None and err is None
        event = event_for(reading.adt, CaseState()) if reading.adt else None
        assert type(event) is expected.event if expected.event else event is None
    else:
        code, where = expected.error
        assert reading.problem is not None and reading.problem.where == where
        assert err is not None
        assert err.get(3) == str(code)
        assert err.get(3, 3) == "HL70357"
        assert err.get(4) == "E"
        problem = reading.problem
        assert err.get(2, 1) == problem.segment and err.get(2, 3) == (str(problem.field) if problem.field else None)


def test_the_acknowledgement_answers_the_sender_with_its_own_delimiters() -> None:
    reading = read("hapi_bar_p01_brace_subcomponent_NON_ADT.hl7")
    assert reading.header is not None
    text = acknowledgement(reading.header.msh, reading.header.delimiters, "AR", reading.problem, now=NOW)
    assert text.startswith("MSH|^~\\}|RADIOLOGY|MIR1|ADMISSION|ADT1|20261123093000+0000||ACK^P01^ACK|")
    assert "\rMSA|AR|589888ADT30502184808|only ADT messages are accepted\r" in text  # v2.4: MSA-3 still read
    # ERR-1 (v2.4's ELD) nests its code in subcomponents: the sender's "}" separates them.
    legacy = "MSH^1^9^200}Unsupported message type}HL70357"
    assert f"\rERR|{legacy}|MSH^1^9^^1|200^Unsupported message type^HL70357|E|" in text


def test_before_v2_5_the_error_is_also_given_in_err_1_and_msa_3() -> None:
    ack = answer(read("hapi_adt_a04_msh8_security.hl7"))  # v2.4
    err, msa = ack.segment("ERR"), ack.segment("MSA")
    assert err is not None and msa is not None
    assert err.get(1, 1) == "PV1" and err.get(1, 4) == "100" and err.get(1, 4, 3) == "HL70357"
    assert msa.get(3) == "the PV1 segment is missing"


# --------------------------------------------------------------------------------------------------- fields


def test_an_italian_a03_becomes_a_registered_discharge_field_by_field() -> None:
    event = event_of("hapi_adt_a03_lodi.hl7")
    assert isinstance(event, DischargeRegistered)
    details = event.discharge
    assert event.case_id == case_id_for("SANTER", "2008003369")
    assert (details.facility.id, details.facility.unit, details.visit_number) == ("SANTER", "6402DH", "2008003369")
    # Four PID-3 repetitions: the SSN stays out (minimum necessary), the "^^^^TEAM" one has no id.
    assert details.patient.identifiers == (
        Identifier(value="5520255", system="PK", type="PK"),
        Identifier(value="ZZZZZZ83M64Z148R", system="CF", type="CF"),
    )
    assert (details.patient.family_name, details.patient.given_name) == ("ZZZ", "ZZZ")
    assert (details.patient.birth_date, details.patient.sex) == (date(1983, 8, 24), "F")
    assert details.patient_class is PatientClass.INPATIENT
    assert details.admitted_at is None  # PV1-44 empty
    assert details.discharged_at == datetime(2008, 3, 3, 15, 8, tzinfo=UTC)  # no offset: the mapping's zone
    assert event.source.channel is Channel.HL7V2
    assert (event.source.message_id, event.source.trigger) == ("263206", "A03")


def test_a_z_segment_changes_nothing() -> None:
    plain, with_z = event_of("hapi_adt_a03_lodi.hl7"), event_of("hapi_adt_a03_zzz_zsegment.hl7")
    assert isinstance(plain, DischargeRegistered) and isinstance(with_z, DischargeRegistered)
    assert with_z.discharge == plain.discharge and with_z.case_id == plain.case_id


def test_an_epic_discharge_keeps_identifiers_times_and_disposition() -> None:
    event = event_of("uclh_adt_a03.hl7")
    assert isinstance(event, DischargeRegistered)
    d = event.discharge
    assert event.case_id == case_id_for("UCLH", "123412341234")
    assert d.patient.identifiers == (
        Identifier(value="40800000", system="MRENTR", type="MEDREC"),
        Identifier(value="9999999999", system="NHS", type="HN"),
    )
    assert (d.patient.family_name, d.patient.given_name, d.patient.birth_date) == (
        "AGBTESTD",
        "Satesta",
        date(1980, 6, 1),
    )
    assert d.patient.phone == "0200 000 0000"  # the first of two PID-13 repetitions
    assert d.patient.address == Address(city="London", postal_code="T5 1TT")
    assert d.admitted_at == datetime(2013, 2, 11, 10, 0, 52, tzinfo=UTC)
    assert d.discharged_at == datetime(2013, 2, 11, 10, 0, tzinfo=UTC)  # minute precision
    assert (d.disposition, d.discharged_to) == ("19", "1")
    assert d.facility.unit == "T11E"


def test_a_pending_discharge_carries_the_expected_time_with_its_offset() -> None:
    event = event_of("ms_adt_a16_01.hl7")
    assert isinstance(event, DischargePending)
    d = event.discharge
    plus_0110 = timezone(timedelta(hours=1, minutes=10))
    assert d.expected_discharge_at == datetime(2015, 2, 10, 11, 34, 19, tzinfo=plus_0110)
    assert d.admitted_at == datetime(2015, 2, 8, 11, 34, 19, tzinfo=plus_0110)
    assert d.discharged_at is None
    assert event.case_id == case_id_for("GHHSFacility", "40007716")  # MSH-4 namespace id, not its OID
    assert d.patient.identifiers == (Identifier(value="PATID1234", system="test1", type="MR"),)
    assert (d.patient.family_name, d.patient.given_name, d.patient.sex) == ("EVERYMAN", "ADAM", "M")
    assert d.patient.birth_date == date(1988, 8, 18)
    assert d.patient.address == Address(
        lines=("1000 Hospital Lane", "Ste. 123"), city="Ann Arbor", state="MI", postal_code="99999", country="USA"
    )
    assert d.patient.language == "ar"  # PID-15 "ara" (ISO 639-2) → ISO 639-1
    assert d.patient_class is PatientClass.PREADMIT
    assert d.facility.unit == "HUH AE OMU"  # PL-1 is an HD in v2.8: its namespace id
    assert d.diagnoses == (Code(code="422504002", system="SCT", display="Ischemic stroke(disorder)"),)
    assert d.payer == Payer(name="Blue Cross Blue Shield of Texas", plan_id="BAV", member_id="PN-145")
    assert d.discharged_to == "Homes"  # PV1-37 DLD.1 as a CWE: its text


def test_the_subcomponent_escape_is_read_inside_an_address() -> None:
    reading = read("hapi_adt_a04_escape_T.hl7")
    assert reading.adt is not None and reading.adt.details is not None
    address = reading.adt.details.patient.address
    assert address is not None and address.lines == ("123 FAKE STREET", "MARIO & LUIGI BROS PLACE")
    assert reading.adt.details.patient.phone == "(555)555-0123"


def test_an_escaped_sending_facility_names_the_case() -> None:
    reading = read("iguana_adt_a01_escT_msh4.hl7")
    assert reading.adt is not None
    assert reading.adt.facility_id == "E&R"
    assert reading.adt.case_id == case_id_for("E&R", "5192649")


def test_a_19_digit_visit_number_and_two_identifiers_from_the_simulator() -> None:
    reading = read("simhospital_adt_a01_3.hl7")
    assert reading.adt is not None and reading.adt.details is not None
    d = reading.adt.details
    assert d.visit_number == "3891480111568213875"
    assert [i.value for i in d.patient.identifiers] == ["2474909861", "1739738144"]
    assert (d.patient.family_name, d.patient.given_name) == ("Taylor", "Angela")


def test_cerner_payers_prefer_medicaid_and_names_map_languages() -> None:
    reading = read("pyhl7_adt_a01_hnam_multi_pid3.hl7")
    assert reading.adt is not None and reading.adt.details is not None
    d = reading.adt.details
    assert d.payer is not None and d.payer.is_medicaid and d.payer.name == "HIP COMP MCAID"
    assert d.patient.language == "en"  # "ENGLISH"
    assert [i.system for i in d.patient.identifiers] == ["MSH_MRN", "MSH_EMPI"]
    assert reading.adt.nulled == ("discharged_at",)  # PV1-45 = "" (explicit null)


def test_a_bom_and_trailing_spaces_do_not_leak_into_values() -> None:
    reading = read("ms_adt01_23_bom_v23.hl7")
    assert reading.adt is not None and reading.adt.details is not None
    d = reading.adt.details
    assert (reading.adt.facility_id, d.visit_number) == ("1", "40007716")
    assert d.admitted_at == datetime(2005, 1, 10, 4, 55, 2, tzinfo=timezone(timedelta(hours=7)))
    assert d.diagnoses == (Code(code="71596", system="I9", display="OSTEOARTHROS NOS-L/LEG"),)
    assert d.payer == Payer(name="MEDICARE", plan_id="MEDICARE", member_id="123121234A", is_medicaid=False)
    assert d.patient.language is None  # PID-15 "1": a local code with no meaning downstream


def test_medicaid_is_found_by_plan_type_on_a_third_insurance() -> None:
    message = er7.parse(sample("hapi_adt_a01_v26_zfa.hl7"))
    from services.intake.hl7.details import _payer  # the IN1 reading alone: this sample has no visit number

    payer = _payer(message.all("IN1"), DEFAULT_MAPPING)
    assert payer == Payer(name=None, plan_id=None, member_id="987654321L", is_medicaid=True)


def test_the_docs_example_reads_a_leading_space_language_text() -> None:
    reading = read("hapi_adt_a01_docs_uhn.hl7")
    assert reading.adt is not None and reading.adt.details is not None
    assert reading.adt.details.patient.language == "en"  # "E^ ENGLISH"
    assert reading.adt.details.payer == Payer(name="OHIP")


def test_a_cancel_discharge_names_the_visit_and_its_reason() -> None:
    event = event_of("uclh_adt_a13.hl7")
    assert isinstance(event, DischargeCancelled)
    assert (event.facility_id, event.visit_number, event.was_pending_only) == ("UCLH", "123412341234", False)
    assert event.case_id == case_id_for("UCLH", "123412341234")
    assert event.reason == "ADT_EVENT"  # EVN-4


def test_a_death_at_discharge_stops_planning() -> None:
    event = event_of("uclh_adt_a03_death.hl7")
    assert isinstance(event, DischargeCancelled)
    assert event.reason == "patient died (PID-30 / PV1-36)"
    assert event.case_id == case_id_for("UCLH", "123412341234")


def test_the_readmission_indicator_flags_an_admit_without_a_known_discharge() -> None:
    event = event_of("ms_adt_a01_01.hl7")
    assert isinstance(event, PatientReadmitted)
    assert (event.previous_case_id, event.days_since_discharge) == ("", 0)
    assert event.admitted_at == datetime(2015, 2, 8, 11, 34, 19, tzinfo=timezone(timedelta(hours=1, minutes=10)))


def test_an_admit_within_30_days_of_a_discharge_is_a_readmission() -> None:
    prior = PriorDischarge("earlier-case", datetime(2013, 2, 1, 9, 0, tzinfo=UTC))
    event = event_of("uclh_adt_a01.hl7", CaseState(prior_discharge=prior))
    assert isinstance(event, PatientReadmitted)
    assert (event.previous_case_id, event.days_since_discharge) == ("earlier-case", 10)
    assert event.case_id == case_id_for("UCLH", "123412341234")
    long_ago = PriorDischarge("earlier-case", datetime(2012, 12, 1, tzinfo=UTC))
    assert event_of("uclh_adt_a01.hl7", CaseState(prior_discharge=long_ago)) is None


def test_an_update_of_a_planned_stay_reports_what_changed() -> None:
    registered = event_of("uclh_adt_a03.hl7")
    assert isinstance(registered, DischargeRegistered)
    event = event_of("uclh_adt_a08.hl7", CaseState(planning_started=True, previous=registered.discharge))
    assert isinstance(event, DischargeUpdated)
    assert event.discharge.patient.family_name == "ORANG"
    assert event.discharge.disposition == "19"  # PV1-36 omitted in the A08: unchanged, not deleted
    assert {"patient.family_name", "patient.given_name", "patient.birth_date", "admitted_at"} <= set(
        event.changed_fields
    )
    assert "disposition" not in event.changed_fields


def test_line_ends_lf_or_crlf_read_the_same_as_cr() -> None:
    raw = sample("uclh_adt_a03.hl7")
    events = [
        event_of_bytes(raw.replace(b"\r", ending)) for ending in (b"\r", b"\n", b"\r\n")
    ]  # HL7 says CR; files and some senders use LF
    assert events[0] == events[1] == events[2]


def event_of_bytes(raw: bytes) -> Event | None:
    reading = read_message(raw, DEFAULT_MAPPING)
    assert reading.adt is not None
    return event_for(reading.adt, CaseState())


def test_a_batch_is_split_into_its_messages() -> None:
    batch = (
        b"FHS|^~\\&|EPIC|UCLH\rBHS|^~\\&|EPIC|UCLH\r"
        + sample("uclh_adt_a03.hl7")
        + sample("uclh_adt_a13.hl7")
        + b"BTS|2\rFTS|1\r"
    )
    assert er7.is_batch(batch)
    parts = er7.batch_messages(batch)
    assert [read_message(p, DEFAULT_MAPPING).header.control_id for p in parts] == ["eh", "100000"]  # type: ignore[union-attr]


def test_a_problem_names_its_place_for_people_too() -> None:
    assert Problem("content", 101, "x", "PV1", 19).where == "PV1-19"
    assert Problem("content", 100, "x", "PV1").where == "PV1"
    assert Problem("unsupported", 100, "x").where == "message"


def test_every_sample_is_read_without_an_unexpected_error() -> None:
    outcomes = {path.name: read_message(path.read_bytes(), DEFAULT_MAPPING) for path in corpus_files()}
    taken = [name for name, r in outcomes.items() if r.adt is not None]
    assert len(taken) == sum(1 for e in EXPECTED.values() if e.error is None)


def test_sample_paths_point_beside_the_repository() -> None:
    beside_the_repository = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "hl7v2"
    assert beside_the_repository == CORPUS
