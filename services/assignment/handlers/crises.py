"""Crises: flagged at intake or by a specialist, repeated urgently until acknowledged, closed with a disposition."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import CrisisAcknowledged, CrisisClosed, CrisisFlagged
from shared.events.common import Priority
from shared.runtime import ServiceRuntime

from ..db import AssignmentRecord, CaseNeeds, CrisisRecord, SpecialistRecord, SupervisorRecord
from ..domain import ACTIVE_STATES, CrisisClosureIn, CrisisState, crisis_risks, crisis_summary
from .context import AssignmentContext, Conflict, NotFound
from .notices import Recipient, notice

# Who hears of a crisis when the roster names no supervisor at all: a group inbox someone must watch.
FALLBACK_ON_CALL = Recipient("supervisors:on-call", "supervisor")


async def raise_intake_crises(session: AsyncSession, ctx: AssignmentContext, case: CaseNeeds) -> None:
    """A crisis for each crisis risk (suicide, overdose, violence) intake reports that none was raised for yet."""
    new = [flag for flag in crisis_risks(case.risk_flags) if flag not in case.raised_risks]
    if not new:
        return
    case.raised_risks = [*case.raised_risks, *new]
    session.add(case)
    await raise_crisis(session, ctx, case.case_id, raised_by="intake", reason=f"risk flag at intake: {', '.join(new)}")


async def raise_crisis(
    session: AsyncSession, ctx: AssignmentContext, case_id: str, *, raised_by: str, reason: str
) -> CrisisRecord:
    crisis = CrisisRecord(
        id=f"CR-{uuid.uuid4().hex}", case_id=case_id, raised_by=raised_by, reason=reason, flagged_at=ctx.now()
    )
    ctx.emit(session, CrisisFlagged(case_id=case_id, crisis_id=crisis.id, raised_by=raised_by, reason=reason))
    await send_crisis_round(session, ctx, crisis)
    return crisis


async def send_crisis_round(session: AsyncSession, ctx: AssignmentContext, crisis: CrisisRecord) -> None:
    """Urgent notifications to the assigned specialist and the on-call supervisor; the next round is scheduled."""
    now = ctx.now()
    crisis.notices_sent += 1
    crisis.next_notice_at = now + ctx.crisis_repeat
    for recipient in await crisis_recipients(session, ctx, crisis.case_id):
        ctx.emit(
            session,
            notice(
                crisis.case_id,
                recipient,
                template="crisis.flagged",
                summary=crisis_summary(crisis.case_id, crisis.notices_sent),
                priority=Priority.URGENT,
                respond_by=crisis.next_notice_at,
                related_id=crisis.id,
            ),
        )
    session.add(crisis)


async def crisis_recipients(session: AsyncSession, ctx: AssignmentContext, case_id: str) -> list[Recipient]:
    recipients: list[Recipient] = []
    query = select(AssignmentRecord).where(
        col(AssignmentRecord.case_id) == case_id, col(AssignmentRecord.state).in_(ACTIVE_STATES)
    )
    assignment = (await session.exec(query)).first()
    specialist = await session.get(SpecialistRecord, assignment.specialist_id) if assignment else None
    if specialist is not None:
        recipients.append(Recipient.specialist(specialist))
    supervisor = await on_call_supervisor(session, ctx, specialist.supervisor_id if specialist else None)
    recipients.append(Recipient.supervisor(supervisor) if supervisor else FALLBACK_ON_CALL)
    return recipients


async def on_call_supervisor(
    session: AsyncSession, ctx: AssignmentContext, own_supervisor_id: str | None
) -> SupervisorRecord | None:
    """The specialist's own supervisor when on call, else the first on call, else the configured one, else their own."""
    on_call = (
        await session.exec(
            select(SupervisorRecord).where(col(SupervisorRecord.on_call)).order_by(col(SupervisorRecord.id))
        )
    ).all()
    for supervisor in on_call:
        if supervisor.id == own_supervisor_id:
            return supervisor
    if on_call:
        return on_call[0]
    for fallback in (ctx.settings.on_call_supervisor_id, own_supervisor_id):
        if fallback and (supervisor := await session.get(SupervisorRecord, fallback)) is not None:
            return supervisor
    return None


