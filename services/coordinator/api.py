"""Coordinator's HTTP API: a case with its plan and timeline, and case search."""

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.runtime import ServiceRuntime

from .db import CaseView, TimelineEntry
from .domain import StepState, derive_plan


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
    status: str
    discharge_at: datetime | None
    plan: dict[str, PlanStep]
    timeline: list[TimelineItem]


async def load_case(session: AsyncSession, case: CaseView) -> CaseOut:
    entries = (
        await session.exec(
            select(TimelineEntry)
            .where(col(TimelineEntry.case_id) == case.case_id)
            .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
        )
    ).all()
    items = [
        TimelineItem(event_id=e.event_id, type=e.ce_type, source=e.source, time=e.occurred_at, data=json.loads(e.data))
        for e in entries
    ]
    plan = derive_plan((i.type, i.data) for i in items)
    return CaseOut(
        case_id=case.case_id,
        facility_id=case.facility_id,
        visit_number=case.visit_number,
        status=case.status,
        discharge_at=case.discharge_at,
        plan={name: PlanStep(state=step.state, details=step.details) for name, step in plan.items()},
        timeline=items,
    )


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/cases", tags=["cases"])

    @router.get("/{case_id}", summary="One case: its plan (a state per step) and its timeline")
    async def get_case(case_id: str) -> CaseOut:
        async with runtime.db.sessions() as session:
            case = await session.get(CaseView, case_id)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
            return await load_case(session, case)

    @router.get("", summary="Cases by facility, visit number and status")
    async def find_cases(
        facility: str | None = None,
        visit_number: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[CaseOut]:
        query = select(CaseView).order_by(col(CaseView.updated_at).desc()).limit(min(limit, 500))
        if facility:
            query = query.where(col(CaseView.facility_id) == facility)
        if visit_number:
            query = query.where(col(CaseView.visit_number) == visit_number)
        if status:
            query = query.where(col(CaseView.status) == status)
        async with runtime.db.sessions() as session:
            return [await load_case(session, case) for case in (await session.exec(query)).all()]

    return router
