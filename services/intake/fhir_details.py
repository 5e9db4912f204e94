"""FHIR R4 resources → the parts of DischargeDetails: facility, visit, patient, diagnoses, payer, planning needs.

Code tables that do not depend on the channel (NUBC dispositions, ICD-10-CM → planning, Medicaid names, excluded
identifier types) are the HL7 mapping's, so a stay reads the same whether it came by HL7 v2 or FHIR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TypeVar

from fhir.resources.R4B.address import Address as FhirAddress
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier as FhirIdentifier
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from shared.events.common import Address, Code, GeoPoint, Place
from shared.events.discharge import (
    Destination,
    Facility,
    Identifier,
    Mobility,
    Patient,
    PatientClass,
    Payer,
    PlanningNeeds,
)

from .hl7_mapping import Hl7Mapping

R = TypeVar("R", bound=Resource)
T = TypeVar("T")

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SNOMED = "http://snomed.info/sct"
# The NUBC system URI changed between guides: Da Vinci's examples use the first, US Core 6+ the second.
NUBC_SYSTEMS = ("http://www.nubc.org/patient-discharge", "https://www.nubc.org/CodeSystem/PatDischargeStatus")
FHIR_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DISPOSITION_SYSTEMS = (*NUBC_SYSTEMS, FHIR_DISPOSITION, SNOMED)  # preference order
SPECIAL_ARRANGEMENTS = "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements"
# PHDSC Source of Payment Typology, the value set US Core and CARIN use for Coverage.type: "2…" is Medicaid.
PAYMENT_TYPOLOGY = "urn:oid:2.16.840.1.113883.3.221.5"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
# HL7 v3 ActCode security labels for 42 CFR Part 2 records: the policy itself and "substance abuse information".
PART2_LABELS = frozenset({"42CFRPart2", "ETH"})
# FHIR coding systems → HL7 v2 table 0396 names, so diagnoses read the same whichever channel they came by.
CODING_SYSTEM_NAMES = {
    "http://hl7.org/fhir/sid/icd-10-cm": "I10",
    "http://hl7.org/fhir/sid/icd-10": "I10",
    "http://hl7.org/fhir/sid/icd-9-cm": "I9C",
    SNOMED: "SCT",
}
DIAGNOSIS_SYSTEMS = (*CODING_SYSTEM_NAMES, SNOMED)  # preference order: ICD-10-CM first, as DG1-3 carries it
# FHIR R4 CodeSystem discharge-disposition → destination; "exp" (expired) is handled like NUBC's deceased codes.
FHIR_DISPOSITION_DESTINATIONS = {
    "home": Destination.HOME,
    "alt-home": Destination.FAMILY,  # "a residence other than their own home (e.g. a family member's home)"
    "other-hcf": Destination.OTHER_FACILITY,
    "hosp": Destination.OTHER_FACILITY,  # hospice
    "long": Destination.OTHER_FACILITY,  # long-term care
    "aadvice": Destination.UNKNOWN,  # left against advice
    "psy": Destination.OTHER_FACILITY,
    "rehab": Destination.OTHER_FACILITY,
    "snf": Destination.SKILLED_NURSING,
    "oth": Destination.OTHER,
}
SNOMED_DISPOSITION_DESTINATIONS = {"306689006": Destination.HOME}  # "Discharge to home", as the R4 examples send
# v3 ActCode encounter class (R4 Encounter.class) → HL7 v2 table 0004, the HL7 v2-to-FHIR PatientClass map reversed.
PATIENT_CLASSES = {
    "IMP": PatientClass.INPATIENT,
    "ACUTE": PatientClass.INPATIENT,
    "NONAC": PatientClass.INPATIENT,
    "EMER": PatientClass.EMERGENCY,
    "AMB": PatientClass.OUTPATIENT,
    "OBSENC": PatientClass.OUTPATIENT,
    "SS": PatientClass.OUTPATIENT,
    "HH": PatientClass.OUTPATIENT,
    "VR": PatientClass.OUTPATIENT,
    "FLD": PatientClass.OUTPATIENT,
    "PRENC": PatientClass.PREADMIT,
}
SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}  # FHIR AdministrativeGender → HL7 table 0001


class Resources:
    """What references can point at: a Bundle's entries (by fullUrl and by Type/id) and contained resources."""

    def __init__(self, resources: Iterable[tuple[str | None, Resource]]) -> None:
        self._by_key: dict[str, Resource] = {}
        self._all: list[Resource] = []
        for full_url, resource in resources:
            self._all.append(resource)
            for key in (full_url, f"{resource.get_resource_type()}/{resource.id}" if resource.id else None):
                if key:
                    self._by_key.setdefault(key, resource)

    @classmethod
    def of(cls, root: Encounter | Bundle) -> Resources:
        entries: list[tuple[str | None, Resource]] = [(None, root)]
        if isinstance(root, Bundle):
            entries += [(entry.fullUrl, entry.resource) for entry in root.entry or () if entry.resource is not None]
        # Contained ids are local to their container; messages rarely contain any, so one index serves.
        contained = [
            (f"#{inner.id}", inner) for _, r in entries for inner in getattr(r, "contained", None) or () if inner.id
        ]
        return cls([*entries, *contained])

    def resolve(self, reference: Reference | None, kind: type[R]) -> R | None:
        """A literal reference: a fullUrl, "#id", "Type/id" or an absolute URL ending in Type/id."""
        if reference is None or not reference.reference:
            return None
        target = reference.reference.split("/_history/")[0]
        found = self._by_key.get(target) or self._by_key.get("/".join(target.rsplit("/", 2)[-2:]))
        return found if isinstance(found, kind) else None

    def all(self, kind: type[R]) -> list[R]:
        return [r for r in self._all if isinstance(r, kind)]


