"""A ride's life in one place: offered to the next eligible vendor, withdrawn, cancelled, failed; each change is
announced as RideStatusChanged, and vendor-facing commands carry the vendor in a header.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import (
    Event,
    NotificationRequested,
    RideCancelRequested,
    RideFailed,
    RideRequested,
    RideStatusChanged,
)
from shared.events.common import Priority
from shared.events.transport import Leg, RideStatus

from ..db import CaseSpecialist, Ride, TransportCase, Vendor
from ..domain import (
    HELD_BY_VENDOR,
    OTHER_PAYER,
    CancelReason,
    FailureReason,
    RideSpec,
    needs_reschedule,
)
from ..eligibility import eligible_vendors
from ..minimum_necessary import check_minimum_necessary
from ..settings import TransportSettings

SERVICE = "transport"
SOURCE = f"/{SERVICE}"
# Vendors' consumers filter on this Kafka header, so they need not parse other vendors' bodies.
VENDOR_HEADER = "vendor_id"
NOTIFICATION_NAMESPACE = uuid.UUID("2a4f7c1e-5b3d-4e8a-9c6f-0d1e2f3a4b5c")
LEG_WORDS = {
    Leg.HOME: "ride home",
    Leg.TO_APPOINTMENT: "ride to the follow-up visit",
    Leg.FROM_APPOINTMENT: "ride back from the follow-up visit",
}


@dataclass(frozen=True)
class Context:
    """What every ride change needs: the open transaction, the time on the service's clock, the settings."""

    session: AsyncSession
    now: datetime
    settings: TransportSettings


def emit(ctx: Context, event: Event) -> None:
    outbox.add(ctx.session, event, source=SOURCE, now=ctx.now)


def emit_to_vendor(ctx: Context, event: RideRequested | RideCancelRequested) -> None:
    record = outbox.add(ctx.session, event, source=SOURCE, now=ctx.now)
    headers = json.loads(record.headers)
    headers[VENDOR_HEADER] = event.vendor_id
    record.headers = json.dumps(headers)


def announce(ctx: Context, ride: Ride, status: RideStatus, detail: str | None = None) -> None:
    """Set the ride's status and tell the coordinator and appointment services (transport.events)."""
    ride.status = status
    ride.detail = detail
    ride.updated_at = ctx.now
    ctx.session.add(ride)
    emit(
        ctx,
        RideStatusChanged(
            case_id=ride.case_id,
            ride_id=ride.ride_id,
            leg=ride.ride_leg,
            vendor_id=ride.vendor_id,
            status=status,
            appointment_id=ride.appointment_id,
            detail=detail,
            eta=ride.eta,
        ),
    )


async def arrange(
    ctx: Context, case: TransportCase, leg: Leg, appointment_id: str | None, plan: RideSpec | FailureReason
) -> None:
    """Bring a leg in line with the latest plan: book it, leave it, reschedule it, or report why it cannot be."""
    current = await latest_ride(ctx.session, case.case_id, leg, appointment_id)
    status = current.ride_status if current else None
    if current is not None and status in (RideStatus.PICKED_UP, RideStatus.COMPLETED, RideStatus.NO_SHOW):
        return  # under way or over; after a no-show, rebooking is the specialist's call (POST /v1/rides/…/rebook)
    if current is not None and status in HELD_BY_VENDOR:
        spec = current.spec
        if isinstance(plan, str) or spec is None or not needs_reschedule(spec, plan, ctx.settings.window_rules):
            return  # the booked ride stands
        await cancel(ctx, current, "rescheduled")
    elif current is not None and status is RideStatus.FAILED:
        spec = current.spec
        if isinstance(plan, str) and current.detail == plan:
            return  # the same failure, already reported
        if (
            not isinstance(plan, str)
            and spec is not None
            and not needs_reschedule(spec, plan, ctx.settings.window_rules)
        ):
            return  # nothing changed since it failed: a retry would fail alike (staff may rebook)
    await new_ride(ctx, case, leg, appointment_id, plan)


