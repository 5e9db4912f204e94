"""FHIR R4 → discharge events: an Encounter, or a Da Vinci notification message Bundle, mapped without I/O.

fhir.resources 8 ships R4B (4.3.0) models and no R4 ones; R4B changed none of the elements read here, so they parse
R4 JSON as sent (every public R4 sample in the conformance corpus validates).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from shared.case_id import case_id_for
from shared.events import DischargeCancelled, DischargePending, DischargeRegistered, DischargeUpdated, Event
from shared.events.common import Channel
from shared.events.discharge import DischargeDetails, Facility, Identifier, Source

from .fhir_details import (
    Resources,
    destination_name_of,
    diagnoses_of,
    disposition_of,
    facility_of,
    patient_class_of,
    patient_of,
    payer_of,
    planning_of,
    visit_number_of,
)
from .hl7_mapping import DEFAULT_MAPPING, Hl7Mapping

R = TypeVar("R", bound=Resource)
IssueType = Literal["structure", "invalid", "value", "required", "not-supported", "login", "forbidden", "processing"]

DAVINCI_EVENTS = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
DAVINCI_DISCHARGE = "notification-discharge"
DAVINCI_ADMIT = "notification-admit"
DAVINCI_TRANSFER = "notification-transfer"
# FHIR R5 added Encounter.plannedEndDate; R4 senders carry it as the R5 cross-version extension.
PLANNED_END_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate"
FACILITY_RULE = "send serviceProvider.identifier, or an Organization (in the Bundle or contained) with an identifier"
PATIENT_RULE = "the patient is a Patient in the Bundle, a contained Patient, or subject.identifier"
WITHDRAWN = frozenset({"cancelled", "entered-in-error"})
UNDER_WAY = frozenset({"planned", "arrived", "triaged", "in-progress", "onleave"})
MESSAGE_ID_MAX = 200  # intake_received_message.message_id


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: what is wrong (FHIR issue-type), where (FHIRPath) and why."""

    code: IssueType
    expression: str | None
    diagnostics: str


class Rejected(ValueError):
    """The input cannot become an event. `status` follows FHIR R4 http.html: 400 when the body is not valid FHIR,
    422 when it is valid FHIR that breaks intake's rules."""

    def __init__(self, status: int, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(f"{issue.expression or '<body>'}: {issue.diagnostics}" for issue in issues))
        self.status = status
        self.issues = tuple(issues)


@dataclass(frozen=True)
class Admission:
    """An admit or transfer notification: no discharge, but an admit may be a readmission (HL7 A01's job)."""

    kind: Literal["admit", "transfer"]
    case_id: str
    facility_id: str
    visit_number: str
    admitted_at: datetime | None
    identifiers: tuple[Identifier, ...]
    flagged: bool  # Encounter.hospitalization.reAdmission: the facility says it is a readmission itself
    source: Source


@dataclass(frozen=True)
class Mapped:
    event: Event | Admission
    message_id: str


def encounter_event(raw: bytes, *, now: datetime, mapping: Hl7Mapping = DEFAULT_MAPPING) -> Mapped:
    """POST /fhir/Encounter: the Encounter's status says which event (docs/fhir.md, "Which event")."""
    encounter = parse(raw, Encounter)
    message_id = _bounded_id(
        f"Encounter/{encounter.id}/_history/{encounter.meta.versionId}"
        if encounter.id and encounter.meta and encounter.meta.versionId
        else None,
        raw,
    )
    source = Source(channel=Channel.FHIR, message_id=message_id)
    return Mapped(_event_of(encounter, Resources.of(encounter), None, source, now, mapping), message_id)