def facility_of(encounter: Encounter, resources: Resources, header: MessageHeader | None) -> Facility | None:
    """The facility rule (docs/fhir.md): serviceProvider's Organization identifier, else the message's sender,
    else its source name or endpoint; None when none of them is there."""
    provider = encounter.serviceProvider
    organization = resources.resolve(provider, Organization)
    facility_id = _value(provider.identifier if provider else None) or _organization_id(organization)
    name = (organization.name if organization else None) or (provider.display if provider else None)
    if facility_id is None and header is not None:
        sender = resources.resolve(header.sender, Organization)
        facility_id = (
            _value(header.sender.identifier if header.sender else None)
            or _organization_id(sender)
            or header.source.name
            or header.source.endpoint
        )
        name = name or (sender.name if sender else None)
    if not facility_id:
        return None
    return Facility(id=facility_id.strip(), name=name, unit=_unit(encounter, resources))


def visit_number_of(encounter: Encounter) -> str | None:
    # HL7 v2-to-FHIR maps PV1-19 (visit number) to an Encounter.identifier of type VN.
    return _preferred_identifier(encounter.identifier or (), "VN")


def patient_of(encounter: Encounter, resources: Resources, mapping: Hl7Mapping) -> Patient | None:
    """The subject: a Patient in the message or contained, else the logical reference's identifier alone."""
    subject = encounter.subject
    resource = resources.resolve(subject, FhirPatient)
    if resource is None:
        logical = subject.identifier if subject else None  # FHIR R4 references.html, "logical references"
        value = _value(logical)
        return Patient(identifiers=(_identifier(logical, value),)) if logical and value else None
    identifiers = tuple(
        _identifier(i, value)
        for i in resource.identifier or ()
        if (value := _value(i)) and not _excluded(i, mapping.excluded_identifier_types)
    )
    if not identifiers:
        return None
    name = _preferred_name(resource)
    return Patient(
        identifiers=identifiers,
        family_name=name.family if name else None,
        given_name=name.given[0] if name and name.given else None,
        birth_date=resource.birthDate if isinstance(resource.birthDate, date) else None,  # "1980" is no date
        sex=SEX.get(resource.gender or ""),
        phone=_phone(resource),
        address=_address(_preferred_address(resource)),
        language=_language(resource),
    )


def patient_class_of(encounter: Encounter) -> PatientClass:
    coding: Coding | None = encounter.class_fhir
    if coding is None or not coding.code:
        return PatientClass.INPATIENT
    return PATIENT_CLASSES.get(coding.code, PatientClass.OTHER)


def disposition_of(encounter: Encounter) -> str | None:
    """PV1-36's equivalent: the NUBC code (two digits) if sent, else FHIR's, SNOMED's, the first code, the text."""
    concept = encounter.hospitalization.dischargeDisposition if encounter.hospitalization else None
    if concept is None:
        return None
    coding = _preferred_coding(concept, DISPOSITION_SYSTEMS)
    if coding is None or coding.code is None:
        return concept.text
    return _nubc(coding.code) if coding.system in NUBC_SYSTEMS else coding.code


def destination_name_of(encounter: Encounter, resources: Resources) -> str | None:
    reference = encounter.hospitalization.destination if encounter.hospitalization else None
    location = resources.resolve(reference, Location)
    return (location.name if location else None) or (reference.display if reference else None)


