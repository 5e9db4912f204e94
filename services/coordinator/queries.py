"""Reads of the coordinator's model shared by the JSON API and the web pages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import CaseView, TimelineEntry
from .domain import StepState, derive_plan
from .reports import CaseHistory
from .web_auth import Role, SessionUser


class PlanStep(BaseModel):
    state: StepState
    details: dict[str, Any]


class TimelineItem(BaseModel):
    event_id: str
    type: str
    source: str
    time: datetime
    data: dict[str, Any]


class CaseOut(BaseModel):
    case_id: str
    facility_id: str | None
    visit_number: str | None
    unit: str | None
    patient: str | None
    status: str
    discharge_at: datetime | None
    specialist_id: str | None
    plan: dict[str, PlanStep]
    timeline: list[TimelineItem]

    @property
    def attention(self) -> int:
        return min(
            (0 if s.state is StepState.FAILED else 1 if s.state is StepState.AT_RISK else 2) for s in self.plan.values()
        )


async def timeline_of(session: AsyncSession, case_ids: list[str]) -> dict[str, list[TimelineEntry]]:
    by_case: dict[str, list[TimelineEntry]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return by_case
    entries = (
        await session.exec(
            select(TimelineEntry)
            .where(col(TimelineEntry.case_id).in_(case_ids))
            .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
        )
    ).all()
    for entry in entries:
        by_case[entry.case_id].append(entry)
    return by_case


def case_out(case: CaseView, entries: list[TimelineEntry]) -> CaseOut:
    items = [
        TimelineItem(event_id=e.event_id, type=e.ce_type, source=e.source, time=e.occurred_at, data=json.loads(e.data))
        for e in entries
    ]
    plan = derive_plan((i.type, i.data) for i in items)
    return CaseOut(
        case_id=case.case_id,
        facility_id=case.facility_id,
        visit_number=case.visit_number,
        unit=case.unit,
        patient=case.patient_display,
        status=case.status,
        discharge_at=case.discharge_at,
        specialist_id=case.specialist_id,
        plan={name: PlanStep(state=step.state, details=step.details) for name, step in plan.items()},
        timeline=items,
    )


async def load_case(session: AsyncSession, case: CaseView) -> CaseOut:
    return case_out(case, (await timeline_of(session, [case.case_id]))[case.case_id])


async def find_cases(
    session: AsyncSession,
    *,
    facility: str | None = None,
    visit_number: str | None = None,
    status: str | None = None,
    unit: str | None = None,
    viewer: SessionUser | None = None,
    discharge_from: datetime | None = None,
    discharge_to: datetime | None = None,
    limit: int = 200,
    by_discharge_time: bool = False,
) -> list[CaseOut]:
    query = select(CaseView)
    for column, value in (
        (CaseView.facility_id, facility),
        (CaseView.visit_number, visit_number),
        (CaseView.status, status),
        (CaseView.unit, unit),
    ):
        if value:
            query = query.where(col(column) == value)
    if discharge_from is not None:
        query = query.where(or_(col(CaseView.discharge_at) >= discharge_from, col(CaseView.discharge_at).is_(None)))
    if discharge_to is not None:
        query = query.where(col(CaseView.discharge_at) < discharge_to)
    if viewer is not None and viewer.role is Role.SPECIALIST:
        query = query.where(col(CaseView.specialist_id) == (viewer.specialist_id or "\x00"))
    if viewer is not None and viewer.role is Role.FACILITY_STAFF:
        query = query.where(col(CaseView.facility_id) == (viewer.facility_id or "\x00"))
    order = col(CaseView.discharge_at) if by_discharge_time else col(CaseView.updated_at).desc()
    cases = (await session.exec(query.order_by(order).limit(min(limit, 2000)))).all()
    timelines = await timeline_of(session, [c.case_id for c in cases])
    return [case_out(case, timelines[case.case_id]) for case in cases]


async def board(session: AsyncSession, now: datetime, viewer: SessionUser | None, **filters: Any) -> list[CaseOut]:
    """Today's and the coming days' discharges (and yesterday's, still settling), the most urgent first."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    cases = await find_cases(
        session,
        viewer=viewer,
        discharge_from=start,
        discharge_to=now + timedelta(days=8),
        limit=2000,
        by_discharge_time=True,
        **filters,
    )
    return sorted(cases, key=lambda c: (c.attention, c.discharge_at or now))


async def histories(session: AsyncSession, facility: str | None = None) -> list[CaseHistory]:
    query = select(CaseView)
    if facility:
        query = query.where(col(CaseView.facility_id) == facility)
    cases = (await session.exec(query)).all()
    timelines = await timeline_of(session, [c.case_id for c in cases])
    return [
        CaseHistory(
            c.case_id, c.facility_id, [(e.ce_type, e.occurred_at, json.loads(e.data)) for e in timelines[c.case_id]]
        )
        for c in cases
    ]


__all__ = ["CaseOut", "PlanStep", "TimelineItem", "board", "find_cases", "histories", "load_case"]
