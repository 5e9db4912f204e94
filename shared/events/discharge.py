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
    id: str = Field(description="Sending facility (HL7 MSH-4 / FHIR serviceProvider).", examples=["SPRINGFIELD_PSY"])
    name: str | None = Field(None, examples=["Springfield Behavioral Health"])
    unit: str | None = Field(
        None, description="Unit (PV1-3). Internal only: never sent to vendors.", examples=["DETOX-2"]
    )
    discharge_entrance: Place | None = Field(
        None, description="Where rides pick up: the facility's discharge entrance, never the unit."
    )


class Identifier(Value):
    value: str = Field(examples=["MRN-000123"])
    system: str | None = Field(None, description="Assigning authority.", examples=["SPRINGFIELD"])
    type: str | None = Field(None, description="Identifier type code (HL7 table 0203).", examples=["MR"])


class Payer(Value):
    name: str | None = Field(None, examples=["Illinois Medicaid"])
    plan_id: str | None = None
    member_id: str | None = Field(None, examples=["MCD1234567"])
    is_medicaid: bool = False


class Patient(Value):
    identifiers: tuple[Identifier, ...] = Field(min_length=1)
    family_name: str | None = Field(None, examples=["Rivera"])
    given_name: str | None = Field(None, examples=["Ana"])
    birth_date: date | None = None
    sex: str | None = Field(None, description="Administrative sex (HL7 table 0001).", examples=["F"])
    phone: str | None = Field(None, examples=["+1-217-555-0142"])
    address: Address | None = None
    language: str | None = Field(None, description="Primary language, ISO 639-1 where known.", examples=["es"])


class PlanningNeeds(Value):
    """What planning needs, captured at intake from standard fields or the documented mapping."""

    destination: Destination = Destination.UNKNOWN
    destination_place: Place | None = None
    mobility: Mobility = Mobility.AMBULATORY
    escort_count: int = Field(0, ge=0, le=4)
    recovery_domains: tuple[RecoveryDomain, ...] = ()
    risk_flags: tuple[RiskFlag, ...] = ()
    needs: tuple[Need, ...] = ()
    consent_peer_support: bool | None = Field(
        None, description="None when the facility did not say; matching then asks before assigning."
    )
    part2_protected: bool = Field(
        False,
        description="42 CFR Part 2: substance-use-treatment data, shared onward only where consent allows.",
    )


class DischargeDetails(Value):
    facility: Facility
    visit_number: str = Field(description="Visit number (PV1-19) or Encounter identifier.", examples=["V20261123-001"])
    patient: Patient
    patient_class: PatientClass = PatientClass.INPATIENT
    admitted_at: datetime | None = None
    expected_discharge_at: datetime | None = Field(None, description="PV2-9 or Encounter period.end (planned).")
    discharged_at: datetime | None = Field(None, description="PV1-45 or Encounter period.end.")
    disposition: str | None = Field(None, description="Discharge disposition code (PV1-36).", examples=["01"])
    discharged_to: str | None = Field(None, description="Discharged-to location (PV1-37).")
    diagnoses: tuple[Code, ...] = ()
    payer: Payer | None = None
    planning: PlanningNeeds = PlanningNeeds()


class Source(Value):
    channel: Channel
    message_id: str = Field(description="MSH-10, Bundle/MessageHeader id, or the JSON request id.")
    trigger: str | None = Field(None, description="HL7 trigger event, e.g. A03.", examples=["A03"])


class DischargePending(Event):
    """A discharge is planned (ADT A16 / planned Encounter): planning starts early."""

    ce_type = "discharge.pending.v1"
    topic = "discharge.events"
    discharge: DischargeDetails
    source: Source


class DischargeRegistered(Event):
    """The patient was discharged (ADT A03 / finished Encounter)."""

    ce_type = "discharge.registered.v1"
    topic = "discharge.events"
    discharge: DischargeDetails
    source: Source


class DischargeUpdated(Event):
    """Details changed after planning started (ADT A08): address, phone, language, times."""

    ce_type = "discharge.updated.v1"
    topic = "discharge.events"
    discharge: DischargeDetails
    changed_fields: tuple[str, ...] = Field((), examples=[["patient.address", "patient.phone"]])
    source: Source


class DischargeCancelled(Event):
    """The discharge (A13) or the pending discharge (A25) was cancelled."""

    ce_type = "discharge.cancelled.v1"
    topic = "discharge.events"
    facility_id: str
    visit_number: str
    was_pending_only: bool = Field(False, description="True for A25 (cancel pending discharge).")
    reason: str | None = None
    source: Source


class PatientReadmitted(Event):
    """An admit (A01/A04, or PV1-13 set) within 30 days of a discharge of the same patient."""

    ce_type = "patient.readmitted.v1"
    topic = "discharge.events"
    previous_case_id: str
    facility_id: str
    visit_number: str
    admitted_at: datetime
    days_since_discharge: int = Field(ge=0, le=30)
    source: Source


class AdmissionCancelled(Event):
    """An admit was cancelled (ADT A11); a readmission it triggered no longer stands."""

    ce_type = "admission.cancelled.v1"
    topic = "discharge.events"
    facility_id: str
    visit_number: str
    source: Source
