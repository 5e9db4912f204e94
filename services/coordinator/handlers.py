"""Coordinator's use cases: put each event on its case's timeline and keep the case row current."""

from __future__ import annotations

from datetime import datetime

from aiokafka import ConsumerRecord

from shared.clock import Clock
from shared.db import Database
from shared.envelope import header_map
from shared.events import (
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.inbox import Delivery

from .db import CaseView, DeadLetterSeen, TimelineEntry
from .domain import case_status, patient_display


async def record_on_timeline(event: Event, delivery: Delivery, *, clock: Clock) -> None:
    session, envelope, now = delivery.session, delivery.envelope, clock.now()
    session.add(
        TimelineEntry(
            case_id=event.case_id,
            event_id=envelope.id,
            ce_type=envelope.type,
            source=envelope.source,
            occurred_at=envelope.time,
            recorded_at=now,
            data=event.model_dump_json(),
        )
    )
    case = await session.get(CaseView, event.case_id) or CaseView(case_id=event.case_id, updated_at=now)
    case.status = case_status(case.status, envelope.type)
    if isinstance(event, DischargePending | DischargeRegistered | DischargeUpdated):
        details = event.discharge
        case.facility_id = details.facility.id
        case.visit_number = details.visit_number
        case.unit = details.facility.unit
        case.patient_display = patient_display(details.patient.family_name, details.patient.given_name)
        case.discharge_at = details.discharged_at or details.expected_discharge_at or case.discharge_at
    elif isinstance(event, SpecialistAssigned | SpecialistReassigned):
        case.specialist_id = event.specialist.specialist_id
    elif isinstance(event, SpecialistReleased) and case.specialist_id == event.specialist_id:
        case.specialist_id = None
    case.updated_at = now
    session.add(case)


async def note_dead_letter(record: ConsumerRecord, *, db: Database, clock: Clock) -> None:
    """Keep what staff need to know of a dead letter: where, why, which case. Redelivery finds the row and stops."""
    key = f"{record.topic}:{record.partition}:{record.offset}"
    headers = header_map(record.headers or ())
    case_id = headers.get("ce_subject") or (record.key or b"").decode("utf-8", errors="replace") or None
    async with db.transaction() as session:
        if await session.get(DeadLetterSeen, key) is not None:
            return
        session.add(
            DeadLetterSeen(
                id=key,
                dlq_topic=record.topic,
                original_topic=headers.get("dlq_topic", record.topic.removesuffix(".dlq")),
                reason=headers.get("dlq_reason", "unknown")[:64],
                service=headers.get("dlq_service"),
                ce_type=headers.get("ce_type"),
                case_id=case_id[:64] if case_id else None,
                attempts=int(headers["dlq_attempts"]) if headers.get("dlq_attempts", "").isdigit() else None,
                failed_at=_timestamp(headers.get("dlq_failed_at")),
                recorded_at=clock.now(),
            )
        )


def _timestamp(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None