def message_event(raw: bytes, *, now: datetime, mapping: Hl7Mapping = DEFAULT_MAPPING) -> Mapped:
    """POST /fhir/$process-message: a Da Vinci Unsolicited Notification Bundle whose event is a discharge."""
    bundle = parse(raw, Bundle)
    if bundle.type != "message":
        raise Rejected(
            422,
            [Issue("invalid", "Bundle.type", f"$process-message takes a message Bundle, not type {bundle.type!r}")],
        )
    header = bundle.entry[0].resource if bundle.entry else None
    if not isinstance(header, MessageHeader):
        # FHIR R4 Bundle invariant bdl-12: a message has a MessageHeader as its first resource.
        raise Rejected(422, [Issue("invalid", "Bundle.entry[0].resource", "a message starts with its MessageHeader")])
    trigger = _discharge_trigger(header)
    message_id = _bounded_id(bundle.id or header.id, raw)
    resources = Resources.of(bundle)
    focus = next((r for ref in header.focus or () if (r := resources.resolve(ref, Encounter))), None)
    encounter = focus or next(iter(resources.all(Encounter)), None)
    if encounter is None:
        raise Rejected(422, [Issue("required", "MessageHeader.focus", "the message carries no Encounter")])
    source = Source(channel=Channel.FHIR, message_id=message_id, trigger=trigger)
    if trigger in (DAVINCI_ADMIT, DAVINCI_TRANSFER):
        return Mapped(_admission_of(trigger, encounter, resources, header, source, mapping), message_id)
    return Mapped(_event_of(encounter, resources, header, source, now, mapping), message_id)


def revise(event: Event, previous: Event | None) -> Event | None:
    """What a re-sent Encounter means against the case's last discharge event; None when it changes nothing.

    FHIR (and the Da Vinci notification codes) have no update or cancel-discharge trigger like HL7 A08/A13/A25:
    a sender re-sends the Encounter, so the difference from what the case already has decides.
    """
    if not isinstance(previous, DischargePending | DischargeRegistered | DischargeUpdated):
        if isinstance(event, DischargeCancelled) and isinstance(previous, DischargeCancelled):
            return None
        return event
    was_discharged = isinstance(previous, DischargeRegistered) or previous.discharge.discharged_at is not None
    if isinstance(event, DischargeCancelled):
        return event.model_copy(update={"was_pending_only": not was_discharged})
    if not isinstance(event, DischargePending | DischargeRegistered | DischargeUpdated):
        return event
    if isinstance(event, DischargeRegistered) and not was_discharged:
        return event  # the planned discharge took place
    changed = changed_fields(previous.discharge, event.discharge)
    if not changed:
        return None
    return DischargeUpdated(
        case_id=event.case_id, discharge=event.discharge, changed_fields=changed, source=event.source
    )


def changed_fields(before: DischargeDetails, after: DischargeDetails) -> tuple[str, ...]:
    """Dotted names of what differs, one level into facility, patient, payer and planning."""
    changed: list[str] = []
    for name in DischargeDetails.model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        nested = next((v for v in (old, new) if v is not None and hasattr(type(v), "model_fields")), None)
        if nested is None or old is None or new is None:
            changed.append(name)
        else:
            changed.extend(
                f"{name}.{sub}" for sub in type(nested).model_fields if getattr(old, sub) != getattr(new, sub)
            )
    return tuple(changed)


def parse(raw: bytes, model: type[R]) -> R:
    """Validate the body with the FHIR model; every problem becomes an issue naming its FHIRPath."""
    kind = model.get_resource_type()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Rejected(400, [Issue("structure", None, f"the body is not JSON: {error}")]) from error
    if not isinstance(data, dict) or data.get("resourceType") != kind:
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise Rejected(400, [Issue("structure", None, f"expected a {kind} resource, got {found!r}")])
    if unknown := _unknown_entry_types(data):
        raise Rejected(400, unknown)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        issues = [
            Issue(
                "required" if "missing" in e["type"] else "structure",
                kind + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]),
                e["msg"],
            )
            for e in error.errors(include_url=False, include_input=False)[:20]
        ]
        raise Rejected(400, issues) from error


