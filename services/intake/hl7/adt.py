"""HL7 v2 ADT → intake's normalised events: which messages are taken, and what each trigger event means."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from pydantic import ValidationError

from shared.case_id import case_id_for
from shared.events import (
    AdmissionCancelled,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
)
from shared.events.common import Channel
from shared.events.discharge import DischargeDetails, Source

from ..changes import changed_fields, merge_update
from ..hl7_mapping import Hl7Mapping
from ..readmission import PriorDischarge, readmission_of
from .ack import Problem
from .details import Refused, is_deceased, nulled_paths, read_details, timestamp
from .er7 import Delimiters, Er7Error, Message, Segment, parse

SUPPORTED_VERSION = re.compile(r"2\.[3-8](\.\d+)?")  # MSH-12 VID.1: v2.3 to v2.8.x
ADMITS = frozenset({"A01", "A04"})  # admit, register an outpatient
DISCHARGES = frozenset({"A16", "A03", "A08"})  # pending discharge, discharge, update: events with details
CANCELS = frozenset({"A11", "A13", "A25"})  # cancel admit, cancel discharge, cancel pending discharge
SUPPORTED_TRIGGERS = ADMITS | DISCHARGES | CANCELS
MAX_ID_LENGTH = 200
READMISSION_INDICATORS = frozenset({"R", "Y"})  # PV1-13, HL7 table 0092 ("R": re-admission); "Y" seen in the wild


@dataclass(frozen=True)
class Header:
    """MSH as intake needs it; every part may be missing, since the ACK is built from it even then."""

    msh: Segment
    delimiters: Delimiters
    charset: str
    control_id: str | None
    sending_facility: str | None
    message_type: str | None
    trigger: str | None
    version: str | None
    processing_id: str | None
    accept_ack: str | None
    application_ack: str | None


@dataclass(frozen=True)
class Adt:
    """What one ADT message says, normalised."""

    header: Header
    trigger: str
    control_id: str
    facility_id: str
    visit_number: str
    case_id: str
    details: DischargeDetails | None  # None for cancels: they need no patient data
    occurred_at: datetime | None  # EVN-6, else EVN-2, else MSH-7
    deceased: bool = False
    readmission_flagged: bool = False
    reason: str | None = None
    nulled: tuple[str, ...] = ()

    @property
    def source(self) -> Source:
        return Source(channel=Channel.HL7V2, message_id=self.control_id, trigger=self.trigger)


@dataclass(frozen=True)
class CaseState:
    """What intake already knows when it reads a message (loaded by the handler)."""

    planning_started: bool = False  # an earlier pending, registered or updated discharge of this case
    previous: DischargeDetails | None = None  # its details, when they can be read again
    prior_discharge: PriorDischarge | None = None  # the patient's latest discharge before this admit


@dataclass(frozen=True)
class Reading:
    """One message read and checked: an Adt to take, or the problem to answer with (and its header, if any)."""

    header: Header | None
    adt: Adt | None = None
    problem: Problem | None = None

    @property
    def ignored(self) -> bool:
        """Acknowledged without an event: a trigger the mapping lists in `ignored_triggers`."""
        return self.adt is None and self.problem is None


def read_message(raw: bytes, mapping: Hl7Mapping) -> Reading:
    """Parse, check the header, read the ADT content: everything about a message that needs no stored state."""
    try:
        message = parse(raw)
    except Er7Error as error:
        header = read_header(error.header) if error.header else None
        # With a readable MSH the sender can fix the content (AE); without one we cannot tell what it was (AR).
        return Reading(header, problem=Problem("content" if header else "unsupported", 100, error.reason))
    header = read_header(message)
    problem = check_header(header, mapping)
    if problem is not None or header.trigger not in SUPPORTED_TRIGGERS:
        return Reading(header, problem=problem)
    try:
        return Reading(header, read_adt(message, header, mapping))
    except Refused as refused:
        return Reading(header, problem=refused.problem)


def read_header(message: Message) -> Header:
    msh = message.header
    evn = message.segment("EVN")
    return Header(
        msh=msh,
        delimiters=message.delimiters,
        charset=message.charset,
        control_id=msh.get(10),
        # MSH-4 is an HD: namespace id, else the universal id (an OID) names the facility.
        sending_facility=msh.get(4, 1) or msh.get(4, 2),
        message_type=(msh.get(9, 1) or "").upper() or None,
        # MSH-9.2 is authoritative; EVN-1 only backs it up (EVN-1 is retained for backward compatibility, and real
        # senders leave it stale, e.g. EVN-1 = A01 in an A03).
        trigger=(msh.get(9, 2) or (evn.get(1) if evn else None) or "").upper() or None,
        version=msh.get(12),
        processing_id=(msh.get(11) or "").upper() or None,
        accept_ack=msh.get(15),
        application_ack=msh.get(16),
    )


def check_header(header: Header, mapping: Hl7Mapping) -> Problem | None:
    """HL7 v2.5 §2.9.2: AR when MSH-9, MSH-11 or MSH-12 is not supported; AE when a field we need is missing."""
    if header.version is None or not SUPPORTED_VERSION.fullmatch(header.version):
        return Problem("unsupported", 203, "only HL7 v2.3 to v2.8 are accepted", "MSH", 12)
    if header.message_type != "ADT":
        return Problem("unsupported", 200, "only ADT messages are accepted", "MSH", 9, 1)
    if header.trigger not in SUPPORTED_TRIGGERS | mapping.ignored_triggers:
        return Problem("unsupported", 201, "ADT trigger event not taken: see docs/hl7v2.md", "MSH", 9, 2)
    if header.processing_id not in mapping.processing_ids:
        return Problem("unsupported", 202, "processing id not accepted by this listener", "MSH", 11)
    if header.control_id is None:
        return Problem("content", 101, "MSH-10 message control id is required", "MSH", 10)
    if header.sending_facility is None:
        return Problem("content", 101, "MSH-4 sending facility is required to name the case", "MSH", 4)
    # Both are kept in the archive's 200-character columns; longer ones are not ids a facility means.
    if len(header.control_id) > MAX_ID_LENGTH:
        return Problem("content", 104, f"MSH-10 longer than {MAX_ID_LENGTH} characters", "MSH", 10)
    if len(header.sending_facility) > MAX_ID_LENGTH:
        return Problem("content", 104, f"MSH-4 longer than {MAX_ID_LENGTH} characters", "MSH", 4)
    return None


def read_adt(message: Message, header: Header, mapping: Hl7Mapping) -> Adt:
    """Read a message whose header passed `check_header`. Raises Refused when the content is wrong."""
    try:
        return _read_adt(message, header, mapping)
    except ValidationError as error:
        # A value that passed HL7's rules but not the event model's; the pydantic message may quote it (PHI).
        raise Refused(Problem("content", 102, f"{error.error_count()} value(s) do not fit the event model")) from None


def _read_adt(message: Message, header: Header, mapping: Hl7Mapping) -> Adt:
    assert header.trigger and header.control_id and header.sending_facility, "check_header passes first"
    facility_id = header.sending_facility
    pv1 = message.segment("PV1")
    if pv1 is None:
        raise Refused(Problem("content", 100, "the PV1 segment is missing", "PV1"))
    visit_number = pv1.get(19)
    if visit_number is None:
        raise Refused(Problem("content", 101, "PV1-19 visit number is required to name the case", "PV1", 19))
    zone = mapping.timezone_of(facility_id)
    evn = message.segment("EVN")
    # EVN-6 (occurred), EVN-2 (recorded) and MSH-7 only back up PV1 times: a malformed one is skipped, not refused.
    occurred_at = _lenient(evn, 6, zone) or _lenient(evn, 2, zone) or _lenient(message.header, 7, zone)
    details = None
    if header.trigger not in CANCELS:
        details = read_details(message, facility_id=facility_id, visit_number=visit_number, zone=zone, mapping=mapping)
    reason = (evn.get(4, 2) or evn.get(4)) if evn else None  # EVN-4 event reason code (table 0062)
    return Adt(
        header=header,
        trigger=header.trigger,
        control_id=header.control_id,
        facility_id=facility_id,
        visit_number=visit_number,
        case_id=case_id_for(facility_id, visit_number),
        details=details,
        occurred_at=occurred_at,
        deceased=header.trigger == "A03" and is_deceased(message, mapping),
        readmission_flagged=(pv1.get(13) or "").upper() in READMISSION_INDICATORS,
        reason=reason,
        nulled=nulled_paths(message),
    )


def event_for(adt: Adt, state: CaseState) -> Event | None:
    """The one event an ADT message becomes, or None when it changes nothing intake acts on."""
    trigger, source = adt.trigger, adt.source
    if trigger in CANCELS:
        if trigger == "A11":
            return AdmissionCancelled(
                case_id=adt.case_id, facility_id=adt.facility_id, visit_number=adt.visit_number, source=source
            )
        return _cancelled(adt, pending_only=trigger == "A25", reason=adt.reason)
    details = adt.details
    assert details is not None, "read_adt reads details for every trigger but cancels"
    if trigger == "A16":
        return DischargePending(case_id=adt.case_id, discharge=details, source=source)
    if trigger == "A03":
        if adt.deceased:
            # No ride, peer or referral for a patient who died: downstream stops planning as for a cancellation.
            return _cancelled(adt, pending_only=False, reason="patient died (PID-30 / PV1-36)")
        if details.discharged_at is None and adt.occurred_at is not None:
            details = details.model_copy(update={"discharged_at": adt.occurred_at})
        return DischargeRegistered(case_id=adt.case_id, discharge=details, source=source)
    if trigger == "A08":
        if not state.planning_started:
            return None  # an update of a stay with no discharge planned: nothing downstream to change
        merged = merge_update(state.previous, details, adt.nulled)
        changed = changed_fields(state.previous, merged, adt.nulled)
        return DischargeUpdated(case_id=adt.case_id, discharge=merged, changed_fields=changed, source=source)
    if trigger in ADMITS:
        admitted_at = details.admitted_at or adt.occurred_at
        if admitted_at is None:
            return None
        return readmission_of(
            case_id=adt.case_id,
            facility_id=adt.facility_id,
            visit_number=adt.visit_number,
            admitted_at=admitted_at,
            prior=state.prior_discharge,
            flagged=adt.readmission_flagged,
            source=source,
        )
    return None  # a trigger the mapping acknowledges without an event (Hl7Mapping.ignored_triggers)


def _lenient(segment: Segment | None, position: int, zone: tzinfo) -> datetime | None:
    try:
        return timestamp(segment, position, zone)
    except Refused:
        return None


def _cancelled(adt: Adt, *, pending_only: bool, reason: str | None) -> DischargeCancelled:
    return DischargeCancelled(
        case_id=adt.case_id,
        facility_id=adt.facility_id,
        visit_number=adt.visit_number,
        was_pending_only=pending_only,
        reason=reason,
        source=adt.source,
    )
