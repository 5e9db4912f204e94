"""Intake's use cases: archive the raw input and stage the resulting event, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import (
    EVENT_TYPES,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
)
from shared.runtime import ServiceRuntime

from .db import PatientDischarge, ReceivedMessage
from .domain import content_digest
from .facilities import facility_directory, with_facility_details
from .fhir import Admission
from .hl7.adt import ADMITS, Adt, CaseState, event_for
from .readmission import PriorDischarge, patient_keys, readmission_of
from .senders import SenderPolicy, SenderRefused, facility_of


@dataclass(frozen=True)
class Accepted:
    case_id: str
    event_id: str | None
    event_type: str | None  # None: taken and kept, but nothing for the platform to act on (an admit, a transfer)
    duplicate: bool


async def accept(
    runtime: ServiceRuntime,
    *,
    event: Event,
    channel: str,
    sender: str,
    message_id: str,
    raw: bytes,
    content_type: str,
    revise: Callable[[Event, Event | None], Event | None] | None = None,
) -> Accepted:
    """Archive `raw` and stage `event`; a resend (same sender, id and content) is archived but emits nothing.

    `revise` (FHIR, which has no update trigger) turns `event` into what it means against the case's last discharge
    event, read in the same transaction; None means it changes nothing and is kept as a duplicate.
    """
    await _check_sender(runtime, sender, facility_of(event), channel, message_id, raw, content_type, event.case_id)
    digest = content_digest(raw)
    now = runtime.clock.now()
    event = with_facility_details(event, facility_directory(runtime))
    async with runtime.db.transaction() as session:
        duplicate = await _sent_before(session, channel, sender, message_id, digest) is not None
        if not duplicate and revise is not None:
            revised = revise(event, await last_discharge_event(session, event.case_id))
            duplicate, event = revised is None, revised or event
        event_id = None
        if not duplicate:
            event_id = outbox.add(session, event, source=f"/{runtime.name}", now=now).event_id
            await remember_discharge(session, event, now=now)
        session.add(
            received(now, channel, sender, message_id, raw, content_type, duplicate, event.case_id, event.ce_type)
        )
    if not duplicate:
        runtime.relay.wake()
    return Accepted(case_id=event.case_id, event_id=event_id, event_type=type(event).ce_type, duplicate=duplicate)


async def accept_admission(
    runtime: ServiceRuntime,
    *,
    admission: Admission,
    channel: str,
    sender: str,
    message_id: str,
    raw: bytes,
    content_type: str,
) -> Accepted:
    """Archive an admit or transfer notification; an admit within 30 days of the patient's last discharge (or one
    the facility marks as a readmission) stages patient.readmitted, as HL7 A01 does. Nothing else is emitted."""
    facility = admission.facility_id
    await _check_sender(runtime, sender, facility, channel, message_id, raw, content_type, admission.case_id)
    digest, now = content_digest(raw), runtime.clock.now()
    event: Event | None = None
    async with runtime.db.transaction() as session:
        earlier = await _sent_before(session, channel, sender, message_id, digest)
        duplicate = earlier is not None
        if not duplicate and admission.kind == "admit" and admission.admitted_at is not None:
            keys = patient_keys(facility, admission.identifiers)
            prior = await _last_discharge(session, keys, other_than=admission.case_id, before=admission.admitted_at)
            event = readmission_of(
                case_id=admission.case_id,
                facility_id=facility,
                visit_number=admission.visit_number,
                admitted_at=admission.admitted_at,
                prior=prior,
                flagged=admission.flagged,
                source=admission.source,
            )
        event_id = outbox.add(session, event, source=f"/{runtime.name}", now=now).event_id if event else None
        event_type = event.ce_type if event else None
        session.add(
            received(now, channel, sender, message_id, raw, content_type, duplicate, admission.case_id, event_type)
        )
    if event is not None:
        runtime.relay.wake()
    event_type = earlier.event_type if earlier is not None else (event.ce_type if event else None)
    return Accepted(admission.case_id, event_id, event_type, duplicate)


def received(
    now: datetime,
    channel: str,
    sender: str,
    message_id: str,
    raw: bytes,
    content_type: str,
    duplicate: bool,
    case_id: str,
    event_type: str | None,
) -> ReceivedMessage:
    """The archive row of a message taken: accepted, or a duplicate of one accepted before."""
    return ReceivedMessage(
        received_at=now,
        channel=channel,
        sender=sender,
        message_id=message_id,
        content_sha256=content_digest(raw),
        content_type=content_type,
        raw=raw,
        outcome="duplicate" if duplicate else "accepted",
        case_id=case_id,
        event_type=event_type,
    )


async def _sent_before(
    session: AsyncSession, channel: str, sender: str, message_id: str, digest: str
) -> ReceivedMessage | None:
    """A resend: the same sender, message id and content accepted before."""
    return (
        await session.exec(
            select(ReceivedMessage).where(
                col(ReceivedMessage.channel) == channel,
                col(ReceivedMessage.sender) == sender,
                col(ReceivedMessage.message_id) == message_id,
                col(ReceivedMessage.outcome) == "accepted",
                col(ReceivedMessage.content_sha256) == digest,
            )
        )
    ).first()


async def _check_sender(
    runtime: ServiceRuntime,
    sender: str,
    facility_id: str,
    channel: str,
    message_id: str,
    raw: bytes,
    content_type: str,
    case_id: str,
) -> None:
    """Raise SenderRefused for a sender not bound to the facility, keeping the refused input with why."""
    try:
        sender_policy(runtime).check(sender, facility_id)
    except SenderRefused as refused:
        await archive_rejected(
            runtime,
            channel=channel,
            sender=sender,
            message_id=message_id,
            raw=raw,
            content_type=content_type,
            error=str(refused),
            case_id=case_id,
        )
        raise


def sender_policy(runtime: ServiceRuntime) -> SenderPolicy:
    """The intake settings' sender bindings (INTAKE_SENDER_FACILITIES)."""
    return SenderPolicy.of(getattr(runtime.settings, "sender_facilities", {}))


