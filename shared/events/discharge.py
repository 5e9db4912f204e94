"""discharge.events: what intake learns from facility systems (ADT A16/A03/A13/A25/A08/A01/A04/A11)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Address, Channel, Code, Place, Value


class Destination(StrEnum):
    HOME = "home"
    FAMILY = "family"
    SHELTER = "shelter"
    RESIDENTIAL_TREATMENT = "residential_treatment"
    SKILLED_NURSING = "skilled_nursing"
    OTHER_FACILITY = "other_facility"
    OTHER = "other"
    UNKNOWN = "unknown"


class Mobility(StrEnum):
    AMBULATORY = "ambulatory"
    WHEELCHAIR = "wheelchair"
    STRETCHER = "stretcher"


class RecoveryDomain(StrEnum):
    SUBSTANCE_USE = "substance_use"
    MENTAL_HEALTH = "mental_health"
    ABUSE_TRAUMA = "abuse_trauma"
    JUSTICE_INVOLVEMENT = "justice_involvement"


class Need(StrEnum):
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    CONTINUED_CARE = "continued_care"
    TREATMENT = "treatment"
    FAMILY_REINTEGRATION = "family_reintegration"
    FOOD = "food"
    PEER_GROUP = "peer_group"
    SOCIAL_ACTIVITY = "social_activity"


class RiskFlag(StrEnum):
    SUICIDE_RISK = "suicide_risk"
    OVERDOSE_RISK = "overdose_risk"
    VIOLENCE_RISK = "violence_risk"
    HOMELESSNESS = "homelessness"
    NO_SUPPORT_NETWORK = "no_support_network"


class PatientClass(StrEnum):
    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"
    PREADMIT = "preadmit"
    RECURRING = "recurring"
    OBSTETRICS = "obstetrics"
    OTHER = "other"


class Facility(Value):
    """The facility the patient leaves."""

    id: str = Field(description="Sending facility (HL7 MSH-4 / FHIR serviceProvider).", examples=["SPRINGFIELD_PSY"])
    name: str | None = Field(None, examples=["Springfield Behavioral Health"], description="The facility's name.")
    unit: str | None = Field(
        None, description="Unit (PV1-3). Internal only: never sent to vendors.", examples=["DETOX-2"]
    )
    discharge_entrance: Place | None = Field(
        None, description="Where rides pick up: the facility's discharge entrance, never the unit."
    )


class Identifier(Value):
    """A patient identifier as its authority assigns it (HL7 PID-3, FHIR Patient.identifier)."""

    value: str = Field(examples=["MRN-000123"], description="The identifier's value.")
    system: str | None = Field(None, description="Assigning authority.", examples=["SPRINGFIELD"])
    type: str | None = Field(None, description="Identifier type code (HL7 table 0203).", examples=["MR"])


class Payer(Value):
    """The patient's primary coverage (HL7 IN1, FHIR Coverage)."""

    name: str | None = Field(
        None, examples=["Illinois Medicaid"], description="The payer's name (IN1-4, Coverage.payor)."
    )
    plan_id: str | None = Field(None, description="Health plan id (IN1-2).", examples=["IL-MCD-01"])
    member_id: str | None = Field(None, examples=["MCD1234567"], description="The patient's member id with the payer.")
    is_medicaid: bool = Field(False, description="True when Medicaid pays, which covers NEMT rides.", examples=[True])


class Patient(Value):
    """Who is discharged. Stays inside the platform: vendors and notifications never get it."""

    identifiers: tuple[Identifier, ...] = Field(min_length=1, description="PID-3 or Patient.identifier; at least one.")
    family_name: str | None = Field(None, examples=["Rivera"], description="Family name.")
    given_name: str | None = Field(None, examples=["Ana"], description="Given name.")
    birth_date: date | None = Field(None, description="PID-7. Never sent to vendors.", examples=["1985-04-12"])
    sex: str | None = Field(None, description="Administrative sex (HL7 table 0001).", examples=["F"])
    phone: str | None = Field(
        None, examples=["+1-217-555-0142"], description="The patient's phone, as the facility sent it."
    )
    address: Address | None = Field(None, description="Home address (PID-11).")
    language: str | None = Field(None, description="Primary language, ISO 639-1 where known.", examples=["es"])


class PlanningNeeds(Value):
    """What planning needs, captured at intake from standard fields or the documented mapping."""

    destination: Destination = Field(
        Destination.UNKNOWN, description="Where the patient goes after discharge.", examples=["home"]
    )
    destination_place: Place | None = Field(None, description="The destination, when known: rides drop off there.")
    mobility: Mobility = Field(
        Mobility.AMBULATORY,
        description="How the patient moves; sets the ride's service level.",
        examples=["ambulatory"],
    )
    escort_count: int = Field(0, ge=0, le=4, description="Escorts riding along.", examples=[1])
    recovery_domains: tuple[RecoveryDomain, ...] = Field(
        (), description="Lived-experience areas a peer specialist is matched on.", examples=[["substance_use"]]
    )
    risk_flags: tuple[RiskFlag, ...] = Field(
        (), description="Risks the plan must answer.", examples=[["overdose_risk"]]
    )
    needs: tuple[Need, ...] = Field(
        (), description="Community resources to refer the patient to.", examples=[["housing", "peer_group"]]
    )
    consent_peer_support: bool | None = Field(
        None, description="None when the facility did not say; matching then asks before assigning.", examples=[True]
    )
    part2_protected: bool = Field(
        False,
        description="42 CFR Part 2: substance-use-treatment data, shared onward only where consent allows.",
        examples=[False],
    )


