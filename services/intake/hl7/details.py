"""Where each discharge detail comes from in an ADT message (PID, PV1, PV2, DG1, IN1), read into DischargeDetails.

The field table is in docs/hl7v2.md; facility-specific code tables are in services/intake/hl7_mapping.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TypeVar

from shared.events.common import Address, Code
from shared.events.discharge import (
    DischargeDetails,
    Facility,
    Identifier,
    Mobility,
    Need,
    Patient,
    PatientClass,
    Payer,
    PlanningNeeds,
    RecoveryDomain,
    RiskFlag,
)

from ..hl7_mapping import Hl7Mapping
from .ack import Problem
from .er7 import Message, Segment, component_value


class Refused(Exception):
    """The message cannot be taken; `problem` says why, for the ACK."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


T = TypeVar("T")

# HL7 v2.5 §2A.22 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
DTM = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?")

PATIENT_CLASSES = {  # HL7 table 0004
    "I": PatientClass.INPATIENT,
    "O": PatientClass.OUTPATIENT,
    "E": PatientClass.EMERGENCY,
    "P": PatientClass.PREADMIT,
    "R": PatientClass.RECURRING,
    "B": PatientClass.OBSTETRICS,
}
NOT_A_PHONE = frozenset({"INTERNET", "X.400", "FX", "BP"})  # XTN-3 equipment types (table 0202) no one can call
HOME_ADDRESS_TYPES = frozenset({"H", "HOME", "P"})  # XAD-7, table 0190: home, permanent

# Fields whose explicit null ("") deletes a detail (HL7 v2.5 §2.5.3), for A08 updates.
NULLABLE: dict[tuple[str, int], tuple[str, ...]] = {
    ("PID", 5): ("patient.family_name", "patient.given_name"),
    ("PID", 7): ("patient.birth_date",),
    ("PID", 8): ("patient.sex",),
    ("PID", 11): ("patient.address",),
    ("PID", 13): ("patient.phone",),
    ("PID", 15): ("patient.language",),
    ("PV1", 3): ("facility.unit",),
    ("PV1", 36): ("disposition",),
    ("PV1", 37): ("discharged_to",),
    ("PV1", 44): ("admitted_at",),
    ("PV1", 45): ("discharged_at",),
    ("PV2", 9): ("expected_discharge_at",),
}


def read_details(
    message: Message, *, facility_id: str, visit_number: str, zone: tzinfo, mapping: Hl7Mapping
) -> DischargeDetails:
    pid = _required_segment(message, "PID")
    pv1 = _required_segment(message, "PV1")
    pv2 = message.segment("PV2")
    diagnoses = tuple(code for dg1 in message.all("DG1") if (code := _diagnosis(dg1)) is not None)
    disposition = pv1.get(36)
    return DischargeDetails(
        facility=Facility(id=facility_id, unit=pv1.get(3)),
        visit_number=visit_number,
        patient=_patient(pid, mapping),
        patient_class=PATIENT_CLASSES.get((pv1.get(2) or "I").upper(), PatientClass.OTHER),
        admitted_at=timestamp(pv1, 44, zone),
        expected_discharge_at=timestamp(pv2, 9, zone) if pv2 else None,
        discharged_at=timestamp(pv1, 45, zone),
        disposition=disposition,
        discharged_to=pv1.get(37, 1, 2) or pv1.get(37),
        diagnoses=diagnoses,
        payer=_payer(message.all("IN1"), mapping),
        planning=_planning(pv1, disposition, diagnoses, mapping),
    )


def nulled_paths(message: Message) -> tuple[str, ...]:
    paths: list[str] = []
    for (name, position), detail_paths in NULLABLE.items():
        segment = message.segment(name)
        if segment is not None and segment.is_null(position):
            paths.extend(detail_paths)
    return tuple(paths)


def is_deceased(message: Message, mapping: Hl7Mapping) -> bool:
    """PID-30 patient death indicator (table 0136), or an 'expired' discharge disposition (PV1-36)."""
    pid, pv1 = message.segment("PID"), message.segment("PV1")
    died = pid is not None and (pid.get(30) or "").upper() == "Y"
    return died or (pv1 is not None and (pv1.get(36) or "").upper() in mapping.deceased_dispositions)


# --------------------------------------------------------------------------------------------------- time


