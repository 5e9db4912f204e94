"""Discharge events as assignment sees them: open the case, match on pending (or registered), release on cancel."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    PatientReadmitted,
)
from shared.events.assignment import UnmatchedReason
from shared.events.discharge import DischargeDetails
from shared.inbox import Delivery

from ..db import AssignmentRecord, CaseNeeds, SpecialistRecord
from ..domain import AssignmentState, ChangeReason, MatchState, consent_summary, patient_key, readmission_summary
from ..matching import Unmatched, evaluate_specialist
from .choosing import needs_of
from .context import SERVICE, AssignmentContext, NotFound
from .crises import raise_intake_crises
from .notices import Recipient, notice
from .offers import active_assignment, assign_case, change_specialist, release_assignment, report_unmatched

DischargeEvent = DischargePending | DischargeRegistered | DischargeUpdated


async def take_discharge(event: DischargeEvent, delivery: Delivery, *, ctx: AssignmentContext) -> None:
    """Keep what matching needs of the discharge, then match, wait for consent, or stop for no consent.

    A pending discharge (ADT A16) starts matching early; a registered one (A03) matches when no pending came
    or the earlier attempt found nobody; an update (A08) matches only once consent arrives.
    """
    session = delivery.session
    case = await open_case(session, ctx, event.case_id, event.discharge.facility.id, delivery.envelope.id)
    refresh_needs(case, event.discharge, ctx.now())
    if not isinstance(event, DischargeUpdated):
        case.status = "open"
    session.add(case)
    if case.status == "cancelled":
        return
    if isinstance(event, DischargeUpdated):
        await rematch_if_unfit(session, ctx, case)
    await decide_match(session, ctx, case, rematch=not isinstance(event, DischargeUpdated))
    await raise_intake_crises(session, ctx, case)


async def open_case(
    session: AsyncSession, ctx: AssignmentContext, case_id: str, facility_id: str, trigger_event_id: str
) -> CaseNeeds:
    """The case's row; the first time, this service's receipt (CaseOpened) for the coordinator's timeline."""
    case = await session.get(CaseNeeds, case_id, with_for_update=True)
    if case is not None:
        return case
    now = ctx.now()
    case = CaseNeeds(case_id=case_id, facility_id=facility_id, opened_at=now, updated_at=now)
    session.add(case)
    ctx.emit(session, CaseOpened(case_id=case_id, service=SERVICE, opened_at=now, trigger_event_id=trigger_event_id))
    return case


def refresh_needs(case: CaseNeeds, details: DischargeDetails, now: datetime) -> None:
    """Take the message's view of the stay; what it leaves out (consent, destination, times) stays as known."""
    planning = details.planning
    case.facility_id = details.facility.id
    case.patient_key = patient_key(details.patient.identifiers) or case.patient_key
    case.language = details.patient.language or case.language
    case.recovery_domains = [str(d) for d in planning.recovery_domains]
    case.risk_flags = [str(f) for f in planning.risk_flags]
    if planning.consent_peer_support is not None:
        case.consent_peer_support = planning.consent_peer_support
    # Where the patient goes; until that is known, the facility's discharge entrance stands in for it.
    destination = planning.destination_place.location if planning.destination_place else None
    entrance = details.facility.discharge_entrance.location if details.facility.discharge_entrance else None
    location = destination or (entrance if case.destination_lat is None else None)
    if location is not None:
        case.destination_lat, case.destination_lon = location.lat, location.lon
    case.discharge_at = details.discharged_at or details.expected_discharge_at or case.discharge_at
    case.updated_at = now


async def rematch_if_unfit(session: AsyncSession, ctx: AssignmentContext, case: CaseNeeds) -> None:
    """An update (A08) that changes the language or the destination can leave the assigned specialist unable to
    serve the patient (no shared language, now beyond their travel radius): the case moves to the next best."""
    active = await active_assignment(session, case.case_id)
    if active is None or case.consent_peer_support is False:
        return
    specialist = await session.get(SpecialistRecord, active.specialist_id)
    if specialist is None:
        return
    # The case already holds its caseload place with them: capacity is not in question, only fit.
    _, broken = evaluate_specialist(await needs_of(session, ctx, case), specialist.to_roster().profile(), 0.0)
    if broken:
        await change_specialist(session, ctx, active, ChangeReason.NEEDS_CHANGED)