DISCHARGE_EVENT_TYPES = tuple(
    cls.ce_type for cls in (DischargePending, DischargeRegistered, DischargeUpdated, DischargeCancelled)
)


async def last_discharge_event(session: AsyncSession, case_id: str) -> Event | None:
    """The last discharge event intake staged for a case, by any channel (the outbox keeps rows once sent)."""
    record = (
        await session.exec(
            select(outbox.OutboxRecord)
            .where(
                col(outbox.OutboxRecord.key) == case_id,
                col(outbox.OutboxRecord.ce_type).in_(DISCHARGE_EVENT_TYPES),
            )
            .order_by(col(outbox.OutboxRecord.id).desc())
            .limit(1)
        )
    ).first()
    return EVENT_TYPES[record.ce_type].model_validate_json(record.body) if record else None


async def remember_discharge(session: AsyncSession, event: Event, *, now: datetime) -> None:
    """Keep who was discharged when, so a later admit can be recognised as a readmission; forget cancelled ones."""
    if isinstance(event, DischargeRegistered | DischargeCancelled) and not getattr(event, "was_pending_only", False):
        await session.exec(delete(PatientDischarge).where(col(PatientDischarge.case_id) == event.case_id))
    if isinstance(event, DischargeRegistered):
        details = event.discharge
        for key in patient_keys(details.facility.id, details.patient.identifiers):
            session.add(
                PatientDischarge(patient_key=key, case_id=event.case_id, discharged_at=details.discharged_at or now)
            )


# --------------------------------------------------------------------------------------------------- HL7 v2

HL7_CHANNEL = "hl7v2"
HL7_CONTENT_TYPE = "x-application/hl7-v2+er7"


@dataclass(frozen=True)
class Taken:
    """What became of one ADT message."""

    case_id: str
    event_type: str | None
    duplicate: bool
    reused_control_id: bool


