"""A discharge case in resource: opened from intake's events, its needs matched, its specialist followed."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    NotificationRequested,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.inbox import Delivery
from shared.runtime import ServiceRuntime

from ..db import CaseNeed, CaseSpecialist, Part2Consent, Referral, ResourceCase
from ..directory_store import site_for
from ..domain import TERMINAL, first_day_home, profile_of
from ..settings import ResourceSettings, settings_of
from ..taxonomy import Category
from .matches import activities_for, match_need
from .referrals import SERVICE, cancel_open_referrals, create_referral, may_disclose, source_of

DischargeEvent = DischargePending | DischargeRegistered | DischargeUpdated


async def open_case(event: DischargeEvent, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """Keep what matching needs of the discharge; match its needs when they or the patient's situation changed."""
    session, now, details = delivery.session, runtime.clock.now(), event.discharge
    settings = settings_of(runtime)
    profile = profile_of(details, now.date())
    case = await session.get(ResourceCase, event.case_id)
    first_time = case is None
    values = dict(
        facility_id=details.facility.id,
        status="open",
        age=profile.age,
        sex=profile.sex,
        language=profile.language,
        is_medicaid=profile.is_medicaid,
        recovery_domains=",".join(sorted(profile.recovery_domains)),
        destination_lat=profile.origin[0] if profile.origin else None,
        destination_lon=profile.origin[1] if profile.origin else None,
        first_day=first_day_home(details, now.date()),
        updated_at=now,
    )
    if case is None:
        case = ResourceCase(case_id=event.case_id, opened_at=now, **values)  # type: ignore[arg-type]
    else:
        case.sqlmodel_update(values)
    await _remember_part2(session, case.case_id, details.planning.part2_protected)
    intake_needs = [Category(n.value) for n in details.planning.needs]
    await _replace_intake_needs(session, case.case_id, intake_needs, now)
    needs = await _needs_of(session, case.case_id)
    fingerprint = _fingerprint(case, needs)
    rematch = fingerprint != case.match_fingerprint
    case.match_fingerprint = fingerprint
    session.add(case)
    if first_time:
        opened = CaseOpened(case_id=case.case_id, service=SERVICE, opened_at=now, trigger_event_id=delivery.envelope.id)
        outbox.add(session, opened, source=source_of(runtime), now=now)
        if (specialist := await session.get(CaseSpecialist, case.case_id)) is not None:
            await _suggest_activities(session, case, specialist, delivery.envelope.id, runtime)
    if rematch:
        await _match_and_refer(session, case, needs, settings, now, source_of(runtime))


