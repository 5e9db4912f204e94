"""Discharge readiness: a case whose discharge is near (or past) with no specialist accepted is flagged at risk.

Flagged once per case, `readiness_lead_minutes` before the discharge time (at once for a discharge announced only
when it happened), so staff can step in while the patient is still there. Patients who declined peer support and
cancelled discharges are left out; a case matched in time is never flagged.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, exists, select

from shared.events import SpecialistAtRisk
from shared.runtime import ServiceRuntime

from ..db import AssignmentRecord, CaseNeeds, ReadinessFlag
from ..domain import AssignmentState, MatchState
from .context import AssignmentContext

BATCH = 100
REASON_OF_STATE = {
    MatchState.AWAITING_CONSENT: "consent_not_recorded",
    MatchState.UNMATCHED: "unmatched",
    MatchState.NEW: "not_matched",
    MatchState.ASSIGNED: "offer_not_accepted",
}


async def flag_unready_cases(_runtime: ServiceRuntime, *, ctx: AssignmentContext) -> int:
    """Scheduler tick: SpecialistAtRisk for open cases near their discharge without an accepted specialist."""
    now = ctx.now()
    horizon = now + timedelta(minutes=ctx.settings.readiness_lead_minutes)
    accepted = exists().where(
        col(AssignmentRecord.case_id) == col(CaseNeeds.case_id),
        col(AssignmentRecord.state) == AssignmentState.ACKNOWLEDGED,
    )
    flagged = exists().where(col(ReadinessFlag.case_id) == col(CaseNeeds.case_id))
    async with ctx.transaction() as session:
        cases = (
            await session.exec(
                select(CaseNeeds)
                .where(
                    col(CaseNeeds.status) == "open",
                    col(CaseNeeds.match_state) != MatchState.NO_CONSENT,
                    col(CaseNeeds.discharge_at) <= horizon,
                    ~accepted,
                    ~flagged,
                )
                .order_by(col(CaseNeeds.discharge_at), col(CaseNeeds.case_id))
                .limit(BATCH)
            )
        ).all()
        for case in cases:
            assert case.discharge_at is not None, "selected by discharge time"
            offered = (
                await session.exec(
                    select(AssignmentRecord.id).where(
                        col(AssignmentRecord.case_id) == case.case_id,
                        col(AssignmentRecord.state) == AssignmentState.OFFERED,
                    )
                )
            ).first()
            reason = REASON_OF_STATE.get(MatchState(case.match_state), "not_matched")
            session.add(ReadinessFlag(case_id=case.case_id, reason=reason, flagged_at=now))
            ctx.emit(
                session,
                SpecialistAtRisk(
                    case_id=case.case_id, reason=reason, discharge_at=case.discharge_at, assignment_id=offered
                ),
            )
    return len(cases)
