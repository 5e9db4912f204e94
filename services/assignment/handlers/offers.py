"""Offering a case to a specialist and what follows: accept, decline, no answer, change of specialist, release."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import (
    SpecialistAcknowledged,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
)
from shared.events.assignment import Candidate, UnmatchedReason

from ..db import AssignmentRecord, CaseNeeds, OfferRecord, SpecialistRecord
from ..domain import (
    ACTIVE_STATES,
    OUTCOME_OF_CHANGE,
    AssignmentState,
    ChangeReason,
    MatchState,
    OfferOutcome,
    offer_summary,
    unmatched_summary,
)
from ..matching import Matched, Unmatched
from .choosing import choose, excluded_specialists, needs_of
from .context import AssignmentContext
from .notices import Recipient, notice
from .roster import release_capacity


async def assign_case(session: AsyncSession, ctx: AssignmentContext, case: CaseNeeds) -> AssignmentRecord | None:
    """Offer the case to the best specialist, or say why nobody fits."""
    needs = await needs_of(session, ctx, case)
    result = await choose(session, ctx, needs, await excluded_specialists(session, case.case_id))
    if isinstance(result, Unmatched):
        await report_unmatched(session, ctx, case, result)
        return None
    return await open_offer(session, ctx, case, result.best, result.runner_up, needs.load)


async def open_offer(
    session: AsyncSession,
    ctx: AssignmentContext,
    case: CaseNeeds,
    chosen: Candidate,
    runner_up: Candidate | None,
    load: float,
    *,
    assignment: AssignmentRecord | None = None,
    change: ChangeReason | None = None,
    previous_specialist_id: str | None = None,
    requested_by: str | None = None,
    note: str | None = None,
) -> AssignmentRecord:
    """Record the offer (its capacity already reserved), announce it, and ask the specialist to answer."""
    now = ctx.now()
    respond_by = now + ctx.ack_timeout
    specialist = await session.get(SpecialistRecord, chosen.specialist_id)
    assert specialist is not None, "matching only picks specialists on the roster"
    if assignment is None:
        assignment = AssignmentRecord(
            id=f"A-{uuid.uuid4().hex}",
            case_id=case.case_id,
            specialist_id=chosen.specialist_id,
            state=AssignmentState.OFFERED,
            load=load,
            acknowledge_by=respond_by,
            created_at=now,
            updated_at=now,
        )
        ctx.emit(
            session,
            SpecialistAssigned(
                case_id=case.case_id,
                assignment_id=assignment.id,
                specialist=chosen,
                specialist_phone=specialist.phone,
                runner_up=runner_up,
                acknowledge_by=respond_by,
            ),
        )
    else:
        assert change is not None and previous_specialist_id is not None
        assignment.sqlmodel_update(
            dict(
                specialist_id=chosen.specialist_id,
                state=AssignmentState.OFFERED,
                load=load,
                acknowledge_by=respond_by,
                updated_at=now,
            )
        )
        ctx.emit(
            session,
            SpecialistReassigned(
                case_id=case.case_id,
                assignment_id=assignment.id,
                previous_specialist_id=previous_specialist_id,
                specialist=chosen,
                specialist_phone=specialist.phone,
                runner_up=runner_up,
                reason=change,
                acknowledge_by=respond_by,
            ),
        )
    session.add(assignment)
    request = notice(
        case.case_id,
        Recipient.specialist(specialist),
        template="specialist.assigned" if change is None else "specialist.reassigned",
        summary=offer_summary(case.case_id, case.facility_id, case.discharge_at, respond_by),
        respond_by=respond_by,
        related_id=assignment.id,
    )
    session.add(
        OfferRecord(
            assignment_id=assignment.id,
            case_id=case.case_id,
            specialist_id=chosen.specialist_id,
            notification_id=request.notification_id,
            reason=change or "initial",
            requested_by=requested_by,
            note=note,
            score=chosen.score,
            reasons=[reason.model_dump() for reason in chosen.reasons],
            offered_at=now,
            respond_by=respond_by,
        )
    )
    ctx.emit(session, request)
    case.match_state, case.unmatched_reasons = MatchState.ASSIGNED, []
    session.add(case)
    return assignment


async def report_unmatched(
    session: AsyncSession,
    ctx: AssignmentContext,
    case: CaseNeeds,
    unmatched: Unmatched,
    assignment_id: str | None = None,
) -> None:
    """Tell coordinators nobody fits and why; the same reasons again for the same case are not repeated."""
    reasons = [str(reason) for reason in unmatched.reasons]
    state = MatchState.NO_CONSENT if reasons == [UnmatchedReason.NO_CONSENT] else MatchState.UNMATCHED
    if assignment_id is None and case.match_state == state and case.unmatched_reasons == reasons:
        return
    ctx.emit(
        session,
        SpecialistUnmatched(
            case_id=case.case_id, reasons=unmatched.reasons, detail=unmatched.detail, assignment_id=assignment_id
        ),
    )
    ctx.emit(
        session,
        notice(
            case.case_id,
            Recipient.coordinators(case.facility_id),
            template="case.awaiting-match",
            summary=unmatched_summary(case.case_id, reasons),
        ),
    )
    case.match_state, case.unmatched_reasons = state, reasons
    session.add(case)


async def active_assignment(session: AsyncSession, case_id: str) -> AssignmentRecord | None:
    query = select(AssignmentRecord).where(
        col(AssignmentRecord.case_id) == case_id, col(AssignmentRecord.state).in_(ACTIVE_STATES)
    )
    return (await session.exec(query.with_for_update())).first()


async def current_offer(session: AsyncSession, assignment: AssignmentRecord) -> OfferRecord | None:
    query = (
        select(OfferRecord)
        .where(
            col(OfferRecord.assignment_id) == assignment.id,
            col(OfferRecord.specialist_id) == assignment.specialist_id,
        )
        .order_by(col(OfferRecord.id).desc())
    )
    return (await session.exec(query)).first()


async def end_offer(
    session: AsyncSession, ctx: AssignmentContext, assignment: AssignmentRecord, outcome: OfferOutcome
) -> bool:
    """Close the current specialist's offer with `outcome` and give back their caseload place.

    Returns whether they had accepted it (then they are told it ended).
    """
    offer = await current_offer(session, assignment)
    accepted = offer is not None and offer.outcome == OfferOutcome.ACCEPTED
    if offer is not None and (offer.outcome == OfferOutcome.PENDING or outcome == OfferOutcome.WITHDRAWN):
        offer.outcome, offer.answered_at = outcome, offer.answered_at or ctx.now()
        session.add(offer)
    await release_capacity(session, assignment.specialist_id, assignment.load)
    return accepted


async def tell_released(session: AsyncSession, ctx: AssignmentContext, assignment: AssignmentRecord) -> None:
    specialist = await session.get(SpecialistRecord, assignment.specialist_id)
    if specialist is not None:
        ctx.emit(
            session,
            notice(
                assignment.case_id,
                Recipient.specialist(specialist),
                template="specialist.released",
                summary=f"Your peer support assignment for case {assignment.case_id[:8]} has ended.",
                related_id=assignment.id,
            ),
        )


async def change_specialist(
    session: AsyncSession,
    ctx: AssignmentContext,
    assignment: AssignmentRecord,
    change: ChangeReason,
    requested_by: str | None = None,
) -> AssignmentRecord:
    """Move the case to the next best specialist (never one who declined, timed out or was moved off it)."""
    case = await session.get(CaseNeeds, assignment.case_id)
    assert case is not None, "an assignment always has its case"
    previous = assignment.specialist_id
    if await end_offer(session, ctx, assignment, OUTCOME_OF_CHANGE[change]):
        await tell_released(session, ctx, assignment)
    await session.flush()  # the exclusion query below must see the offer just closed
    needs = await needs_of(session, ctx, case)
    result = await choose(session, ctx, needs, await excluded_specialists(session, case.case_id))
    if isinstance(result, Matched):
        return await open_offer(
            session,
            ctx,
            case,
            result.best,
            result.runner_up,
            needs.load,
            assignment=assignment,
            change=change,
            previous_specialist_id=previous,
            requested_by=requested_by,
        )
    assignment.sqlmodel_update(
        dict(state=AssignmentState.UNMATCHED, acknowledge_by=None, ended_reason=change, updated_at=ctx.now())
    )
    session.add(assignment)
    ctx.emit(
        session,
        SpecialistReleased(case_id=case.case_id, assignment_id=assignment.id, specialist_id=previous, reason=change),
    )
    await report_unmatched(session, ctx, case, result, assignment_id=assignment.id)
    return assignment


async def release_assignment(
    session: AsyncSession, ctx: AssignmentContext, assignment: AssignmentRecord, reason: str
) -> None:
    """End an active assignment (cancelled discharge, consent withdrawn): the caseload place is free again."""
    if await end_offer(session, ctx, assignment, OfferOutcome.CANCELLED):
        await tell_released(session, ctx, assignment)
    assignment.sqlmodel_update(
        dict(state=AssignmentState.RELEASED, acknowledge_by=None, ended_reason=reason, updated_at=ctx.now())
    )
    session.add(assignment)
    ctx.emit(
        session,
        SpecialistReleased(
            case_id=assignment.case_id,
            assignment_id=assignment.id,
            specialist_id=assignment.specialist_id,
            reason=reason,
        ),
    )


async def answer_offer(
    session: AsyncSession,
    ctx: AssignmentContext,
    assignment: AssignmentRecord,
    offer: OfferRecord,
    accepted: bool,
) -> None:
    now = ctx.now()
    if not accepted:
        await change_specialist(session, ctx, assignment, ChangeReason.DECLINED)
        return
    offer.outcome, offer.answered_at = OfferOutcome.ACCEPTED, now
    assignment.sqlmodel_update(dict(state=AssignmentState.ACKNOWLEDGED, acknowledge_by=None, updated_at=now))
    session.add_all([offer, assignment])
    ctx.emit(
        session,
        SpecialistAcknowledged(
            case_id=assignment.case_id,
            assignment_id=assignment.id,
            specialist_id=assignment.specialist_id,
            acknowledged_at=now,
        ),
    )


async def offer_awaiting(session: AsyncSession, notification_id: str) -> tuple[AssignmentRecord, OfferRecord] | None:
    """The assignment and offer a notification asked about, if that offer still waits for its answer."""
    query = select(OfferRecord).where(col(OfferRecord.notification_id) == notification_id)
    offer = (await session.exec(query)).first()
    if offer is None or offer.outcome != OfferOutcome.PENDING:
        return None  # unknown, or answered too late: the case has moved on
    assignment = await session.get(AssignmentRecord, offer.assignment_id, with_for_update=True)
    if assignment is None or assignment.state != AssignmentState.OFFERED:
        return None
    if assignment.specialist_id != offer.specialist_id:
        return None
    return assignment, offer
