"""Assignment's HTTP API: the roster, assignments (answer, override, change request, consent) and crises."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import col, select

from shared.events.discharge import RecoveryDomain

from .api_models import (
    AnswerIn,
    AssignmentOut,
    CaseMatchOut,
    ChangeRequestIn,
    ConsentIn,
    CrisisAcknowledgeIn,
    CrisisIn,
    CrisisOut,
    ImportResult,
    OfferOut,
    OverrideIn,
    SpecialistOut,
)
from .db import AssignmentRecord, CaseNeeds, CrisisRecord, OfferRecord, SpecialistRecord, SupervisorRecord
from .domain import CrisisClosureIn, RosterIn, SpecialistIn, SupervisorIn
from .handlers import (
    AssignmentContext,
    Conflict,
    NotFound,
    acknowledge_crisis_by_request,
    answer_assignment,
    close_crisis,
    deactivate_specialist,
    flag_crisis,
    override_specialist,
    record_consent,
    request_change,
    upsert_roster,
)

T = TypeVar("T")


async def _run(command: Awaitable[T]) -> T:
    """Run a handler's command, answering 404 or 409 for what it refuses."""
    try:
        return await command
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except Conflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


def build_router(ctx: AssignmentContext) -> APIRouter:
    router = APIRouter(prefix="/v1")

    async def assignment_out(assignment: AssignmentRecord) -> AssignmentOut:
        async with ctx.db.sessions() as session:
            offers = (
                await session.exec(
                    select(OfferRecord)
                    .where(col(OfferRecord.assignment_id) == assignment.id)
                    .order_by(col(OfferRecord.id))
                )
            ).all()
        return AssignmentOut(
            **assignment.model_dump(include={"id", "case_id", "specialist_id", "state", "acknowledge_by"}),
            ended_reason=assignment.ended_reason,
            offers=[OfferOut.model_validate(offer, from_attributes=True) for offer in offers],
        )

    # --- roster -------------------------------------------------------------------------------------------
    @router.put("/specialists/{specialist_id}", tags=["roster"], summary="Add or update a specialist")
    async def put_specialist(specialist_id: str, body: SpecialistIn) -> SpecialistOut:
        if body.id != specialist_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's id differs from the path's")
        await upsert_roster(ctx.db, RosterIn(specialists=(body,)), ctx.now())
        return await get_specialist(specialist_id)

    @router.get("/specialists/{specialist_id}", tags=["roster"], summary="A specialist with their current caseload")
    async def get_specialist(specialist_id: str) -> SpecialistOut:
        async with ctx.db.sessions() as session:
            row = await session.get(SpecialistRecord, specialist_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no specialist {specialist_id}")
        return _specialist_out(row)

    @router.get("/specialists", tags=["roster"], summary="The roster, filtered by language or lived experience")
    async def list_specialists(
        language: str | None = None,
        domain: RecoveryDomain | None = None,
        active: bool | None = True,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[SpecialistOut]:
        query = select(SpecialistRecord).order_by(col(SpecialistRecord.id))
        if active is not None:
            query = query.where(col(SpecialistRecord.active) == active)
        async with ctx.db.sessions() as session:
            rows = (await session.exec(query)).all()
        # Languages and domains are JSON lists: filtered here, which is fine for a roster of thousands.
        chosen = [
            row
            for row in rows
            if (language is None or language.lower() in row.languages) and (domain is None or domain in row.domains)
        ]
        return [_specialist_out(row) for row in chosen[offset : offset + limit]]

    @router.delete(
        "/specialists/{specialist_id}",
        tags=["roster"],
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Take a specialist off matching (their current cases stay with them)",
    )
    async def deactivate(specialist_id: str) -> Response:
        if not await deactivate_specialist(ctx.db, specialist_id, ctx.now()):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no specialist {specialist_id}")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/roster", tags=["roster"], summary="Import specialists and supervisors in bulk (JSON)")
    async def import_roster(body: RosterIn) -> ImportResult:
        specialists, supervisors = await upsert_roster(ctx.db, body, ctx.now())
        return ImportResult(specialists=specialists, supervisors=supervisors)

    @router.put("/supervisors/{supervisor_id}", tags=["roster"], summary="Add or update a supervisor (on call or not)")
    async def put_supervisor(supervisor_id: str, body: SupervisorIn) -> SupervisorIn:
        if body.id != supervisor_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's id differs from the path's")
        await upsert_roster(ctx.db, RosterIn(supervisors=(body,)), ctx.now())
        return body

    @router.get("/supervisors", tags=["roster"], summary="Supervisors, on call first")
    async def list_supervisors() -> list[SupervisorIn]:
        async with ctx.db.sessions() as session:
            rows = (await session.exec(select(SupervisorRecord).order_by(col(SupervisorRecord.id)))).all()
        return sorted((row.to_roster() for row in rows), key=lambda s: not s.on_call)

    # --- assignments --------------------------------------------------------------------------------------
    @router.get("/assignments/{assignment_id}", tags=["assignments"], summary="An assignment and its offers")
    async def get_assignment(assignment_id: str) -> AssignmentOut:
        async with ctx.db.sessions() as session:
            assignment = await session.get(AssignmentRecord, assignment_id)
        if assignment is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no assignment {assignment_id}")
        return await assignment_out(assignment)

    @router.get("/cases/{case_id}/assignment", tags=["assignments"], summary="Where a case stands in matching")
    async def get_case_match(case_id: str) -> CaseMatchOut:
        async with ctx.db.sessions() as session:
            case = await session.get(CaseNeeds, case_id)
            latest = (
                await session.exec(
                    select(AssignmentRecord)
                    .where(col(AssignmentRecord.case_id) == case_id)
                    .order_by(col(AssignmentRecord.created_at).desc(), col(AssignmentRecord.id))
                )
            ).first()
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return CaseMatchOut(
            case_id=case.case_id,
            status=case.status,
            match_state=case.match_state,
            unmatched_reasons=case.unmatched_reasons,
            consent_peer_support=case.consent_peer_support,
            assignment=await assignment_out(latest) if latest else None,
        )

    @router.post(
        "/assignments/{assignment_id}/answer", tags=["assignments"], summary="The specialist accepts or declines"
    )
    async def answer(assignment_id: str, body: AnswerIn) -> AssignmentOut:
        assignment = await _run(answer_assignment(ctx, assignment_id, body.specialist_id, body.accepted))
        return await assignment_out(assignment)

    @router.post(
        "/assignments/{assignment_id}/override", tags=["assignments"], summary="A supervisor assigns a named specialist"
    )
    async def override(assignment_id: str, body: OverrideIn) -> AssignmentOut:
        assignment = await _run(
            override_specialist(
                ctx, assignment_id, body.specialist_id, by=body.supervisor_id, note=body.note, force=body.force
            )
        )
        return await assignment_out(assignment)

    @router.post(
        "/assignments/{assignment_id}/change-request",
        tags=["assignments"],
        summary="The patient asks for a different specialist: the next best is offered, with reasons",
    )
    async def change_request(assignment_id: str, body: ChangeRequestIn) -> AssignmentOut:
        assignment = await _run(request_change(ctx, assignment_id, body.preferences))
        return await assignment_out(assignment)

    @router.post(
        "/cases/{case_id}/consent", tags=["assignments"], summary="Record the patient's consent to peer support"
    )
    async def consent(case_id: str, body: ConsentIn) -> CaseMatchOut:
        await _run(record_consent(ctx, case_id, body.consent))
        return await get_case_match(case_id)

    # --- crises -------------------------------------------------------------------------------------------
    @router.post(
        "/cases/{case_id}/crisis",
        tags=["crises"],
        status_code=status.HTTP_201_CREATED,
        summary="Flag a crisis: urgent notifications repeat until someone acknowledges",
    )
    async def raise_crisis(case_id: str, body: CrisisIn) -> CrisisOut:
        crisis = await _run(flag_crisis(ctx, case_id, raised_by=body.raised_by, reason=body.reason))
        return _crisis_out(crisis)

    @router.post("/crises/{crisis_id}/acknowledge", tags=["crises"], summary="Someone has it: the alerts stop")
    async def acknowledge(crisis_id: str, body: CrisisAcknowledgeIn) -> CrisisOut:
        return _crisis_out(await _run(acknowledge_crisis_by_request(ctx, crisis_id, body.acknowledged_by)))

    @router.post("/crises/{crisis_id}/close", tags=["crises"], summary="Close with a documented disposition")
    async def close(crisis_id: str, body: CrisisClosureIn) -> CrisisOut:
        return _crisis_out(await _run(close_crisis(ctx, crisis_id, body)))

    @router.get("/crises/{crisis_id}", tags=["crises"], summary="A crisis record")
    async def get_crisis(crisis_id: str) -> CrisisOut:
        async with ctx.db.sessions() as session:
            crisis = await session.get(CrisisRecord, crisis_id)
        if crisis is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no crisis {crisis_id}")
        return _crisis_out(crisis)

    @router.get("/crises", tags=["crises"], summary="Crises, newest first, by state or case")
    async def list_crises(
        state: str | None = None, case_id: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
    ) -> list[CrisisOut]:
        query = select(CrisisRecord).order_by(col(CrisisRecord.flagged_at).desc()).limit(limit)
        if state is not None:
            query = query.where(col(CrisisRecord.state) == state)
        if case_id is not None:
            query = query.where(col(CrisisRecord.case_id) == case_id)
        async with ctx.db.sessions() as session:
            return [_crisis_out(row) for row in (await session.exec(query)).all()]

    return router


def _specialist_out(row: SpecialistRecord) -> SpecialistOut:
    return SpecialistOut(**row.to_roster().model_dump(), active_load=row.active_load, active_cases=row.active_cases)


def _crisis_out(crisis: CrisisRecord) -> CrisisOut:
    return CrisisOut.model_validate(crisis, from_attributes=True)