def _unknown_entry_types(data: dict[str, Any]) -> list[Issue]:
    # fhir.resources raises a bare KeyError for an unknown resourceType inside a Bundle; name the entry instead.
    issues = []
    for index, entry in enumerate(data.get("entry") or ()):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if resource is None:
            continue
        try:
            get_fhir_model_class(str(kind))
        except ValueError:
            issues.append(
                Issue("structure", f"Bundle.entry[{index}].resource", f"{kind!r} is not a FHIR R4 resource type")
            )
    return issues


def _discharge_trigger(header: MessageHeader) -> str:
    coding = header.eventCoding
    if coding is None or coding.system != DAVINCI_EVENTS or not coding.code:
        raise Rejected(
            422,
            [
                Issue(
                    "not-supported",
                    "MessageHeader.eventCoding",
                    f"intake takes Da Vinci Unsolicited Notifications: eventCoding from {DAVINCI_EVENTS}",
                )
            ],
        )
    if coding.code not in (DAVINCI_DISCHARGE, DAVINCI_ADMIT, DAVINCI_TRANSFER):
        raise Rejected(
            422,
            [
                Issue(
                    "not-supported",
                    "MessageHeader.eventCoding",
                    f"{coding.code}: intake takes {DAVINCI_DISCHARGE}, {DAVINCI_ADMIT} and {DAVINCI_TRANSFER}",
                )
            ],
        )
    return coding.code


def _stay_of(
    encounter: Encounter, resources: Resources, header: MessageHeader | None, issues: list[Issue]
) -> tuple[Facility | None, str | None]:
    """The facility and visit number that name the case, each missing one added to `issues`."""
    facility = facility_of(encounter, resources, header)
    if facility is None:
        issues.append(Issue("required", "Encounter.serviceProvider", "no facility: " + FACILITY_RULE))
    visit_number = visit_number_of(encounter)
    if visit_number is None:
        issues.append(Issue("required", "Encounter.identifier", "no visit number: send it as Encounter.identifier"))
    return facility, visit_number


def _admission_of(
    trigger: str,
    encounter: Encounter,
    resources: Resources,
    header: MessageHeader,
    source: Source,
    mapping: Hl7Mapping,
) -> Admission:
    issues: list[Issue] = []
    facility, visit_number = _stay_of(encounter, resources, header, issues)
    patient = patient_of(encounter, resources, mapping)
    if patient is None:
        issues.append(Issue("required", "Encounter.subject", PATIENT_RULE))
    if issues or facility is None or visit_number is None or patient is None:
        raise Rejected(422, issues)
    start = encounter.period.start if encounter.period else None
    hospitalization = encounter.hospitalization
    return Admission(
        kind="admit" if trigger == DAVINCI_ADMIT else "transfer",
        case_id=case_id_for(facility.id, visit_number),
        facility_id=facility.id,
        visit_number=visit_number,
        admitted_at=_instant(start, None, []),
        identifiers=patient.identifiers,
        flagged=bool(hospitalization and hospitalization.reAdmission),
        source=source,
    )