async def take_adt(runtime: ServiceRuntime, adt: Adt, *, raw: bytes, force: bool = False) -> Taken:
    """Archive an ADT message and stage the event it means, in one transaction (archive, state, outbox).

    A resend (same facility, MSH-10 and content) is archived as a duplicate and emits nothing. The same MSH-10 with
    other content is taken and flagged: senders reuse control ids (after a restart, from test tools), and dropping
    a real discharge would cost more than reviewing a flagged one. `force` (re-processing) skips the duplicate check.
    """
    digest = content_digest(raw)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        earlier = set(
            (
                await session.exec(
                    select(ReceivedMessage.content_sha256).where(
                        col(ReceivedMessage.channel) == HL7_CHANNEL,
                        col(ReceivedMessage.sender) == adt.facility_id,
                        col(ReceivedMessage.message_id) == adt.control_id,
                        col(ReceivedMessage.outcome) == "accepted",
                    )
                )
            ).all()
        )
        duplicate = digest in earlier and not force
        reused = bool(earlier - {digest})
        event = None if duplicate else event_for(adt, await _case_state(session, adt))
        if event is not None:
            event = with_facility_details(event, facility_directory(runtime))
            outbox.add(session, event, source=f"/{runtime.name}", now=now)
            await remember_discharge(session, event, now=now)
        session.add(
            ReceivedMessage(
                received_at=now,
                channel=HL7_CHANNEL,
                sender=adt.facility_id,
                message_id=adt.control_id,
                content_sha256=digest,
                content_type=HL7_CONTENT_TYPE,
                raw=raw,
                outcome="duplicate" if duplicate else "accepted",
                error="note: MSH-10 reused with different content" if reused else None,
                case_id=adt.case_id,
                event_type=type(event).ce_type if event else None,
            )
        )
    if event is not None:
        runtime.relay.wake()
    return Taken(adt.case_id, type(event).ce_type if event else None, duplicate, reused)


async def archive_rejected(
    runtime: ServiceRuntime,
    *,
    channel: str,
    sender: str,
    message_id: str,
    raw: bytes,
    content_type: str,
    error: str,
    case_id: str | None = None,
    outcome: Literal["rejected", "ignored"] = "rejected",
) -> None:
    """Keep a message that was not taken (or taken without an event), with why, so it can be re-processed."""
    async with runtime.db.transaction() as session:
        session.add(
            ReceivedMessage(
                received_at=runtime.clock.now(),
                channel=channel,
                sender=sender[:200],
                message_id=message_id[:200],
                content_sha256=content_digest(raw),
                content_type=content_type,
                raw=raw,
                outcome=outcome,
                error=error,
                case_id=case_id,
            )
        )


async def _case_state(session: AsyncSession, adt: Adt) -> CaseState:
    last = await last_discharge_event(session, adt.case_id)
    planned = last if isinstance(last, DischargePending | DischargeRegistered | DischargeUpdated) else None
    prior = None
    if adt.trigger in ADMITS and adt.details is not None:
        keys = patient_keys(adt.facility_id, adt.details.patient.identifiers)
        admitted_at = adt.details.admitted_at or adt.occurred_at
        prior = await _last_discharge(session, keys, other_than=adt.case_id, before=admitted_at)
    return CaseState(
        planning_started=planned is not None,
        previous=planned.discharge if planned else None,
        prior_discharge=prior,
    )


async def _last_discharge(
    session: AsyncSession, keys: tuple[str, ...], *, other_than: str, before: datetime | None
) -> PriorDischarge | None:
    rows = (
        await session.exec(
            select(PatientDischarge).where(
                col(PatientDischarge.patient_key).in_(keys), col(PatientDischarge.case_id) != other_than
            )
        )
    ).all()
    # A handful of rows per patient: compared here, where times are aware on every backend.
    candidates = [row for row in rows if before is None or row.discharged_at <= before]
    latest = max(candidates, key=lambda row: row.discharged_at, default=None)
    return PriorDischarge(latest.case_id, latest.discharged_at) if latest else None