async def add_needs(runtime: ServiceRuntime, case_id: str, needs: Iterable[Category]) -> list[CaseNeed] | None:
    """The specialist adds needs: each new one is matched at once (ResourcesMatched). None for an unknown case."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        case = await session.get(ResourceCase, case_id)
        if case is None:
            return None
        added = []
        for need in dict.fromkeys(needs):
            if await session.get(CaseNeed, (case_id, need.value)) is None:
                session.add(CaseNeed(case_id=case_id, need=need.value, source="specialist", added_at=now))
                added.append(need)
        await session.flush()
        await _match_and_refer(session, case, added, settings, now, source_of(runtime))
        case.match_fingerprint = _fingerprint(case, await _needs_of(session, case_id))
        session.add(case)
        rows = await _need_rows(session, case_id)
    runtime.relay.wake()
    return rows


async def case_needs(runtime: ServiceRuntime, case_id: str) -> tuple[ResourceCase, list[CaseNeed]] | None:
    async with runtime.db.sessions() as session:
        case = await session.get(ResourceCase, case_id)
        return None if case is None else (case, await _need_rows(session, case_id))


async def close_cancelled_case(event: DischargeCancelled, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """A cancelled discharge cancels the referrals still open (the organisation sees the Task cancelled)."""
    now = runtime.clock.now()
    case = await delivery.session.get(ResourceCase, event.case_id)
    if case is not None:
        case.status = "cancelled"
        case.match_fingerprint = ""  # a discharge registered again matches afresh
        case.updated_at = now
        delivery.session.add(case)
    await cancel_open_referrals(
        delivery.session, event.case_id, now, note="discharge cancelled", source=source_of(runtime)
    )


async def remember_specialist(
    event: SpecialistAssigned | SpecialistReassigned, delivery: Delivery, *, runtime: ServiceRuntime
) -> None:
    """Reminders go to the assigned specialist; a new one hears of the activities suggested for the first weeks."""
    session, now = delivery.session, runtime.clock.now()
    specialist_id = event.specialist.specialist_id
    row = await session.get(CaseSpecialist, event.case_id)
    row = row or CaseSpecialist(
        case_id=event.case_id, specialist_id=specialist_id, assignment_id=event.assignment_id, updated_at=now
    )
    row.sqlmodel_update(dict(specialist_id=specialist_id, assignment_id=event.assignment_id, updated_at=now))
    session.add(row)
    case = await session.get(ResourceCase, event.case_id)
    if case is not None and case.status != "cancelled":
        await _suggest_activities(session, case, row, delivery.envelope.id, runtime)
    # Otherwise the case is not here yet (topics are not ordered with each other): open_case suggests them.


async def _suggest_activities(
    session: AsyncSession, case: ResourceCase, specialist: CaseSpecialist, trigger_id: str, runtime: ServiceRuntime
) -> None:
    settings, now = settings_of(runtime), runtime.clock.now()
    found = await activities_for(session, case, settings, now, settings.activity_weeks)
    if not found.offered:
        return
    groups = len({option.site.id for _, option, _ in found.offered})
    notice = NotificationRequested(
        case_id=case.case_id,
        notification_id=str(uuid.uuid5(uuid.UUID(trigger_id), f"activities-{specialist.specialist_id}")),
        recipient_id=specialist.specialist_id,
        recipient_role="specialist",
        template="resource.activities-suggested",
        summary=f"{groups} peer groups and community activities near the patient's home in the first "
        f"{settings.activity_weeks} weeks ({found.sessions} dated sessions) to suggest to them",
        link=f"/v1/cases/{case.case_id}/activities",
        related_id=specialist.assignment_id,
    )
    outbox.add(session, notice, source=source_of(runtime), now=now)


async def forget_specialist(event: SpecialistReleased, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    row = await delivery.session.get(CaseSpecialist, event.case_id)
    if row is not None and row.specialist_id == event.specialist_id:
        await delivery.session.delete(row)


async def _match_and_refer(
    session: AsyncSession,
    case: ResourceCase,
    needs: Iterable[Category],
    settings: ResourceSettings,
    now: datetime,
    source: str,
) -> None:
    """ResourcesMatched per need; for the auto-referral categories, a referral to the best option if none is open."""
    for need in needs:
        matched = await match_need(session, case, need, settings, now)
        outbox.add(session, matched, source=source, now=now)
        if (
            need not in settings.auto_refer_categories
            or not matched.options
            or await _has_open_referral(session, case.case_id, need)
            or not await may_disclose(session, case.case_id)  # Part 2 data without consent: the specialist refers
        ):
            continue
        best = matched.options[0]
        site = await site_for(session, best.service_id, best.location_id)
        if site is not None:
            await create_referral(session, case, site, need, now, settings, automatic=True, by="system", source=source)


async def _remember_part2(session: AsyncSession, case_id: str, protected: bool) -> None:
    """Once a message marks the case's data as Part 2, it stays so: a later message without the flag lifts nothing."""
    row = await session.get(Part2Consent, case_id)
    if row is None and protected:
        session.add(Part2Consent(case_id=case_id, protected=True))
    elif row is not None and protected and not row.protected:
        row.protected = True
        session.add(row)


async def record_part2_consent(runtime: ServiceRuntime, case_id: str, consent: bool, by: str) -> Part2Consent | None:
    """Staff record (or withdraw) the patient's consent to disclose Part 2 data; None for an unknown case."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        if await session.get(ResourceCase, case_id) is None:
            return None
        row = await session.get(Part2Consent, case_id) or Part2Consent(case_id=case_id)
        row.consent, row.recorded_by, row.recorded_at = consent, by, now
        session.add(row)
    return row


async def _has_open_referral(session: AsyncSession, case_id: str, need: Category) -> bool:
    rows = await session.exec(
        select(Referral.status).where(col(Referral.case_id) == case_id, col(Referral.need) == need.value)
    )
    return any(status not in TERMINAL for status in rows.all())


async def _replace_intake_needs(session: AsyncSession, case_id: str, needs: list[Category], now: datetime) -> None:
    rows = {r.need: r for r in await _need_rows(session, case_id)}
    for need, row in rows.items():
        if row.source == "intake" and need not in needs:
            await session.delete(row)
    for need in needs:
        if need.value not in rows:
            session.add(CaseNeed(case_id=case_id, need=need.value, source="intake", added_at=now))
    await session.flush()


async def _need_rows(session: AsyncSession, case_id: str) -> list[CaseNeed]:
    query = (
        select(CaseNeed).where(col(CaseNeed.case_id) == case_id).order_by(col(CaseNeed.added_at), col(CaseNeed.need))
    )
    return list((await session.exec(query)).all())


async def _needs_of(session: AsyncSession, case_id: str) -> list[Category]:
    return [Category(r.need) for r in await _need_rows(session, case_id)]


def _fingerprint(case: ResourceCase, needs: list[Category]) -> str:
    """What a match depends on; an update that changes none of it (a new phone number) matches nothing again."""
    basis = [
        sorted(n.value for n in needs),
        case.age,
        case.sex,
        case.language,
        case.is_medicaid,
        case.recovery_domains,
        case.destination_lat,
        case.destination_lon,
        case.first_day.isoformat(),
    ]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()