def _event_of(
    encounter: Encounter,
    resources: Resources,
    header: MessageHeader | None,
    source: Source,
    now: datetime,
    mapping: Hl7Mapping,
) -> Event:
    issues: list[Issue] = []
    facility, visit_number = _stay_of(encounter, resources, header, issues)
    status = encounter.status
    if status in WITHDRAWN:
        if facility is None or visit_number is None:
            raise Rejected(422, issues)
        end = encounter.period.end if encounter.period else None
        return DischargeCancelled(
            case_id=case_id_for(facility.id, visit_number),
            facility_id=facility.id,
            visit_number=visit_number,
            # Without an earlier event of the case (see `revise`), only a stay that had ended was a discharge.
            was_pending_only=not (isinstance(end, datetime) and end <= now),
            reason=f"Encounter.status {status}",
            source=source,
        )
    discharged_at = expected_at = None
    if status == "finished":
        discharged_at = _discharge_time(encounter, issues)
    elif status in UNDER_WAY and header is None:
        expected_at = _expected_end(encounter, now, issues)
    elif status in UNDER_WAY:
        issues.append(Issue("value", "Encounter.status", f"{status}: a {DAVINCI_DISCHARGE} is sent as finished"))
    else:
        issues.append(Issue("value", "Encounter.status", f"{status!r} says nothing about a discharge"))
    patient = patient_of(encounter, resources, mapping)
    if patient is None and resources.resolve(encounter.subject, FhirPatient) is not None:
        issues.append(Issue("required", "Patient.identifier", "no identifier intake may carry (SSN is left out)"))
    elif patient is None:
        issues.append(Issue("required", "Encounter.subject", PATIENT_RULE))
    if issues or facility is None or visit_number is None or patient is None:
        raise Rejected(422, issues)
    diagnoses = diagnoses_of(encounter, resources)
    details = DischargeDetails(
        facility=facility,
        visit_number=visit_number,
        patient=patient,
        patient_class=patient_class_of(encounter),
        admitted_at=_instant(encounter.period.start if encounter.period else None, None, []),
        expected_discharge_at=expected_at,
        discharged_at=discharged_at,
        disposition=disposition_of(encounter),
        discharged_to=destination_name_of(encounter, resources),
        diagnoses=diagnoses,
        payer=payer_of(resources, resources.resolve(encounter.subject, FhirPatient), mapping),
        planning=planning_of(encounter, resources, diagnoses, mapping),
    )
    case_id = case_id_for(facility.id, visit_number)
    if discharged_at is not None:
        return DischargeRegistered(case_id=case_id, discharge=details, source=source)
    return DischargePending(case_id=case_id, discharge=details, source=source)


def _discharge_time(encounter: Encounter, issues: list[Issue]) -> datetime | None:
    """A finished Encounter is a discharge with its time (period.end) and disposition (where the patient went)."""
    end = encounter.period.end if encounter.period else None
    if end is None:
        issues.append(Issue("required", "Encounter.period.end", "a finished Encounter needs its discharge time"))
    if encounter.hospitalization is None or encounter.hospitalization.dischargeDisposition is None:
        issues.append(
            Issue("required", "Encounter.hospitalization.dischargeDisposition", "a discharge needs its disposition")
        )
    return _instant(end, "Encounter.period.end", issues)


def _instant(value: datetime | date | str | None, expression: str | None, issues: list[Issue]) -> datetime | None:
    """A dateTime with a time of day; a bare date ("2013-03-20") or a partial one ("2013") is no instant."""
    if value is None or isinstance(value, datetime):
        return value
    if expression:
        issues.append(Issue("value", expression, f"{value} has no time of day; send it with time and zone"))
    return None


def _expected_end(encounter: Encounter, now: datetime, issues: list[Issue]) -> datetime | None:
    """A planned end: the plannedEndDate extension as sent, or a period.end still in the future."""
    planned = next((e for e in encounter.extension or () if e.url == PLANNED_END_EXTENSION), None)
    if planned is not None:
        return _instant(planned.valueDateTime, f"Encounter.extension('{PLANNED_END_EXTENSION}')", issues)
    end = encounter.period.end if encounter.period else None
    if end is None:
        issues.append(
            Issue(
                "required",
                "Encounter.period.end",
                f"status {encounter.status} is a pending discharge only with an expected end: period.end in the "
                f"future or the extension {PLANNED_END_EXTENSION}",
            )
        )
        return None
    instant = _instant(end, "Encounter.period.end", issues)
    if instant is not None and instant <= now:
        issues.append(
            Issue(
                "value",
                "Encounter.period.end",
                f"{instant.isoformat()} is past while the status is {encounter.status}: send a discharge as finished",
            )
        )
        return None
    return instant


def _bounded_id(candidate: str | None, raw: bytes) -> str:
    """The sender's message id, or a digest of the body when it has none (or one too long to archive)."""
    if candidate and len(candidate) <= MESSAGE_ID_MAX:
        return candidate
    return "sha256:" + hashlib.sha256(raw).hexdigest()