async def decide_match(session: AsyncSession, ctx: AssignmentContext, case: CaseNeeds, *, rematch: bool) -> None:
    """Match unless the case has a specialist; `rematch` also retries a case that found nobody before."""
    active = await active_assignment(session, case.case_id)
    if case.consent_peer_support is False:
        if active is not None:
            await release_assignment(session, ctx, active, "consent_withdrawn")
        await report_unmatched(
            session, ctx, case, Unmatched((UnmatchedReason.NO_CONSENT,), "the patient declined peer support")
        )
        return
    if active is not None:
        return
    if not rematch and case.match_state not in (MatchState.NEW, MatchState.AWAITING_CONSENT, MatchState.NO_CONSENT):
        return
    if case.consent_peer_support is None:
        # 42 CFR Part 2 and plain respect: no specialist hears of the patient before the patient says yes.
        if case.match_state != MatchState.AWAITING_CONSENT:
            ctx.emit(
                session,
                notice(
                    case.case_id,
                    Recipient.coordinators(case.facility_id),
                    template="case.awaiting-match",
                    summary=consent_summary(case.case_id),
                ),
            )
            case.match_state = MatchState.AWAITING_CONSENT
            session.add(case)
        return
    await assign_case(session, ctx, case)


async def cancel_discharge(event: DischargeCancelled, delivery: Delivery, *, ctx: AssignmentContext) -> None:
    """A cancelled discharge (A13) or pending discharge (A25) releases the specialist and their caseload place."""
    session = delivery.session
    case = await session.get(CaseNeeds, event.case_id, with_for_update=True)
    if case is None:
        return  # never planned here: nothing to release
    active = await active_assignment(session, case.case_id)
    if active is not None:
        await release_assignment(session, ctx, active, "discharge_cancelled")
    case.status, case.match_state, case.updated_at = "cancelled", MatchState.NEW, ctx.now()
    session.add(case)


async def note_readmission(event: PatientReadmitted, delivery: Delivery, *, ctx: AssignmentContext) -> None:
    """Link the new stay to the earlier one (continuity) and tell the earlier case's specialist."""
    session = delivery.session
    case = await open_case(session, ctx, event.case_id, event.facility_id, delivery.envelope.id)
    if not event.previous_case_id:
        return  # the facility flagged a readmission of a stay this platform never saw
    previous = await session.get(CaseNeeds, event.previous_case_id)
    case.previous_case_id = event.previous_case_id
    case.patient_key = case.patient_key or (previous.patient_key if previous else None)
    session.add(case)
    last = (
        await session.exec(
            select(AssignmentRecord)
            .where(
                col(AssignmentRecord.case_id) == event.previous_case_id,
                col(AssignmentRecord.state) != AssignmentState.UNMATCHED,
            )
            .order_by(col(AssignmentRecord.updated_at).desc(), col(AssignmentRecord.id))
        )
    ).first()
    specialist = await session.get(SpecialistRecord, last.specialist_id) if last else None
    if last is None or specialist is None:
        return
    ctx.emit(
        session,
        notice(
            event.previous_case_id,
            Recipient.specialist(specialist),
            template="patient.readmitted",
            summary=readmission_summary(event.previous_case_id, event.days_since_discharge),
            related_id=last.id,
        ),
    )


async def record_consent(ctx: AssignmentContext, case_id: str, consent: bool) -> CaseNeeds:
    """Staff record the patient's answer after asking (matching waits for it when the facility sent none)."""
    async with ctx.transaction() as session:
        case = await session.get(CaseNeeds, case_id, with_for_update=True)
        if case is None:
            raise NotFound(f"no case {case_id}")
        case.consent_peer_support, case.updated_at = consent, ctx.now()
        session.add(case)
        if case.status != "cancelled":
            await decide_match(session, ctx, case, rematch=False)
        return case