async def new_ride(
    ctx: Context, case: TransportCase, leg: Leg, appointment_id: str | None, plan: RideSpec | FailureReason
) -> Ride:
    previous = await latest_ride(ctx.session, case.case_id, leg, appointment_id)
    ride = Ride(
        ride_id=f"R-{uuid.uuid4().hex[:16]}",
        case_id=case.case_id,
        leg=leg,
        appointment_id=appointment_id,
        generation=previous.generation + 1 if previous else 1,
        status=RideStatus.REQUESTED,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    if isinstance(plan, str):
        await fail(ctx, ride, plan)
    else:
        ride.set_spec(plan)
        await offer_next(ctx, case, ride)
    return ride


async def offer_next(
    ctx: Context, case: TransportCase, ride: Ride, *, detail: str | None = None, failure: FailureReason | None = None
) -> None:
    """Offer the ride to the best eligible vendor not yet tried; none left fails the ride."""
    spec, profile = ride.spec, case.profile
    if spec is None:
        raise ValueError(f"ride {ride.ride_id} has no plan to offer")
    vendors = [row.vendor_profile for row in (await ctx.session.exec(select(Vendor).where(col(Vendor.active)))).all()]
    payer_kind = profile.payer.kind if profile.payer else OTHER_PAYER
    candidates = eligible_vendors(vendors, spec, payer_kind, ctx.now, exclude=frozenset(ride.tried_vendors))
    if not candidates:
        await fail(ctx, ride, failure or ("all_vendors_rejected" if ride.tried_vendors else "no_vendor"))
        return
    vendor_id = candidates[0].vendor.vendor_id
    ride.vendor_id = vendor_id
    ride.offer_no += 1
    ride.tried_vendors = [*ride.tried_vendors, vendor_id]
    ride.offer_deadline = ctx.now + ctx.settings.accept_timeout
    ride.eta = None
    emit_to_vendor(ctx, await ride_request(ctx, case, ride))
    announce(ctx, ride, RideStatus.REQUESTED, detail or f"offered to {vendor_id}")


async def ride_request(ctx: Context, case: TransportCase, ride: Ride) -> RideRequested:
    """The offer of the ride to the vendor holding it: minimum necessary, with the specialist's phone when known."""
    spec, profile = ride.spec, case.profile
    if spec is None or ride.vendor_id is None:
        raise ValueError(f"ride {ride.ride_id} has no plan or no vendor to offer it to")
    specialist = await ctx.session.get(CaseSpecialist, case.case_id)
    request = RideRequested(
        case_id=case.case_id,
        ride_id=ride.ride_id,
        vendor_id=ride.vendor_id,
        leg=ride.ride_leg,
        pickup=spec.pickup,
        dropoff=spec.dropoff,
        earliest_pickup=spec.earliest_pickup,
        latest_arrival=spec.latest_arrival,
        will_call=spec.will_call,
        round_trip=spec.round_trip,
        service_level=spec.service_level,
        escort_count=spec.escort_count,
        equipment_notes=spec.equipment_notes,
        rider=profile.rider,
        payer=profile.payer,
        notify_contact_phone=specialist.phone if specialist else None,
        # One key per offer: a vendor receiving the same offer twice books one ride.
        idempotency_key=f"{ride.ride_id}:{ride.offer_no}",
    )
    return check_minimum_necessary(request)


async def resend_offers(ctx: Context, case: TransportCase, only: set[str] | None = None) -> None:
    """Offers already with vendors go again with what changed (rider's details, the contact to notify); the same
    idempotency key tells the vendor it is the booking it holds, to update and not to book twice."""
    for ride in await rides_held_by_vendors(ctx.session, case.case_id):
        if (only is None or ride.ride_id in only) and ride.vendor_id is not None and ride.spec is not None:
            emit_to_vendor(ctx, await ride_request(ctx, case, ride))


async def withdraw(ctx: Context, ride: Ride, reason: CancelReason) -> None:
    """Ask the vendor holding the ride to drop it."""
    if ride.vendor_id and ride.ride_status in HELD_BY_VENDOR:
        emit_to_vendor(
            ctx,
            RideCancelRequested(case_id=ride.case_id, ride_id=ride.ride_id, vendor_id=ride.vendor_id, reason=reason),
        )


async def cancel(ctx: Context, ride: Ride, reason: CancelReason) -> None:
    if ride.ride_status not in HELD_BY_VENDOR:
        return  # picked up, or over: nothing to cancel
    await withdraw(ctx, ride, reason)
    ride.offer_deadline = ride.pickup_deadline = None
    announce(ctx, ride, RideStatus.CANCELLED, reason)


async def fail(ctx: Context, ride: Ride, reason: FailureReason) -> None:
    """No ride: the coordinator sees it (RideFailed) and the specialist, if known, is told at once."""
    ride.offer_deadline = ride.pickup_deadline = None
    announce(ctx, ride, RideStatus.FAILED, reason)
    emit(
        ctx,
        RideFailed(
            case_id=ride.case_id,
            ride_id=ride.ride_id,
            leg=ride.ride_leg,
            reason=reason,
            appointment_id=ride.appointment_id,
        ),
    )
    await notify_specialist(
        ctx, ride, "ride.failed", f"The {LEG_WORDS[ride.ride_leg]} ({ride.ride_id}) could not be arranged: {reason}."
    )


async def notify_specialist(ctx: Context, ride: Ride, template: str, summary: str) -> None:
    """Tell the case's peer specialist, if one is assigned. Minimum necessary: ids and what happened, no names."""
    specialist = await ctx.session.get(CaseSpecialist, ride.case_id)
    if specialist is None:
        return
    emit(
        ctx,
        NotificationRequested(
            case_id=ride.case_id,
            notification_id=str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{ride.ride_id}/{template}/{ride.offer_no}")),
            recipient_id=specialist.specialist_id,
            recipient_role="specialist",
            template=template,
            priority=Priority.URGENT,  # someone may be waiting at the curb
            summary=summary[:280],
            link=f"/v1/cases/{ride.case_id}",
            related_id=ride.ride_id,
        ),
    )


async def latest_ride(session: AsyncSession, case_id: str, leg: Leg, appointment_id: str | None) -> Ride | None:
    same_visit = (
        col(Ride.appointment_id).is_(None) if appointment_id is None else col(Ride.appointment_id) == appointment_id
    )
    query = (
        select(Ride)
        .where(col(Ride.case_id) == case_id, col(Ride.leg) == leg.value, same_visit)
        .order_by(col(Ride.generation).desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.exec(query)).first()


async def rides_held_by_vendors(session: AsyncSession, case_id: str, appointment_id: str | None = None) -> list[Ride]:
    query = select(Ride).where(col(Ride.case_id) == case_id, col(Ride.status).in_([s.value for s in HELD_BY_VENDOR]))
    if appointment_id is not None:
        query = query.where(col(Ride.appointment_id) == appointment_id)
    return list((await session.exec(query.with_for_update())).all())