def diagnoses_of(encounter: Encounter, resources: Resources) -> tuple[Code, ...]:
    """Encounter.diagnosis in rank order, then every Condition in the message that names this Encounter."""
    ranked = sorted(encounter.diagnosis or (), key=lambda d: d.rank or 1_000)
    conditions = [c for d in ranked if (c := resources.resolve(d.condition, Condition))]
    conditions += [c for c in resources.all(Condition) if resources.resolve(c.encounter, Encounter) is encounter]
    codes: list[Code] = []
    for condition in conditions:
        if condition.code is None or _codes(condition.verificationStatus) & {"entered-in-error", "refuted"}:
            continue
        coding = _preferred_coding(condition.code, DIAGNOSIS_SYSTEMS)
        if coding is None or coding.code is None:
            continue
        system = CODING_SYSTEM_NAMES.get(coding.system or "", coding.system)
        codes.append(Code(code=coding.code, system=system, display=coding.display or condition.code.text))
    return _unique(codes)


def payer_of(resources: Resources, patient: FhirPatient | None, mapping: Hl7Mapping) -> Payer | None:
    """The active Coverage of the patient with the lowest order (1 is primary)."""
    coverages = [
        c
        for c in resources.all(Coverage)
        if c.status == "active" and (patient is None or resources.resolve(c.beneficiary, FhirPatient) is patient)
    ]
    if not coverages:
        return None
    coverage = min(coverages, key=lambda c: c.order or 1_000)
    payor = coverage.payor[0] if coverage.payor else None
    organization = resources.resolve(payor, Organization)
    name = (organization.name if organization else None) or (payor.display if payor else None)
    name = name or (coverage.type.text if coverage.type else None)
    medicaid_typology = any(code.startswith("2") for code in _codes(coverage.type, PAYMENT_TYPOLOGY))
    return Payer(
        name=name,
        plan_id=next((c.value for c in coverage.class_fhir or () if "plan" in _codes(c.type)), None),
        member_id=coverage.subscriberId or _preferred_identifier(coverage.identifier or (), "MB"),
        is_medicaid=medicaid_typology or bool(re.search(mapping.medicaid_name_pattern, (name or "").upper())),
    )


def planning_of(
    encounter: Encounter, resources: Resources, diagnoses: Sequence[Code], mapping: Hl7Mapping
) -> PlanningNeeds:
    """Standard fields where FHIR has them (disposition, destination, special arrangements, security labels), the
    shared ICD-10-CM tables for recovery domains, risks and needs (docs/fhir.md)."""
    hospitalization = encounter.hospitalization
    concept = hospitalization.dischargeDisposition if hospitalization else None
    coding = _preferred_coding(concept, DISPOSITION_SYSTEMS) if concept else None
    destination, deceased = _destination(coding, mapping)
    if deceased:
        return PlanningNeeds(destination=destination)  # HL7 mapping: no discharge plan is made for the deceased
    arrangements: set[str] = set()
    for arrangement in (hospitalization.specialArrangement if hospitalization else None) or ():
        arrangements |= _codes(arrangement, SPECIAL_ARRANGEMENTS)
    icd10 = [d.code for d in diagnoses if (d.system or "").upper() in mapping.icd10_systems]
    domains = _unique(
        (
            *_prefix_matches(icd10, mapping.diagnosis_domains),
            *(mapping.disposition_domains.get(_nubc(coding.code), ()) if coding and coding.code else ()),
        )
    )
    needs = _unique(
        (
            *_prefix_matches(icd10, mapping.diagnosis_needs),
            *(need for domain in domains for need in mapping.domain_needs.get(domain, ())),
            *mapping.destination_needs.get(destination, ()),
        )
    )
    labels = {
        label.code
        for resource in resources.all(Resource)
        if resource.meta
        for label in resource.meta.security or ()
        if label.code and label.system in (ACT_CODE, None)
    }
    return PlanningNeeds(
        destination=destination,
        destination_place=_place(resources.resolve(hospitalization.destination if hospitalization else None, Location)),
        mobility=Mobility.WHEELCHAIR if "wheel" in arrangements else Mobility.AMBULATORY,
        escort_count=1 if "att" in arrangements else 0,  # encounter-special-arrangements "att": attendant
        recovery_domains=domains,
        risk_flags=_prefix_matches(icd10, mapping.diagnosis_risks),
        needs=needs,
        part2_protected=bool(labels & PART2_LABELS),
    )


def _destination(coding: Coding | None, mapping: Hl7Mapping) -> tuple[Destination, bool]:
    """Where the patient goes, and whether the disposition says they died (NUBC 20/40-42, FHIR "exp")."""
    if coding is None or coding.code is None:
        return Destination.UNKNOWN, False
    if coding.system in NUBC_SYSTEMS:
        code = _nubc(coding.code)
        deceased = code in mapping.deceased_dispositions
        return mapping.disposition_destinations.get(code, Destination.OTHER if deceased else Destination.UNKNOWN), (
            deceased
        )
    if coding.system == FHIR_DISPOSITION:
        return FHIR_DISPOSITION_DESTINATIONS.get(coding.code, Destination.OTHER), coding.code == "exp"
    if coding.system == SNOMED:
        return SNOMED_DISPOSITION_DESTINATIONS.get(coding.code, Destination.UNKNOWN), False
    return Destination.UNKNOWN, False