def timestamp(segment: Segment | None, position: int, zone: tzinfo) -> datetime | None:
    """A DTM/TS field (component 1; v2.3 TS component 2 is only precision) as an aware datetime.

    Without an offset the time is the sender's local time: `zone` comes from the mapping per facility.
    """
    if segment is None:
        return None
    value = segment.get(position)
    if value is None:
        return None
    match = DTM.fullmatch(value)
    if match is None:
        raise _bad_time(segment.name, position)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        tz = zone if offset is None else _offset(offset)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        return datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        )
    except ValueError:
        raise _bad_time(segment.name, position) from None


def _offset(text: str) -> timezone:
    hours, minutes = int(text[1:3]), int(text[3:5])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _birth_date(pid: Segment) -> date | None:
    value = pid.get(7)
    if value is None:
        return None
    # The date as written: a birth date is a calendar day, never shifted by a time zone.
    match = DTM.fullmatch(value)
    if match is None:
        raise _bad_time("PID", 7)
    year, month, day = match.groups()[:3]
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise _bad_time("PID", 7) from None


def _bad_time(segment: str, position: int) -> Refused:
    # The text names the field only: the value may be a birth date.
    return Refused(Problem("content", 102, f"{segment}-{position} is not an HL7 date/time", segment, position))


# --------------------------------------------------------------------------------------------------- patient


def _required_segment(message: Message, name: str) -> Segment:
    segment = message.segment(name)
    if segment is None:
        raise Refused(Problem("content", 100, f"the {name} segment is missing", name))
    return segment


def _patient(pid: Segment, mapping: Hl7Mapping) -> Patient:
    identifiers = tuple(_identifiers(pid, mapping))
    if not identifiers:
        raise Refused(Problem("content", 101, "PID-3 holds no patient identifier", "PID", 3))
    return Patient(
        identifiers=identifiers,
        family_name=pid.get(5, 1, 1),
        given_name=pid.get(5, 2),
        birth_date=_birth_date(pid),
        sex=(pid.get(8) or "").upper() or None,
        phone=_phone(pid),
        address=_address(pid),
        language=_language(pid, mapping),
    )


def _identifiers(pid: Segment, mapping: Hl7Mapping) -> Iterable[Identifier]:
    seen: set[tuple[str, str | None]] = set()
    for rep in pid.repetitions(3):  # CX: ID ^ check digit ^ scheme ^ assigning authority (HD) ^ type code
        value = component_value(rep, 1)
        kind = component_value(rep, 5)
        if value is None or (kind or "").upper() in mapping.excluded_identifier_types:
            continue
        system = component_value(rep, 4, 1) or component_value(rep, 4, 2)
        if (value, system) in seen:
            continue
        seen.add((value, system))
        yield Identifier(value=value, system=system, type=kind)


def _phone(pid: Segment) -> str | None:
    # PID-13 home phone; PID-40 (v2.7+) replaces it when senders move on.
    for rep in (*pid.repetitions(13), *pid.repetitions(40)):
        equipment = (component_value(rep, 3) or "").upper()
        if equipment in NOT_A_PHONE or (component_value(rep, 2) or "").upper() == "NET":
            continue
        if number := component_value(rep, 1):
            return number
        parts = [component_value(rep, n) for n in (5, 6, 7)]  # country ^ area ^ local number
        if parts[2]:
            text = "-".join(p for p in parts[1:] if p)
            extension = component_value(rep, 8)
            return (f"+{parts[0]}-" if parts[0] else "") + text + (f" x{extension}" if extension else "")
        if unformatted := component_value(rep, 12):
            return unformatted
    return None


def _address(pid: Segment) -> Address | None:
    reps = [rep for rep in pid.repetitions(11) if any(component_value(rep, n) for n in range(1, 7))]
    if not reps:
        return None
    home = next((r for r in reps if (component_value(r, 7) or "").upper() in HOME_ADDRESS_TYPES), reps[0])
    # XAD-1 is an SAD: street line & street name & dwelling number; senders split it differently, so the parts
    # present are joined in order.
    street = " ".join(v for n in (1, 2, 3) if (v := component_value(home, 1, n)))
    lines = tuple(line for line in (street, component_value(home, 2)) if line)
    return Address(
        lines=lines,
        city=component_value(home, 3),
        state=component_value(home, 4),
        postal_code=component_value(home, 5),
        country=component_value(home, 6),
    )


