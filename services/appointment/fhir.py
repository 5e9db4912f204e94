"""FHIR R4 shapes: appointments exported as Appointment resources in a searchset Bundle, status updates read from an
Appointment, and slots imported from Schedule and Slot resources.

fhir.resources 8 ships R4B (4.3.0) models and no R4 ones; R4B changed none of the Appointment, Slot, Schedule or
Bundle elements used here, so they validate R4 documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot
from pydantic import ValidationError

from .db import Appointment, Provider
from .directory import SlotIn
from .domain import AppointmentStatus

FHIR_JSON = "application/fhir+json"
EXTENSION_BASE = "http://discharge-coordination.local/fhir/StructureDefinition"  # the platform's canonical base
TELEHEALTH_EXTENSION = f"{EXTENSION_BASE}/appointment-telehealth"
MEASURE_EXTENSION = f"{EXTENSION_BASE}/appointment-followup-measure"
# HL7 v2 table 0276 (appointment reason codes), the binding of Appointment.appointmentType.
FOLLOWUP_TYPE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
            "code": "FOLLOWUP",
            "display": "A follow up visit from a previous appointment",
        }
    ]
}
# FHIR R4 appointmentstatus: fulfilled = attended, noshow = missed.
TO_FHIR_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ATTENDED: "fulfilled",
    AppointmentStatus.MISSED: "noshow",
    AppointmentStatus.CANCELLED: "cancelled",
}
FROM_FHIR_STATUS = {
    "booked": AppointmentStatus.BOOKED,
    "arrived": AppointmentStatus.ATTENDED,
    "checked-in": AppointmentStatus.ATTENDED,
    "fulfilled": AppointmentStatus.ATTENDED,
    "noshow": AppointmentStatus.MISSED,
    "cancelled": AppointmentStatus.CANCELLED,
}
# A slot is a telehealth slot when a code or text of its service type, category or appointment type says so;
# VR is the HL7 v3 ActCode for a virtual encounter.
TELEHEALTH_MARKS = frozenset({"vr", "virtual", "telehealth", "video", "telephone"})


class FhirRejected(ValueError):
    """Not a usable FHIR document; `expression` names the element (FHIRPath), as OperationOutcome.issue does."""

    def __init__(self, message: str, expression: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.expression = expression
        self.code = code


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def appointment_resource(appointment: Appointment, provider: Provider | None) -> dict[str, Any]:
    """One appointment as a FHIR R4 Appointment. The patient is referenced by case id (minimum necessary: no name)."""
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{appointment.case_id}"}, "required": "required", "status": "accepted"}
    ]
    if provider is not None:
        kind = "Practitioner" if provider.clinician else "HealthcareService"
        participants.append(
            {
                "actor": {"reference": f"{kind}/{provider.id}", "display": provider.clinician or provider.organization},
                "required": "required",
                "status": "accepted",
            }
        )
        if not appointment.telehealth:
            participants.append(
                {
                    "actor": {"reference": f"Location/{provider.id}", "display": provider.organization},
                    "required": "information-only",
                    "status": "accepted",
                }
            )
    extensions: list[dict[str, Any]] = [{"url": TELEHEALTH_EXTENSION, "valueBoolean": appointment.telehealth}]
    if appointment.measure:
        extensions.append({"url": MEASURE_EXTENSION, "valueCode": appointment.measure})
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": appointment.id,
        "meta": {"lastUpdated": _instant(appointment.updated_at)},
        "extension": extensions,
        "status": TO_FHIR_STATUS[AppointmentStatus(appointment.status)],
        "appointmentType": FOLLOWUP_TYPE,
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.ends_at),
        "minutesDuration": max(1, int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)),
        "slot": [{"reference": f"Slot/{appointment.slot_id}"}],
        "created": _instant(appointment.booked_at),
        "participant": participants,
    }
    if provider is not None:
        resource["specialty"] = [{"text": provider.specialty.replace("_", " ")}]
    if appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason.replace("_", " ")}
    if appointment.replaces_id:
        resource["comment"] = f"Replaces {appointment.replaces_id}"
    FhirAppointment.model_validate(resource)  # what we publish is valid R4, or this is a bug to see at once
    return resource


def searchset(resources: Iterable[dict[str, Any]], *, base_url: str, self_url: str) -> dict[str, Any]:
    """A FHIR searchset Bundle (R4 §3.1.1.4 search): every entry a match, with its full URL."""
    entries = [
        {"fullUrl": f"{base_url}/Appointment/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in resources
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": self_url}],
        "entry": entries,
    }
    Bundle.model_validate(bundle)
    return bundle


def status_update(document: Mapping[str, Any], appointment_id: str) -> tuple[AppointmentStatus, datetime | None]:
    """The status a FHIR Appointment sent back asks for (PUT /fhir/Appointment/{id}), and when it happened."""
    if document.get("resourceType") != "Appointment":
        raise FhirRejected("expected an Appointment resource", "Appointment")
    try:
        resource = FhirAppointment.model_validate(dict(document))
    except ValidationError as error:
        raise FhirRejected(_first_error(error), "Appointment", "structure") from error
    if resource.id is not None and resource.id != appointment_id:
        raise FhirRejected("the resource id differs from the id in the URL", "Appointment.id")
    status = FROM_FHIR_STATUS.get(str(resource.status))
    if status is None:
        raise FhirRejected(
            f"status {resource.status!r} cannot be set here; use one of {', '.join(sorted(FROM_FHIR_STATUS))}",
            "Appointment.status",
            "not-supported",
        )
    return status, resource.end or resource.start


def slots_from_bundle(document: Mapping[str, Any], default_minutes: int) -> list[SlotIn]:
    """Slots from a Bundle of Schedule and Slot resources. A Schedule's first actor reference names the provider by
    its id (Practitioner/PRV-221, HealthcareService/PRV-221, …); a Slot that is not free is kept but never booked."""
    if document.get("resourceType") != "Bundle":
        raise FhirRejected("expected a Bundle of Schedule and Slot resources", "Bundle")
    schedules: dict[str, str] = {}
    raw_slots: list[tuple[int, dict[str, Any]]] = []
    for index, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if kind == "Schedule":
            schedule = _validated(Schedule, resource, f"Bundle.entry[{index}].resource")
            provider_id = _provider_of(schedule)
            if provider_id is None or schedule.id is None:
                raise FhirRejected("a Schedule needs an id and an actor reference", f"Bundle.entry[{index}].resource")
            schedules[schedule.id] = provider_id
        elif kind == "Slot":
            raw_slots.append((index, dict(resource)))  # type: ignore[arg-type]
    slots = []
    for index, raw in raw_slots:
        where = f"Bundle.entry[{index}].resource"
        slot = _validated(FhirSlot, raw, where)
        reference = slot.schedule.reference or ""
        provider_id = schedules.get(reference.rsplit("/", 1)[-1])
        if slot.id is None or provider_id is None:
            raise FhirRejected("a Slot needs an id and a Schedule of this Bundle", f"{where}.schedule")
        start, end = slot.start, slot.end
        slots.append(
            SlotIn(
                id=slot.id,
                provider_id=provider_id,
                starts_at=start,
                ends_at=end if end > start else start + timedelta(minutes=default_minutes),
                telehealth=_is_telehealth(raw),
                bookable=str(slot.status) == "free",
            )
        )
    return slots


def _validated(model: Any, resource: Mapping[str, Any], where: str) -> Any:
    try:
        return model.model_validate(dict(resource))
    except ValidationError as error:
        raise FhirRejected(_first_error(error), where, "structure") from error


def _provider_of(schedule: Schedule) -> str | None:
    for actor in schedule.actor or []:
        if actor.reference and "/" in actor.reference:
            return actor.reference.rsplit("/", 1)[-1]
    return None


def _is_telehealth(raw: Mapping[str, Any]) -> bool:
    concepts: list[Any] = [*(raw.get("serviceType") or []), *(raw.get("serviceCategory") or [])]
    if raw.get("appointmentType"):
        concepts.append(raw["appointmentType"])
    marks = set()
    for concept in concepts:
        if not isinstance(concept, Mapping):
            continue
        marks.add(str(concept.get("text", "")).strip().lower())
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping):
                marks.add(str(coding.get("code", "")).strip().lower())
    return bool(marks & TELEHEALTH_MARKS)


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
