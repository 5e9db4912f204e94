"""Who may take a case: what the patient needs, who is excluded, and the match with its caseload place taken."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.assignment import UnmatchedReason

from ..db import CaseNeeds, OfferRecord
from ..domain import EXCLUDING_OUTCOMES, OfferOutcome, case_load
from ..matching import Matched, PatientNeeds, Preferences, Unmatched, match_specialist
from ..round_robin import next_on_rota
from .context import AssignmentContext
from .roster import current_loads, reserve_capacity

# A chosen specialist's last place can go to another instance between the match and the reservation;
# then the match is run again without them, a few times at most.
RESERVE_ATTEMPTS = 5


async def needs_of(session: AsyncSession, ctx: AssignmentContext, case: CaseNeeds) -> PatientNeeds:
    """The case as matching sees it, the discharge time in the roster's local zone."""
    location = None
    if case.destination_lat is not None and case.destination_lon is not None:
        location = (case.destination_lat, case.destination_lon)
    return PatientNeeds(
        language=(case.language or ctx.settings.default_language).lower(),
        domains=frozenset(case.recovery_domains),
        load=case_load(case.risk_flags),
        discharge_at=(case.discharge_at or ctx.now()).astimezone(ctx.zone),
        location=location,
        previous_specialists=await previous_specialists(session, case),
        preferences=Preferences(**case.preferences),
        consent=case.consent_peer_support,
    )


async def previous_specialists(session: AsyncSession, case: CaseNeeds) -> frozenset[str]:
    """Who accepted an earlier episode of this patient: same medical record number, or the readmission's case."""
    earlier: set[str] = {case.previous_case_id} if case.previous_case_id else set()
    if case.patient_key:
        same_patient = select(CaseNeeds.case_id).where(
            col(CaseNeeds.patient_key) == case.patient_key, col(CaseNeeds.case_id) != case.case_id
        )
        earlier.update((await session.exec(same_patient)).all())
    if not earlier:
        return frozenset()
    accepted = select(OfferRecord.specialist_id).where(
        col(OfferRecord.case_id).in_(sorted(earlier)), col(OfferRecord.outcome) == OfferOutcome.ACCEPTED
    )
    return frozenset((await session.exec(accepted)).all())


async def excluded_specialists(session: AsyncSession, case_id: str) -> set[str]:
    """Who already declined, did not answer, or was moved off this case: not asked again for it."""
    query = select(OfferRecord.specialist_id).where(
        col(OfferRecord.case_id) == case_id, col(OfferRecord.outcome).in_(EXCLUDING_OUTCOMES)
    )
    return set((await session.exec(query)).all())


async def last_offered(session: AsyncSession) -> str | None:
    """Who was offered a case last: where the round-robin rota continues."""
    query = select(OfferRecord.specialist_id).order_by(col(OfferRecord.id).desc()).limit(1)
    return (await session.exec(query)).first()


async def choose(
    session: AsyncSession, ctx: AssignmentContext, needs: PatientNeeds, exclude: set[str]
) -> Matched | Unmatched:
    """Match, then take the chosen specialist's caseload place in the same transaction."""
    exclude = set(exclude)
    for _ in range(RESERVE_ATTEMPTS):
        index = await ctx.roster.index(session)
        loads = await current_loads(session)
        if ctx.settings.strategy == "round_robin":
            result = next_on_rota(needs, index, loads, exclude=exclude, after=await last_offered(session))
        else:
            result = match_specialist(needs, index, loads, exclude=exclude)
        if isinstance(result, Unmatched) or await reserve_capacity(session, result.best.specialist_id, needs.load):
            return result
        exclude.add(result.best.specialist_id)
    return Unmatched((UnmatchedReason.CAPACITY,), "every suitable specialist filled up while matching")