def _language(pid: Segment, mapping: Hl7Mapping) -> str | None:
    # CE/CWE: identifier ^ text ^ system ^ alternate identifier ^ alternate text
    candidates = [pid.get(15, n) for n in (1, 2, 4, 5)]
    for candidate in candidates:
        if candidate and (known := mapping.languages.get(candidate.upper())):
            return known
    code, text = candidates[0], candidates[1]
    if code and re.fullmatch(r"[A-Za-z]{2,3}", code):
        return code.lower()  # ISO 639-1 already, or an ISO 639-2 code the table does not know
    return text  # a local numeric code means nothing downstream; its text may


# --------------------------------------------------------------------------------------------------- clinical


def _diagnosis(dg1: Segment) -> Code | None:
    code = dg1.get(3, 1)
    if code is None:
        return None
    # DG1-3.3 names the coding system; DG1-2 (diagnosis coding method) did before v2.5.
    return Code(code=code, system=dg1.get(3, 3) or dg1.get(2), display=dg1.get(3, 2) or dg1.get(4))


def _payer(in1_segments: Iterable[Segment], mapping: Hl7Mapping) -> Payer | None:
    payers = [payer for in1 in in1_segments if (payer := _insurance(in1, mapping)) is not None]
    # Medicaid first: NEMT is a Medicaid benefit (42 CFR 431.53), so it is the payer a ride is billed to.
    return next((p for p in payers if p.is_medicaid), payers[0] if payers else None)


def _insurance(in1: Segment, mapping: Hl7Mapping) -> Payer | None:
    name = in1.get(4)
    plan_id, plan_text = in1.get(2), in1.get(2, 2)
    member_id = in1.get(36) or in1.get(49)
    plan_type = (in1.get(15) or "").upper()
    if not any((name, plan_id, plan_text, member_id, plan_type)):
        return None
    names = " ".join(v for v in (name, plan_id, plan_text) if v).upper()
    medicaid = plan_type in mapping.medicaid_plan_types or re.search(mapping.medicaid_name_pattern, names) is not None
    return Payer(name=name or plan_text, plan_id=plan_id, member_id=member_id, is_medicaid=medicaid)


def _planning(pv1: Segment, disposition: str | None, diagnoses: tuple[Code, ...], mapping: Hl7Mapping) -> PlanningNeeds:
    destination = mapping.disposition_destinations.get((disposition or "").upper())
    if destination is None:
        where = pv1.get(37, 1, 2) or pv1.get(37)
        destination = mapping.disposition_destinations.get((where or "").upper(), PlanningNeeds().destination)
    services = {(pv1.get(10) or "").upper(), (pv1.get(18) or "").upper()} - {""}
    domains: list[RecoveryDomain] = [d for s in sorted(services) for d in mapping.service_domains.get(s, ())]
    domains += mapping.disposition_domains.get((disposition or "").upper(), ())
    risks: list[RiskFlag] = []
    needs: list[Need] = list(mapping.destination_needs.get(destination, ()))
    for diagnosis in diagnoses:
        if diagnosis.system is not None and diagnosis.system.upper() not in mapping.icd10_systems:
            continue
        domains += _by_prefix(diagnosis.code, mapping.diagnosis_domains)
        risks += _by_prefix(diagnosis.code, mapping.diagnosis_risks)
        needs += _by_prefix(diagnosis.code, mapping.diagnosis_needs)
    for domain in domains:
        needs += mapping.domain_needs.get(domain, ())
    return PlanningNeeds(
        destination=destination,
        mobility=_mobility(pv1, mapping),
        recovery_domains=_unique(domains),
        risk_flags=_unique(risks),
        needs=_unique(needs),
        part2_protected=bool(services & mapping.part2_services),
    )


def _mobility(pv1: Segment, mapping: Hl7Mapping) -> Mobility:
    # PV1-15 repeats; the most demanding need wins (a stretcher also serves a wheelchair user, not the reverse).
    found = {mapping.ambulatory_mobility.get((component_value(rep, 1) or "").upper()) for rep in pv1.repetitions(15)}
    for mobility in (Mobility.STRETCHER, Mobility.WHEELCHAIR):
        if mobility in found:
            return mobility
    return Mobility.AMBULATORY


def _by_prefix(code: str, table: dict[str, T]) -> list[T]:
    plain = code.replace(".", "").upper()
    return [value for prefix, value in table.items() if plain.startswith(prefix.replace(".", "").upper())]


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))