async def acknowledge_crisis(session: AsyncSession, ctx: AssignmentContext, crisis: CrisisRecord, by: str) -> bool:
    """Someone has it: stop repeating. A crisis already acknowledged or closed stays as it is."""
    if crisis.state != CrisisState.OPEN:
        return False
    now = ctx.now()
    crisis.sqlmodel_update(
        dict(state=CrisisState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, next_notice_at=None)
    )
    session.add(crisis)
    ctx.emit(
        session,
        CrisisAcknowledged(case_id=crisis.case_id, crisis_id=crisis.id, acknowledged_by=by, acknowledged_at=now),
    )
    return True


async def repeat_crisis_notices(_runtime: ServiceRuntime, *, ctx: AssignmentContext) -> int:
    """Scheduler tick: every open crisis whose round is due is notified again."""
    async with ctx.transaction() as session:
        query = (
            select(CrisisRecord)
            .where(col(CrisisRecord.state) == CrisisState.OPEN, col(CrisisRecord.next_notice_at) <= ctx.now())
            .order_by(col(CrisisRecord.next_notice_at), col(CrisisRecord.id))
            .limit(50)
            .with_for_update(skip_locked=True)
        )
        due = (await session.exec(query)).all()
        for crisis in due:
            await send_crisis_round(session, ctx, crisis)
    return len(due)


async def flag_crisis(ctx: AssignmentContext, case_id: str, *, raised_by: str, reason: str) -> CrisisRecord:
    """A specialist (or staff) raises a crisis on a case from the API."""
    async with ctx.transaction() as session:
        if await session.get(CaseNeeds, case_id) is None:
            raise NotFound(f"no case {case_id}")
        return await raise_crisis(session, ctx, case_id, raised_by=raised_by, reason=reason)


async def load_crisis(session: AsyncSession, crisis_id: str) -> CrisisRecord:
    crisis = await session.get(CrisisRecord, crisis_id, with_for_update=True)
    if crisis is None:
        raise NotFound(f"no crisis {crisis_id}")
    return crisis


async def acknowledge_crisis_by_request(ctx: AssignmentContext, crisis_id: str, by: str) -> CrisisRecord:
    async with ctx.transaction() as session:
        crisis = await load_crisis(session, crisis_id)
        if crisis.state == CrisisState.CLOSED:
            raise Conflict(f"crisis {crisis_id} is closed")
        await acknowledge_crisis(session, ctx, crisis, by)
        return crisis


async def close_crisis(ctx: AssignmentContext, crisis_id: str, closure: CrisisClosureIn) -> CrisisRecord:
    """Close with a documented disposition; the record stays as the crisis record."""
    async with ctx.transaction() as session:
        crisis = await load_crisis(session, crisis_id)
        if crisis.state == CrisisState.CLOSED:
            raise Conflict(f"crisis {crisis_id} is already closed")
        now = ctx.now()
        crisis.sqlmodel_update(
            dict(
                state=CrisisState.CLOSED,
                closed_at=now,
                next_notice_at=None,
                acknowledged_at=crisis.acknowledged_at or now,
                acknowledged_by=crisis.acknowledged_by or closure.handled_by,
                disposition=closure.disposition,
                what_happened=closure.what_happened,
                referrals=list(closure.referrals),
                ems_involved=closure.ems_involved,
                crisis_plan_exists=closure.crisis_plan_exists,
                handled_by=closure.handled_by,
            )
        )
        session.add(crisis)
        ctx.emit(
            session,
            CrisisClosed(
                case_id=crisis.case_id,
                crisis_id=crisis.id,
                disposition=closure.disposition,
                ems_involved=closure.ems_involved,
                crisis_plan_exists=closure.crisis_plan_exists,
                handled_by=closure.handled_by,
                referrals=closure.referrals,
                closed_at=now,
            ),
        )
        return crisis
