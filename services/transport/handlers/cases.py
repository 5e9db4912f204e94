"""Discharges and follow-ups become rides: the ride home, the round trip to each visit, and their changes."""

from __future__ import annotations

from sqlmodel import col, select

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    FollowupCancelled,
    FollowupScheduled,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.events.common import Place
from shared.events.transport import Leg
from shared.inbox import Delivery
from shared.runtime import ServiceRuntime

from ..db import CaseSpecialist, TransportCase, Visit
from ..domain import discharge_time, home_ride, ride_profile, visit_rides
from ..settings import settings_of
from .rides import SERVICE, Context, arrange, cancel, emit, resend_offers, rides_held_by_vendors


async def plan_ride_home(
    event: DischargePending | DischargeRegistered | DischargeUpdated, delivery: Delivery, *, runtime: ServiceRuntime
) -> None:
    """Keep the ride profile of the discharge, then book, keep or reschedule the ride home and the visits' legs."""
    settings, now, session = settings_of(runtime), runtime.clock.now(), delivery.session
    details = event.discharge
    if not settings.serves(details.facility.id):
        return
    profile = ride_profile(details, discharge_time(event, now))
    case = await session.get(TransportCase, event.case_id, with_for_update=True)
    ctx = Context(session, now, settings)
    if case is None:
        case = TransportCase(
            case_id=event.case_id,
            facility_id=details.facility.id,
            profile_json=profile.model_dump_json(),
            opened_at=now,
            updated_at=now,
        )
        emit(
            ctx,
            CaseOpened(case_id=event.case_id, service=SERVICE, opened_at=now, trigger_event_id=delivery.envelope.id),
        )
    elif case.status == "cancelled" and isinstance(event, DischargeUpdated):
        # An A08 after an A13 corrects the record of a stay that no longer ends: keep it, book nothing.
        case.profile_json = profile.model_dump_json()
        case.updated_at = now
        session.add(case)
        return
    # A changed name, phone, language or payer (A08) leaves a booked ride standing, but its vendor must hear of it.
    before = case.profile if case.profile_json else None
    rider_changed = before is not None and (before.rider, before.payer) != (profile.rider, profile.payer)
    held_before = set()
    if rider_changed:
        held_before = {ride.ride_id for ride in await rides_held_by_vendors(session, case.case_id)}
    case.profile_json = profile.model_dump_json()
    case.status = "open"
    case.updated_at = now
    session.add(case)
    await arrange(ctx, case, Leg.HOME, None, home_ride(profile, now, settings.window_rules))
    visits = (await session.exec(select(Visit).where(col(Visit.case_id) == case.case_id))).all()
    for visit in visits:
        await arrange_visit(ctx, case, visit)
    if held_before:
        await resend_offers(ctx, case, only=held_before)  # rides rebooked above went out with the new details


async def cancel_rides_of_case(event: DischargeCancelled, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """The discharge is off: every ride a vendor holds is cancelled with it."""
    session, now = delivery.session, runtime.clock.now()
    case = await session.get(TransportCase, event.case_id, with_for_update=True)
    if case is None:
        return
    case.status = "cancelled"
    case.updated_at = now
    session.add(case)
    ctx = Context(session, now, settings_of(runtime))
    for ride in await rides_held_by_vendors(session, event.case_id):
        await cancel(ctx, ride, "discharge_cancelled")


async def book_visit_rides(event: FollowupScheduled, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """A visit in person that needs a ride gets a round trip; booked now if the case is known, else when it is."""
    session, now = delivery.session, runtime.clock.now()
    visit = await session.get(Visit, event.appointment_id, with_for_update=True) or Visit(
        appointment_id=event.appointment_id, case_id=event.case_id, starts_at=event.starts_at, updated_at=now
    )
    visit.starts_at = event.starts_at
    visit.location_json = event.location.model_dump_json() if event.location else None
    visit.needs_ride = event.needs_ride and not event.telehealth
    visit.cancelled = False
    visit.updated_at = now
    session.add(visit)
    case = await session.get(TransportCase, event.case_id, with_for_update=True)
    if case is not None and case.status == "open":
        await arrange_visit(Context(session, now, settings_of(runtime)), case, visit)


async def cancel_visit_rides(event: FollowupCancelled, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    session, now = delivery.session, runtime.clock.now()
    visit = await session.get(Visit, event.appointment_id, with_for_update=True)
    if visit is None:
        return
    visit.cancelled = True
    visit.updated_at = now
    session.add(visit)
    ctx = Context(session, now, settings_of(runtime))
    for ride in await rides_held_by_vendors(session, event.case_id, event.appointment_id):
        await cancel(ctx, ride, "followup_cancelled")


async def arrange_visit(ctx: Context, case: TransportCase, visit: Visit) -> None:
    if visit.cancelled or not visit.needs_ride:
        for ride in await rides_held_by_vendors(ctx.session, case.case_id, visit.appointment_id):
            await cancel(ctx, ride, "followup_cancelled" if visit.cancelled else "ride_not_needed")
        return
    location = Place.model_validate_json(visit.location_json) if visit.location_json else None
    plans = visit_rides(case.profile, visit.starts_at, location, ctx.now, ctx.settings.window_rules)
    for leg, plan in plans.items():
        await arrange(ctx, case, leg, visit.appointment_id, plan)


async def remember_specialist(
    event: SpecialistAssigned | SpecialistReassigned, delivery: Delivery, *, runtime: ServiceRuntime
) -> None:
    """The specialist is told when a ride fails, and their phone goes to the vendors as the contact to notify."""
    session, now = delivery.session, runtime.clock.now()
    row = await session.get(CaseSpecialist, event.case_id) or CaseSpecialist(
        case_id=event.case_id, specialist_id=event.specialist.specialist_id, updated_at=now
    )
    phone_changed = row.phone != event.specialist_phone
    row.specialist_id = event.specialist.specialist_id
    row.phone = event.specialist_phone
    row.updated_at = now
    session.add(row)
    case = await session.get(TransportCase, event.case_id)
    if phone_changed and case is not None and case.status == "open":
        # The ride home is usually offered before matching ends: the vendor hears of the specialist afterwards.
        await resend_offers(Context(session, now, settings_of(runtime)), case)


async def forget_specialist(event: SpecialistReleased, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    row = await delivery.session.get(CaseSpecialist, event.case_id)
    if row is not None and row.specialist_id == event.specialist_id:
        await delivery.session.delete(row)
