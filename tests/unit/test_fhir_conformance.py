"""FHIR mapping against the real public samples in /work/shared/conformance/fhir (read in place, never copied).

Every sample either becomes the right event or is rejected with the reason a sender can act on. The corpus holds no
Da Vinci discharge notification, so one is derived from the admit example the way the guide's own discharge example
(discharge-notification-message-bundle-01) differs from it: eventCoding, Encounter status, class and disposition.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.intake.fhir import (
    Admission,
    Mapped,
    Rejected,
    changed_fields,
    encounter_event,
    message_event,
    revise,
)
from shared.case_id import case_id_for
from shared.events import DischargeCancelled, DischargePending, DischargeRegistered, DischargeUpdated
from shared.events.discharge import Destination, Need, PatientClass, RecoveryDomain

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parents[2].parent / "shared" / "conformance" / "fhir"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOLY_FAMILY_ORG_ID = "a9f20dc1-5147-3789-bcef-bbecb41c5983"  # the first identifier of the serviceProvider Organization
ELDEN_VISIT = "Elden718Halvorson12420181021T2122150700"
NUBC = "http://www.nubc.org/patient-discharge"

ADMIT = "davinci-notifications/admit-notification-message-bundle-01.json"
ADMIT_DEVICE_SENDER = "davinci-notifications/admit-notification-message-bundle-02.json"
ADMIT_VIA_INTERMEDIARY = "davinci-notifications/admit-notification-intermediate-transmit-bundle.json"
ADMIT_TRANSLATED = "davinci-notifications/admit-notification-intermediate-translate-bundle.json"
TRANSFER = "davinci-notifications/transfer-notification-message-bundle-01.json"
SYNTHEA = (
    "synthea/Roland928_Nienow652_13b1a0f2-dceb-37a2-f32b-f0ca6e3b9925.json",
    "synthea/Cris921_Rath779_d4519c92-d241-b2b2-7360-291d60be699e.json",
)

# sample → (where it is posted, HTTP status, the FHIRPaths named, a phrase of the reason)
REJECTIONS: dict[str, tuple[str, int, set[str], str]] = {
    SYNTHEA[0]: ("message", 422, {"Bundle.type"}, "'batch'"),
    SYNTHEA[1]: ("message", 422, {"Bundle.type"}, "'batch'"),
    # R4 core examples: finished ambulatory visits without period.end, references that resolve nowhere.
    "r4-core-examples/encounter-example-f001-heart.json": (
        "encounter",
        422,
        {"Encounter.serviceProvider", "Encounter.period.end", "Encounter.subject"},
        "discharge time",
    ),
    "r4-core-examples/encounter-example-f002-lung.json": (
        "encounter",
        422,
        {"Encounter.serviceProvider", "Encounter.period.end", "Encounter.subject"},
        "discharge time",
    ),
    "r4-core-examples/encounter-example-f003-abscess.json": (
        "encounter",
        422,
        {"Encounter.serviceProvider", "Encounter.period.end", "Encounter.subject"},
        "discharge time",
    ),
    # finished with a date-only period.end and no dischargeDisposition.
    "r4-core-examples/encounter-example-f203-20130311.json": (
        "encounter",
        422,
        {
            "Encounter.serviceProvider",
            "Encounter.period.end",
            "Encounter.hospitalization.dischargeDisposition",
            "Encounter.subject",
        },
        "no time of day",
    ),
    # in-progress with no expected end and no identifier.
    "r4-core-examples/encounter-example-emerg.json": (
        "encounter",
        422,
        {"Encounter.serviceProvider", "Encounter.identifier", "Encounter.period.end", "Encounter.subject"},
        "expected end",
    ),
    "us-core/encounter-1036.json": (
        "encounter",
        422,
        {"Encounter.serviceProvider", "Encounter.identifier", "Encounter.period.end", "Encounter.subject"},
        "expected end",
    ),
    "us-core/encounter-delivery.json": (
        "encounter",
        422,
        {
            "Encounter.serviceProvider",
            "Encounter.identifier",
            "Encounter.period.end",
            "Encounter.hospitalization.dischargeDisposition",
            "Encounter.subject",
        },
        "discharge time",
    ),
}


def sample_path(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.fail(f"conformance sample {path} is missing: the public FHIR corpus must be at {CORPUS}")
    return path


def sample(name: str) -> dict[str, Any]:
    return json.loads(sample_path(name).read_bytes())


def post(kind: str, body: dict[str, Any] | bytes, now: datetime = NOW) -> Mapped:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (message_event if kind == "message" else encounter_event)(raw, now=now)


def rejection(kind: str, body: dict[str, Any] | bytes) -> Rejected:
    with pytest.raises(Rejected) as caught:
        post(kind, body)
    return caught.value


def as_discharge(bundle: dict[str, Any]) -> dict[str, Any]:
    """The admit notification as the guide's discharge example has it."""
    discharge = copy.deepcopy(bundle)
    discharge["id"] = bundle["id"].replace("admit", "discharge")
    discharge["entry"][0]["resource"]["eventCoding"] = {
        "system": "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event",
        "code": "notification-discharge",
        "display": "Discharge Notification",
    }
    encounter = encounter_of(discharge)
    encounter["status"] = "finished"
    encounter["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
    encounter["hospitalization"] = {
        "dischargeDisposition": {
            "coding": [{"system": NUBC, "code": "1", "display": "Discharge to Home or Self Care (Routine Discharge)"}]
        }
    }
    return discharge


def encounter_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")


def self_contained(encounter: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An R4 example Encounter made postable on its own: facility and patient as logical references."""
    body = copy.deepcopy(encounter)
    body["serviceProvider"] = {
        "identifier": {"system": "urn:oid:2.16.840.1.113883.4.6", "value": "BURGERS_UMC"},
        "display": "Burgers University Medical Center",
    }
    body["subject"] = {"identifier": {"system": "http://example.org/mrn", "value": "MRN-F001"}, "display": "P. van"}
    body.update(changes)
    return body


# Admit and transfer notifications are taken as admissions (a readmission check), never as discharges.
ADMISSIONS = {
    ADMIT: "admit",
    ADMIT_DEVICE_SENDER: "admit",
    ADMIT_VIA_INTERMEDIARY: "admit",
    ADMIT_TRANSLATED: "admit",
    TRANSFER: "transfer",
}


def test_the_corpus_is_in_place_and_every_sample_has_an_expected_outcome() -> None:
    assert CORPUS.is_dir(), f"the public FHIR corpus must be at {CORPUS}"
    found = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json")}
    expected = set(REJECTIONS) | set(ADMISSIONS)
    assert found == expected, "a sample without an expected outcome (or an expected one missing)"


@pytest.mark.parametrize("name", sorted(ADMISSIONS))
def test_admit_and_transfer_notifications_are_admissions_of_the_same_stay(name: str) -> None:
    admission = post("message", sample_path(name).read_bytes()).event
    assert isinstance(admission, Admission)
    assert admission.kind == ADMISSIONS[name]
    assert (admission.facility_id, admission.visit_number) == (
        HOLY_FAMILY_ORG_ID,
        "Elden718Halvorson12420181021T2122150700",
    )
    assert admission.case_id == case_id_for(admission.facility_id, admission.visit_number)
    assert admission.admitted_at == datetime(2018, 10, 22, 4, 22, 15, tzinfo=UTC)
    mrn = next(i for i in admission.identifiers if i.type == "MR")
    assert (mrn.system, mrn.value) == ("http://example.org/fhir/mrn", "06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b")
    assert admission.flagged is False and admission.source.trigger == f"notification-{ADMISSIONS[name]}"


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_each_public_sample_that_is_no_discharge_is_rejected_with_its_reason(name: str) -> None:
    kind, status, expressions, phrase = REJECTIONS[name]
    rejected = rejection(kind, sample_path(name).read_bytes())
    assert rejected.status == status
    assert {issue.expression for issue in rejected.issues} == expressions
    assert any(phrase in issue.diagnostics for issue in rejected.issues), rejected.issues


def test_a_synthea_patient_bundle_posted_as_an_encounter_names_its_resource_type() -> None:
    rejected = rejection("encounter", sample_path(SYNTHEA[0]).read_bytes())
    assert rejected.status == 400
    assert "expected a Encounter resource, got 'Bundle'" in rejected.issues[0].diagnostics


def test_synthea_encounters_posted_one_by_one_are_visits_not_discharges() -> None:
    for entry in sample(SYNTHEA[0])["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            rejected = rejection("encounter", entry["resource"])
            assert {"Encounter.identifier", "Encounter.hospitalization.dischargeDisposition"} <= {
                issue.expression for issue in rejected.issues
            }


def test_the_da_vinci_discharge_notification_registers_the_discharge_with_its_details() -> None:
    mapped = post("message", as_discharge(sample(ADMIT)))

    event = mapped.event
    assert isinstance(event, DischargeRegistered)
    details = event.discharge
    assert details.facility.id == HOLY_FAMILY_ORG_ID
    assert details.facility.name == "HOLY FAMILY HOSPITAL"
    assert details.facility.unit == "HOLY FAMILY HOSPITAL"  # Encounter.location, the Location's name
    assert details.visit_number == ELDEN_VISIT
    assert event.case_id == case_id_for(HOLY_FAMILY_ORG_ID, ELDEN_VISIT)
    assert details.patient_class is PatientClass.INPATIENT
    assert details.admitted_at == datetime(2018, 10, 22, 4, 22, 15, tzinfo=UTC)
    assert details.discharged_at == datetime(2018, 10, 22, 5, 22, 15, tzinfo=UTC)
    assert details.expected_discharge_at is None
    assert details.disposition == "01"  # NUBC "1" as sent, read as the two-digit UB-04 code
    assert details.planning.destination is Destination.HOME

    patient = details.patient
    assert (patient.family_name, patient.given_name) == ("Halvorson124", "Elden718")
    assert patient.birth_date == date(2000, 10, 15)
    assert patient.sex == "M"
    assert patient.phone == "555-903-1143"
    assert patient.language == "en"
    assert patient.address is not None and patient.address.lines == ("715 Crona Corner",)
    assert ("06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b", "MR") in {(i.value, i.type) for i in patient.identifiers}
    assert "999-87-1037" not in {i.value for i in patient.identifiers}, "the SSN never leaves intake"

    assert [(d.code, d.display) for d in details.diagnoses] == [("1234", "Examplitis")]
    assert details.payer is not None
    assert (details.payer.name, details.payer.member_id, details.payer.is_medicaid) == (
        "Blue Cross Blue Shield",
        "12345",
        False,
    )
    assert event.source.message_id == mapped.message_id == "discharge-notification-message-bundle-01"
    assert event.source.trigger == "notification-discharge"


@pytest.mark.parametrize("name", [ADMIT_DEVICE_SENDER, ADMIT_VIA_INTERMEDIARY, ADMIT_TRANSLATED])
def test_the_same_stay_through_an_intermediary_or_another_sender_is_the_same_case(name: str) -> None:
    direct = post("message", as_discharge(sample(ADMIT))).event
    relayed = post("message", as_discharge(sample(name))).event
    # The intermediary's MessageHeader.sender differs; the facility comes from Encounter.serviceProvider first.
    assert relayed.case_id == direct.case_id


def test_without_a_service_provider_the_message_sender_is_the_facility() -> None:
    bundle = as_discharge(sample(ADMIT))
    del encounter_of(bundle)["serviceProvider"]
    event = post("message", bundle).event
    assert isinstance(event, DischargeRegistered)
    assert event.discharge.facility.id == HOLY_FAMILY_ORG_ID  # MessageHeader.sender → the same Organization


def test_without_service_provider_or_sender_organization_the_source_name_is_the_facility() -> None:
    bundle = as_discharge(sample(ADMIT_DEVICE_SENDER))  # sender is a Device
    del encounter_of(bundle)["serviceProvider"]
    event = post("message", bundle).event
    assert isinstance(event, DischargeRegistered)
    assert event.discharge.facility.id == "Acme Central Patient Registry"


def test_a_discharge_notification_for_an_encounter_still_in_progress_names_the_status() -> None:
    bundle = as_discharge(sample(ADMIT))
    encounter_of(bundle)["status"] = "in-progress"
    rejected = rejection("message", bundle)
    assert rejected.status == 422
    assert [issue.expression for issue in rejected.issues] == ["Encounter.status"]


def test_a_discharge_notification_without_discharge_time_names_period_end() -> None:
    bundle = as_discharge(sample(ADMIT))
    del encounter_of(bundle)["period"]["end"]
    rejected = rejection("message", bundle)
    assert [issue.expression for issue in rejected.issues] == ["Encounter.period.end"]


def test_an_invalid_date_is_a_400_naming_the_entry_element() -> None:
    bundle = as_discharge(sample(ADMIT))
    encounter_of(bundle)["period"]["end"] = "yesterday"
    rejected = rejection("message", bundle)
    assert rejected.status == 400
    assert [issue.expression for issue in rejected.issues] == ["Bundle.entry[1].resource.period.end"]


def test_an_unknown_resource_type_in_a_bundle_is_named_not_crashed_on() -> None:
    bundle = as_discharge(sample(ADMIT))
    bundle["entry"][3]["resource"]["resourceType"] = "Ward"
    rejected = rejection("message", bundle)
    assert rejected.status == 400
    assert [issue.expression for issue in rejected.issues] == ["Bundle.entry[3].resource"]


def test_a_body_that_is_not_json_is_a_400() -> None:
    assert rejection("encounter", b"MSH|^~\\&|").status == 400


def test_a_finished_r4_example_made_self_contained_registers_the_discharge() -> None:
    heart = sample("r4-core-examples/encounter-example-f001-heart.json")
    body = self_contained(heart, period={"start": "2026-11-20T09:00:00+01:00", "end": "2026-11-23T11:30:00+01:00"})
    mapped = post("encounter", body)

    event = mapped.event
    assert isinstance(event, DischargeRegistered)
    assert event.case_id == case_id_for("BURGERS_UMC", "v1451")
    assert event.discharge.discharged_at == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    assert event.discharge.disposition == "306689006"  # SNOMED "Discharge to home", kept as sent
    assert event.discharge.planning.destination is Destination.HOME
    assert event.discharge.patient_class is PatientClass.OUTPATIENT  # class AMB
    assert [i.value for i in event.discharge.patient.identifiers] == ["MRN-F001"]
    assert mapped.message_id.startswith("sha256:"), "no meta.versionId: the body's digest is the message id"


def test_an_encounter_carrying_its_patient_and_organization_as_contained_resources_registers() -> None:
    patient = next(e["resource"] for e in sample(ADMIT)["entry"] if e["resource"]["resourceType"] == "Patient")
    organization = {
        "resourceType": "Organization",
        "id": "org",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.6", "value": "9941339100"}],
        "name": "HOLY FAMILY HOSPITAL",
    }
    body = {
        **sample("r4-core-examples/encounter-example-f001-heart.json"),
        "contained": [{**patient, "id": "pat"}, organization],
        "subject": {"reference": "#pat"},
        "serviceProvider": {"reference": "#org"},
        "period": {"end": "2026-11-23T11:30:00+01:00"},
    }
    event = post("encounter", body).event
    assert isinstance(event, DischargeRegistered)
    assert event.case_id == case_id_for("9941339100", "v1451")
    assert event.discharge.facility.name == "HOLY FAMILY HOSPITAL"
    assert event.discharge.patient.family_name == "Halvorson124"


def test_an_encounter_with_a_version_is_identified_by_it() -> None:
    heart = sample("r4-core-examples/encounter-example-f001-heart.json")
    body = self_contained(heart, period={"end": "2026-11-23T11:30:00+01:00"}, meta={"versionId": "7"})
    assert post("encounter", body).message_id == "Encounter/f001/_history/7"


def test_an_in_progress_encounter_with_a_future_end_is_a_pending_discharge() -> None:
    encounter = self_contained(
        sample("us-core/encounter-1036.json"),
        identifier=[{"system": "http://example.org/visits", "value": "V-1036"}],
        period={"start": "2026-11-20T08:00:00-05:00", "end": "2026-11-25T10:00:00-05:00"},
    )
    event = post("encounter", encounter).event
    assert isinstance(event, DischargePending)
    assert event.discharge.expected_discharge_at == datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert event.discharge.discharged_at is None
    assert event.discharge.disposition == "01"  # US Core's NUBC system URI
    assert event.discharge.facility.unit == "Holy Family Hospital"


def test_the_r5_planned_end_extension_makes_an_encounter_pending() -> None:
    encounter = self_contained(
        sample("us-core/encounter-1036.json"),
        identifier=[{"value": "V-1036"}],
        extension=[
            {
                "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate",
                "valueDateTime": "2026-11-26T09:00:00Z",
            }
        ],
    )
    event = post("encounter", encounter).event
    assert isinstance(event, DischargePending)
    assert event.discharge.expected_discharge_at == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_an_in_progress_encounter_whose_end_has_passed_is_told_to_send_finished() -> None:
    encounter = self_contained(
        sample("us-core/encounter-1036.json"), identifier=[{"value": "V-1036"}], period={"end": "2026-11-01T10:00:00Z"}
    )
    rejected = rejection("encounter", encounter)
    assert [issue.expression for issue in rejected.issues] == ["Encounter.period.end"]
    assert "finished" in rejected.issues[0].diagnostics


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_a_withdrawn_encounter_cancels_the_discharge(status: str) -> None:
    heart = sample("r4-core-examples/encounter-example-f001-heart.json")
    event = post("encounter", self_contained(heart, status=status)).event
    assert isinstance(event, DischargeCancelled)
    assert (event.facility_id, event.visit_number) == ("BURGERS_UMC", "v1451")
    assert event.case_id == case_id_for("BURGERS_UMC", "v1451")
    assert event.reason == f"Encounter.status {status}"


def test_diagnoses_coverage_and_security_labels_fill_the_planning_needs() -> None:
    bundle = as_discharge(sample(ADMIT))
    condition = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    condition["code"] = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "5602001", "display": "Opioid abuse"},
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F11.20", "display": "Opioid dependence"},
        ]
    }
    condition["meta"]["security"] = [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}]
    coverage = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage")
    coverage["type"] = {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "2", "display": "MEDICAID"}]}
    encounter_of(bundle)["hospitalization"]["specialArrangement"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements", "code": "wheel"}
            ]
        }
    ]

    details = post("message", bundle).event.discharge  # type: ignore[attr-defined]
    assert [(d.code, d.system) for d in details.diagnoses] == [("F11.20", "I10")]  # ICD-10-CM preferred, as DG1
    assert details.planning.recovery_domains == (RecoveryDomain.SUBSTANCE_USE,)
    assert Need.TREATMENT in details.planning.needs
    assert details.planning.part2_protected
    assert details.planning.mobility.value == "wheelchair"
    assert details.payer is not None and details.payer.is_medicaid


def test_a_resent_encounter_means_what_changed_against_the_case() -> None:
    heart = sample("r4-core-examples/encounter-example-f001-heart.json")
    planned_end = (NOW + timedelta(days=2)).isoformat()
    pending = post("encounter", self_contained(heart, status="in-progress", period={"end": planned_end})).event
    registered = post("encounter", self_contained(heart, period={"end": "2026-11-23T11:30:00+01:00"})).event
    corrected = post("encounter", self_contained(heart, period={"end": "2026-11-23T12:15:00+01:00"})).event
    cancelled = post("encounter", self_contained(heart, status="entered-in-error")).event

    assert revise(pending, None) is pending
    assert revise(registered, pending) is registered, "the planned discharge took place"
    assert revise(registered, registered) is None, "a resend that changes nothing emits nothing"
    update = revise(corrected, registered)
    assert isinstance(update, DischargeUpdated)
    assert update.changed_fields == ("discharged_at",)
    replanned = revise(pending, registered)
    assert isinstance(replanned, DischargeUpdated)
    assert set(replanned.changed_fields) == {"expected_discharge_at", "discharged_at"}
    withdrawn = revise(cancelled, pending)
    assert isinstance(withdrawn, DischargeCancelled) and withdrawn.was_pending_only
    withdrawn = revise(cancelled, registered)
    assert isinstance(withdrawn, DischargeCancelled) and not withdrawn.was_pending_only
    assert revise(cancelled, withdrawn) is None, "already cancelled"


def test_changed_fields_name_the_nested_field_that_changed() -> None:
    bundle = as_discharge(sample(ADMIT))
    before = post("message", bundle).event.discharge  # type: ignore[attr-defined]
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["telecom"] = [{"system": "phone", "use": "mobile", "value": "555-000-1111"}]
    after = post("message", bundle).event.discharge  # type: ignore[attr-defined]
    assert changed_fields(before, after) == ("patient.phone",)