def _nubc(code: str) -> str:
    """NUBC codes are two digits; some senders drop the leading zero (Da Vinci's example sends "1")."""
    return code.zfill(2) if code.isdigit() and len(code) == 1 else code.upper()


def _prefix_matches(codes: Sequence[str], table: dict[str, T]) -> tuple[T, ...]:
    """ICD-10-CM codes matched by prefix (a key names its whole subtree), dots ignored on both sides."""
    normalised = [code.replace(".", "").upper() for code in codes]
    prefixes = {key.replace(".", "").upper(): value for key, value in table.items()}
    return _unique(value for code in normalised for prefix, value in prefixes.items() if code.startswith(prefix))


def _unit(encounter: Encounter, resources: Resources) -> str | None:
    current = [entry for entry in encounter.location or () if entry.status in (None, "active")]
    if not current:
        return None
    reference = current[-1].location  # the last active location is where the patient is now
    location = resources.resolve(reference, Location)
    return (location.name if location else None) or reference.display


def _organization_id(organization: Organization | None) -> str | None:
    return _preferred_identifier(organization.identifier or ()) if organization else None


def _preferred_identifier(identifiers: Sequence[FhirIdentifier], type_code: str | None = None) -> str | None:
    """The identifier of the given v2-0203 type, else use=official, else usual, else the first with a value."""
    ranked = sorted(
        (i for i in identifiers if _value(i)),
        key=lambda i: (type_code not in _codes(i.type, V2_0203), {"official": 0, "usual": 1}.get(i.use or "", 2)),
    )
    return _value(ranked[0]) if ranked else None


def _value(identifier: FhirIdentifier | None) -> str | None:
    return identifier.value.strip() or None if identifier and identifier.value else None


def _identifier(identifier: FhirIdentifier, value: str) -> Identifier:
    types = sorted(_codes(identifier.type, V2_0203))
    return Identifier(value=value, system=identifier.system, type=types[0] if types else None)


def _excluded(identifier: FhirIdentifier, excluded_types: frozenset[str]) -> bool:
    # Minimum necessary (HIPAA 45 CFR 164.502(b)): the same identifier types the HL7 channel leaves out.
    return identifier.system == SSN_SYSTEM or bool(_codes(identifier.type, V2_0203) & excluded_types)


def _preferred_name(patient: FhirPatient) -> HumanName | None:
    names = [n for n in patient.name or () if n.use != "old"]
    return min(names, key=lambda n: {"official": 0, "usual": 1}.get(n.use or "", 2), default=None)


def _phone(patient: FhirPatient) -> str | None:
    phones = [t for t in patient.telecom or () if t.system == "phone" and t.value and t.use != "old"]
    phones.sort(key=lambda t: (t.rank or 1_000, {"mobile": 0, "home": 1}.get(t.use or "", 2)))
    return phones[0].value if phones else None


def _preferred_address(patient: FhirPatient) -> FhirAddress | None:
    addresses = [a for a in patient.address or () if a.use not in ("old", "billing") and a.type != "postal"]
    return min(addresses, key=lambda a: {"home": 0, "temp": 1}.get(a.use or "", 2), default=None)


def _address(address: FhirAddress | None) -> Address | None:
    if address is None:
        return None
    return Address(
        lines=tuple(address.line or ()),
        city=address.city,
        state=address.state,
        postal_code=address.postalCode,
        country=address.country,
    )


def _language(patient: FhirPatient) -> str | None:
    """The preferred communication language as its primary BCP 47 subtag ("en-US" → "en")."""
    for communication in sorted(patient.communication or (), key=lambda c: not c.preferred):
        for coding in communication.language.coding or ():
            if coding.code:
                return coding.code.split("-")[0].lower()
    return None


def _place(location: Location | None) -> Place | None:
    if location is None:
        return None
    position = location.position
    return Place(
        name=location.name,
        address=_address(location.address),
        location=GeoPoint(lat=float(position.latitude), lon=float(position.longitude)) if position else None,
    )


def _codes(concept: CodeableConcept | None, system: str | None = None) -> set[str]:
    """The codes of a concept, from one system (or any when `system` is None)."""
    if concept is None:
        return set()
    return {c.code for c in concept.coding or () if c.code and (system is None or c.system == system)}


def _preferred_coding(concept: CodeableConcept, systems: Sequence[str]) -> Coding | None:
    codings = [c for c in concept.coding or () if c.code]
    return min(codings, key=lambda c: systems.index(c.system) if c.system in systems else len(systems), default=None)


def _unique(values: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(values))
