"""Coordinator's JSON API (API key): cases with plan and timeline, the board, caseloads and reports."""

import json
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, SecretStr
from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from .db import AuditEntry, CaseView, DeadLetterSeen
from .queries import CaseOut, board, find_cases, histories, load_case
from .reports import as_csv, as_rows, build_reports
from .users import put_user
from .web_auth import Role


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["cases"])
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    @router.get("/cases/{case_id}", summary="One case: its plan (a state per step) and its timeline")
    async def get_case(case_id: str, principal: Principal) -> CaseOut:
        async with runtime.db.transaction() as session:
            case = await session.get(CaseView, case_id)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
            # A view through the API is a view of PHI like one on the board (HIPAA §164.312(b)): audited the same way.
            session.add(
                AuditEntry(
                    at=runtime.clock.now(),
                    username=f"api:{principal}",
                    role="api",
                    case_id=case_id,
                    action="view_api",
                    allowed=True,
                )
            )
            return await load_case(session, case)

    @router.get("/cases", summary="Cases by facility, visit number and status")
    async def get_cases(
        facility: str | None = None, visit_number: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[CaseOut]:
        async with runtime.db.sessions() as session:
            return await find_cases(session, facility=facility, visit_number=visit_number, status=status, limit=limit)

    @router.get("/board", summary="Today's and the coming days' discharges, at-risk first")
    async def get_board(
        facility: str | None = None, unit: str | None = None, status: str | None = None
    ) -> list[CaseOut]:
        async with runtime.db.sessions() as session:
            return await board(session, runtime.clock.now(), None, facility=facility, unit=unit, status=status)

    @router.get(
        "/dead-letters",
        summary="Records that services dead-lettered, newest first: where, why and for which case (no bodies)",
        tags=["dead letters"],
    )
    async def get_dead_letters(
        case_id: str | None = None,
        reason: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterSeen]:
        query = select(DeadLetterSeen).order_by(col(DeadLetterSeen.recorded_at).desc()).limit(limit)
        if case_id is not None:
            query = query.where(col(DeadLetterSeen.case_id) == case_id)
        if reason is not None:
            query = query.where(col(DeadLetterSeen.reason) == reason)
        async with runtime.db.sessions() as session:
            return list((await session.exec(query)).all())

    @router.get("/specialists/{specialist_id}/caseload", summary="A specialist's active cases")
    async def get_caseload(specialist_id: str) -> list[CaseOut]:
        async with runtime.db.sessions() as session:
            cases = await find_cases(session, limit=500)
        return [c for c in cases if c.specialist_id == specialist_id and c.status != "cancelled"]

    @router.get(
        "/reports",
        summary="Per facility: follow-up 7/30 days (operational FUH/FUI/FUA proxies), rides, "
        "acknowledgement times, referrals, readmissions; add format=csv for CSV",
    )
    async def get_reports(
        start: datetime | None = None, end: datetime | None = None, facility: str | None = None, format: str = "json"
    ) -> Response:
        end = end or runtime.clock.now()
        start = start or end - timedelta(days=30)
        async with runtime.db.sessions() as session:
            reports = build_reports(await histories(session, facility), start, end)
        if format == "csv":
            return Response(as_csv(reports), media_type="text/csv")
        body = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "label": "operational proxies, not certified HEDIS",
            "facilities": as_rows(reports),
            "cases": {
                r.facility_id: {
                    "denominator": r.discharges,
                    "followup_7d": r.followup_7d,
                    "followup_30d": r.followup_30d,
                }
                for r in reports.values()
            },
        }
        return Response(json.dumps(body, default=str), media_type="application/json")

    @router.put(
        "/users/{username}",
        tags=["users"],
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Create or update a web user (for provisioning from an identity system)",
    )
    async def put_web_user(username: str, user: UserIn) -> None:
        await put_user(
            runtime.db, username, user.password.get_secret_value(), user.role, user.facility_id, user.specialist_id
        )

    @router.get("/audit", tags=["users"], summary="Who viewed which case, allowed or refused")
    async def get_audit(case_id: str | None = None, username: str | None = None, limit: int = 200) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(min(limit, 1000))
        if case_id:
            query = query.where(col(AuditEntry.case_id) == case_id)
        if username:
            query = query.where(col(AuditEntry.username) == username)
        async with runtime.db.sessions() as session:
            return list((await session.exec(query)).all())

    return router


class UserIn(BaseModel):
    password: SecretStr = Field(min_length=12)
    role: Role
    facility_id: str | None = None
    specialist_id: str | None = None
