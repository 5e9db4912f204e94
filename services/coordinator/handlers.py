"""Coordinator's use cases: put each event on its case's timeline and keep the case row current."""

from __future__ import annotations

from shared.clock import Clock
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

from .db import CaseView, TimelineEntry
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
