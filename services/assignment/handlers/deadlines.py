"""The scheduler tick that moves offers nobody answered in time to the next best specialist."""

from __future__ import annotations

from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from ..db import AssignmentRecord
from ..domain import AssignmentState, ChangeReason
from .context import AssignmentContext
from .offers import change_specialist


async def reassign_overdue(_runtime: ServiceRuntime, *, ctx: AssignmentContext) -> int:
    """Scheduler tick: offers unanswered past their deadline go to the next best specialist."""
    async with ctx.transaction() as session:
        query = (
            select(AssignmentRecord)
            .where(
                col(AssignmentRecord.state) == AssignmentState.OFFERED,
                col(AssignmentRecord.acknowledge_by) <= ctx.now(),
            )
            # Ties broken by case id (stable, unlike the random assignment id), so a replay re-offers in one order.
            .order_by(col(AssignmentRecord.acknowledge_by), col(AssignmentRecord.case_id), col(AssignmentRecord.id))
            .limit(50)
            .with_for_update(skip_locked=True)
        )
        due = (await session.exec(query)).all()
        for assignment in due:
            await change_specialist(session, ctx, assignment, ChangeReason.NO_ACKNOWLEDGEMENT)
    return len(due)
