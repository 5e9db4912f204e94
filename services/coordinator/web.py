"""The board, case, caseload, reports and summary pages: server-rendered, live through server-sent events."""

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from .charts import bar_chart
from .db import AuditEntry, CaseView, TimelineEntry, WebUser
from .domain import PLAN_STEPS
from .queries import board, find_cases, histories, load_case
from .reports import as_csv, as_rows, build_reports
from .settings import CoordinatorSettings
from .summary_pdf import summary_pdf
from .web_auth import COOKIE, Role, SessionSigner, SessionUser, may_view, verify_password

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
TEMPLATES.globals["plan_steps"] = PLAN_STEPS
STATE_LABEL = {
    "pending": "pending",
    "in_progress": "in progress",
    "done": "done",
    "at_risk": "at risk",
    "failed": "failed",
    "not_needed": "not needed",
}


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the sign-in page."""


def session_signer(settings: CoordinatorSettings) -> SessionSigner:
    secret = (
        settings.session_secret.get_secret_value().encode()
        if settings.session_secret
        else hmac.new(
            settings.api_keys.get_secret_value().encode(), b"coordinator-web-session", hashlib.sha256
        ).digest()
    )
    return SessionSigner(secret, settings.session_hours)


def build_web_router(runtime: ServiceRuntime) -> APIRouter:
    settings: CoordinatorSettings = runtime.settings  # type: ignore[assignment]
    signer = session_signer(settings)
    router = APIRouter(include_in_schema=False)

    def page(name: str, **context: object) -> HTMLResponse:
        context.setdefault("state_label", STATE_LABEL)
        return HTMLResponse(TEMPLATES.get_template(name).render(**context))

    def viewer(request: Request) -> SessionUser:
        user = signer.read(request.cookies.get(COOKIE))
        if user is None:
            raise LoginRequired
        return user

    Viewer = Annotated[SessionUser, Depends(viewer)]

    async def audit(user: SessionUser, case_id: str, action: str, allowed: bool) -> None:
        async with runtime.db.transaction() as session:
            session.add(
                AuditEntry(
                    at=runtime.clock.now(),
                    username=user.username,
                    role=user.role,
                    case_id=case_id,
                    action=action,
                    allowed=allowed,
                )
            )

    async def viewable_case(user: SessionUser, case_id: str, action: str):
        async with runtime.db.sessions() as session:
            case = await session.get(CaseView, case_id)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
            allowed = may_view(user, case)
            await audit(user, case_id, action, allowed)
            if not allowed:
                raise HTTPException(status.HTTP_403_FORBIDDEN, "this case is not assigned to you")
            return await load_case(session, case)

    @router.get("/login")
    async def login_form(error: str | None = None) -> HTMLResponse:
        return page("login.html", error=error)

    @router.post("/login")
    async def login(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
        async with runtime.db.sessions() as session:
            user = await session.get(WebUser, username)
        if user is None or not verify_password(password, user.password_hash):
            return page("login.html", error="Unknown user or wrong password.")
        response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        response.set_cookie(
            COOKIE, signer.issue(SessionUser.of(user)), httponly=True, samesite="strict", max_age=signer.seconds
        )
        return response

    @router.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/")
    async def home(user: Viewer) -> Response:
        target = "/caseload" if user.role is Role.SPECIALIST else "/board"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)

    async def board_cases(user: SessionUser, facility: str | None, unit: str | None, state: str | None):
        async with runtime.db.sessions() as session:
            return await board(session, runtime.clock.now(), user, facility=facility, unit=unit, status=state)

    @router.get("/board")
    async def board_page(
        user: Viewer,
        facility: str | None = None,
        unit: str | None = None,
        status_filter: Annotated[str | None, Query(alias="status")] = None,
    ) -> HTMLResponse:
        cases = await board_cases(user, facility, unit, status_filter)
        return page(
            "board.html",
            user=user,
            cases=cases,
            facility=facility or "",
            unit=unit or "",
            status=status_filter or "",
            now=runtime.clock.now(),
        )

    @router.get("/board/rows")
    async def board_rows(
        user: Viewer,
        facility: str | None = None,
        unit: str | None = None,
        status_filter: Annotated[str | None, Query(alias="status")] = None,
    ) -> HTMLResponse:
        return page("board_rows.html", cases=await board_cases(user, facility, unit, status_filter))

    @router.get("/cases/{case_id}")
    async def case_page(case_id: str, user: Viewer) -> HTMLResponse:
        return page("case.html", user=user, case=await viewable_case(user, case_id, "view"))

    @router.get("/cases/{case_id}/fragment")
    async def case_fragment(case_id: str, user: Viewer) -> HTMLResponse:
        return page("case_body.html", case=await viewable_case(user, case_id, "view"))

    @router.get("/cases/{case_id}/summary")
    async def summary_page(case_id: str, user: Viewer) -> HTMLResponse:
        return page(
            "summary.html",
            user=user,
            case=await viewable_case(user, case_id, "summary"),
            printed_at=runtime.clock.now(),
        )

    @router.get("/cases/{case_id}/summary.pdf")
    async def summary_download(case_id: str, user: Viewer) -> Response:
        case = await viewable_case(user, case_id, "summary_pdf")
        return Response(
            summary_pdf(case, runtime.clock.now()),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="summary-{case_id[:8]}.pdf"'},
        )

    @router.get("/caseload")
    async def caseload_page(user: Viewer, specialist: str | None = None) -> HTMLResponse:
        if user.role is Role.SPECIALIST:
            specialist = user.specialist_id
        elif user.role is Role.FACILITY_STAFF:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "caseloads are for specialists and supervisors")
        async with runtime.db.sessions() as session:
            cases = [
                c
                for c in await find_cases(session, viewer=user, limit=500)
                if specialist is None or c.specialist_id == specialist
            ]
        pending = [c for c in cases if c.plan["specialist"].state == "in_progress"]
        return page("caseload.html", user=user, cases=cases, pending=pending, specialist=specialist or "")

    @router.get("/reports")
    async def reports_page(user: Viewer, facility: str | None = None, days: int = 30, format: str = "html") -> Response:
        if user.role is Role.SPECIALIST:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "reports are for staff, coordinators and supervisors")
        if user.role is Role.FACILITY_STAFF:
            facility = user.facility_id
        end = runtime.clock.now()
        start = end - timedelta(days=days)
        async with runtime.db.sessions() as session:
            reports = build_reports(await histories(session, facility), start, end)
        if format == "csv":
            return Response(
                as_csv(reports),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="report.csv"'},
            )
        rows = as_rows(reports)
        labels = [r["facility_id"] for r in rows]
        charts = [
            bar_chart("Follow-up within 7 days", labels, [r["followup_7d_rate"] or 0 for r in rows], percent=True),
            bar_chart("Follow-up within 30 days", labels, [r["followup_30d_rate"] or 0 for r in rows], percent=True),
            bar_chart("Rides home completed", labels, [r["rides_completed"] for r in rows]),
            bar_chart("Rides home failed or no-show", labels, [r["rides_failed"] + r["rides_no_show"] for r in rows]),
            bar_chart("Minutes to acknowledgement (p50)", labels, [r["ack_minutes_p50"] or 0 for r in rows]),
            bar_chart("Referrals closed", labels, [r["referrals_closed"] for r in rows]),
            bar_chart("Readmissions within 30 days", labels, [r["readmissions_30d"] for r in rows]),
        ]
        return page(
            "reports.html",
            user=user,
            rows=rows,
            reports=reports,
            charts=charts,
            start=start,
            end=end,
            facility=facility or "",
            days=days,
        )

    @router.get("/live")
    async def live(request: Request, user: Viewer, case: str | None = None) -> StreamingResponse:
        """Server-sent events: one message per new timeline entry the viewer may see."""

        async def stream() -> AsyncIterator[str]:
            async with runtime.db.sessions() as session:
                last = (
                    await session.exec(select(TimelineEntry.id).order_by(col(TimelineEntry.id).desc()).limit(1))
                ).first() or 0
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                async with runtime.db.sessions() as session:
                    query = (
                        select(TimelineEntry, CaseView)
                        .join(CaseView, col(CaseView.case_id) == col(TimelineEntry.case_id))
                        .where(col(TimelineEntry.id) > last)
                        .order_by(col(TimelineEntry.id))
                        .limit(200)
                    )
                    if case:
                        query = query.where(col(TimelineEntry.case_id) == case)
                    rows = (await session.exec(query)).all()
                for entry, case_row in rows:
                    last = max(last, entry.id or 0)
                    if may_view(user, case_row):
                        yield f"data: {json.dumps({'case_id': entry.case_id, 'type': entry.ce_type})}\n\n"
                await asyncio.sleep(settings.live_poll_s)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    return router


def format_time(value: datetime | None) -> str:
    return value.strftime("%a %d %b %H:%M") if value else "—"


TEMPLATES.filters["when"] = format_time