class DischargeDetails(Value):
    """One stay as intake knows it: facility, visit, patient, times, coverage and planning needs."""

    facility: Facility = Field(description="The sending facility.")
    visit_number: str = Field(description="Visit number (PV1-19) or Encounter identifier.", examples=["V20261123-001"])
    patient: Patient = Field(description="The patient. Internal only: never sent to vendors.")
    patient_class: PatientClass = Field(
        PatientClass.INPATIENT, description="PV1-2 or Encounter.class.", examples=["inpatient"]
    )
    admitted_at: datetime | None = Field(
        None, description="PV1-44 or Encounter period.start.", examples=["2026-03-14T15:30:00Z"]
    )
    expected_discharge_at: datetime | None = Field(
        None, description="PV2-9 or Encounter period.end (planned).", examples=["2026-03-14T15:30:00Z"]
    )
    discharged_at: datetime | None = Field(
        None, description="PV1-45 or Encounter period.end.", examples=["2026-03-14T15:30:00Z"]
    )
    disposition: str | None = Field(None, description="Discharge disposition code (PV1-36).", examples=["01"])
    discharged_to: str | None = Field(
        None, description="Discharged-to location (PV1-37).", examples=["Hope Recovery House"]
    )
    diagnoses: tuple[Code, ...] = Field(
        (), description="DG1 or Encounter.diagnosis. Internal only: never sent to vendors."
    )
    payer: Payer | None = Field(None, description="Primary coverage, when the facility sent it.")
    planning: PlanningNeeds = Field(PlanningNeeds(), description="What discharge planning needs to know.")


class Source(Value):
    """How intake received the fact: the channel and the sender's own message id."""

    channel: Channel = Field(description="hl7v2 (MLLP), fhir or json.", examples=["hl7v2"])
    message_id: str = Field(
        description="MSH-10, Bundle/MessageHeader id, or the JSON request id.", examples=["MSG-20260314-0042"]
    )
    trigger: str | None = Field(None, description="HL7 trigger event, e.g. A03.", examples=["A03"])


class DischargePending(Event):
    """A discharge is planned (ADT A16 / planned Encounter): planning starts early."""

    ce_type = "discharge.pending.v1"
    topic = "discharge.events"
    discharge: DischargeDetails = Field(description="The stay, as the facility described it in this message.")
    source: Source = Field(description="How intake received it.")


class DischargeRegistered(Event):
    """The patient was discharged (ADT A03 / finished Encounter)."""

    ce_type = "discharge.registered.v1"
    topic = "discharge.events"
    discharge: DischargeDetails = Field(description="The stay, as the facility described it in this message.")
    source: Source = Field(description="How intake received it.")


class DischargeUpdated(Event):
    """Details changed after planning started (ADT A08): address, phone, language, times."""

    ce_type = "discharge.updated.v1"
    topic = "discharge.events"
    discharge: DischargeDetails = Field(description="The stay after the change.")
    changed_fields: tuple[str, ...] = Field(
        (), description="Paths of the fields that changed.", examples=[["patient.address", "patient.phone"]]
    )
    source: Source = Field(description="How intake received it.")


class DischargeCancelled(Event):
    """The discharge (A13) or the pending discharge (A25) was cancelled."""

    ce_type = "discharge.cancelled.v1"
    topic = "discharge.events"
    facility_id: str = Field(description="Sending facility id (MSH-4).", examples=["SPRINGFIELD_PSY"])
    visit_number: str = Field(description="Visit number of the cancelled discharge.", examples=["V20261123-001"])
    was_pending_only: bool = Field(False, description="True for A25 (cancel pending discharge).", examples=[True])
    reason: str | None = Field(
        None, description="The facility's reason, when it gave one.", examples=["discharge called off by the care team"]
    )
    source: Source = Field(description="How intake received it.")


class PatientReadmitted(Event):
    """An admit (A01/A04, or PV1-13 set) within 30 days of a discharge of the same patient."""

    ce_type = "patient.readmitted.v1"
    topic = "discharge.events"
    previous_case_id: str = Field(
        description="The case of the earlier discharge.", examples=["9d2c4e6f-1a3b-5c7d-8e9f-0a1b2c3d4e5f"]
    )
    facility_id: str = Field(description="Sending facility id (MSH-4).", examples=["SPRINGFIELD_PSY"])
    visit_number: str = Field(description="Visit number of the new admission.", examples=["V20261210-004"])
    admitted_at: datetime = Field(description="When the new admission started.", examples=["2026-03-14T15:30:00Z"])
    days_since_discharge: int = Field(ge=0, le=30, description="Days since the earlier discharge.", examples=[12])
    source: Source = Field(description="How intake received it.")


class AdmissionCancelled(Event):
    """An admit was cancelled (ADT A11); a readmission it triggered no longer stands."""

    ce_type = "admission.cancelled.v1"
    topic = "discharge.events"
    facility_id: str = Field(description="Sending facility id (MSH-4).", examples=["SPRINGFIELD_PSY"])
    visit_number: str = Field(description="Visit number of the cancelled admission.", examples=["V20261210-004"])
    source: Source = Field(description="How intake received it.")
