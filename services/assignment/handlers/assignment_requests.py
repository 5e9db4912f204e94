"""Assignment requests from the HTTP API: a specialist's answer, a patient's change, a supervisor's override."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.assignment import Candidate, MatchReason, UnmatchedReason

from ..db import AssignmentRecord, CaseNeeds, SpecialistRecord
from ..domain import ACTIVE_STATES, AssignmentState, ChangeReason, OfferOutcome, PreferencesIn
from ..matching import Matched, evaluate_specialist, match_specialist
from .choosing import excluded_specialists, needs_of
from .context import AssignmentContext, Conflict, NotFound
from .offers import answer_offer, change_specialist, current_offer, end_offer, open_offer, tell_released
from .roster import current_loads, reserve_capacity


async def load_assignment(session: AsyncSession, assignment_id: str) -> AssignmentRecord:
    assignment = await session.get(AssignmentRecord, assignment_id, with_for_update=True)
    if assignment is None:
        raise NotFound(f"no assignment {assignment_id}")
    return assignment


async def answer_assignment(
    ctx: AssignmentContext, assignment_id: str, specialist_id: str, accepted: bool
) -> AssignmentRecord:
    """The specialist answers in the platform's own API rather than through a notification's link."""
    async with ctx.transaction() as session:
        assignment = await load_assignment(session, assignment_id)
        offer = await current_offer(session, assignment)
        if (
            assignment.state != AssignmentState.OFFERED
            or assignment.specialist_id != specialist_id
            or offer is None
            or offer.outcome != OfferOutcome.PENDING
        ):
            raise Conflict(f"assignment {assignment_id} is not waiting for an answer from {specialist_id}")
        await answer_offer(session, ctx, assignment, offer, accepted)
        return assignment


async def request_change(
    ctx: AssignmentContext, assignment_id: str, preferences: PreferencesIn | None
) -> AssignmentRecord:
    """The patient asks for a different specialist (client-directed): the next best is offered, with reasons."""
    async with ctx.transaction() as session:
        assignment = await load_assignment(session, assignment_id)
        if assignment.state not in ACTIVE_STATES:
            raise Conflict(f"assignment {assignment_id} is {assignment.state}")
        if preferences is not None:
            case = await session.get(CaseNeeds, assignment.case_id)
            assert case is not None
            case.preferences = preferences.model_dump(exclude_none=True)
            session.add(case)
        return await change_specialist(session, ctx, assignment, ChangeReason.PATIENT_REQUEST, requested_by="patient")


async def override_specialist(
    ctx: AssignmentContext,
    assignment_id: str,
    specialist_id: str,
    *,
    by: str,
    note: str | None = None,
    force: bool = False,
) -> AssignmentRecord:
    """A supervisor puts a named specialist on the case; hard constraints hold unless `force`."""
    async with ctx.transaction() as session:
        assignment = await load_assignment(session, assignment_id)
        if assignment.state not in ACTIVE_STATES:
            raise Conflict(f"assignment {assignment_id} is {assignment.state}")
        if assignment.specialist_id == specialist_id:
            raise Conflict(f"{specialist_id} already has assignment {assignment_id}")
        chosen = await session.get(SpecialistRecord, specialist_id)
        if chosen is None or not chosen.active:
            raise NotFound(f"no active specialist {specialist_id}")
        case = await session.get(CaseNeeds, assignment.case_id)
        assert case is not None
        previous = assignment.specialist_id
        if await end_offer(session, ctx, assignment, OfferOutcome.WITHDRAWN):
            await tell_released(session, ctx, assignment)
        await session.flush()
        needs = await needs_of(session, ctx, case)
        loads = await current_loads(session)
        candidate, broken = evaluate_specialist(needs, chosen.to_roster().profile(), loads.get(specialist_id, 0.0))
        if candidate is None and not force:
            raise Conflict(f"{specialist_id} breaks hard constraints: {', '.join(broken)} (send force=true to insist)")
        if candidate is None:
            candidate = forced_candidate(specialist_id, broken)
        await reserve_capacity(session, specialist_id, needs.load, force=True)
        exclude = await excluded_specialists(session, case.case_id) | {specialist_id}
        runner = match_specialist(needs, await ctx.roster.index(session), loads, exclude=exclude)
        return await open_offer(
            session,
            ctx,
            case,
            candidate,
            runner.best if isinstance(runner, Matched) else None,
            needs.load,
            assignment=assignment,
            change=ChangeReason.SUPERVISOR_OVERRIDE,
            previous_specialist_id=previous,
            requested_by=f"supervisor:{by}",
            note=note,
        )


def forced_candidate(specialist_id: str, broken: tuple[UnmatchedReason, ...]) -> Candidate:
    """A supervisor's choice that breaks hard constraints scores nothing and says which it breaks."""
    detail = f"supervisor override despite: {', '.join(broken)}"
    return Candidate(
        specialist_id=specialist_id, score=0.0, reasons=(MatchReason(factor="override", score=0.0, detail=detail),)
    )
