"""Due work on the service's clock: offers nobody accepted in time, and pickups missed at the end of their window."""

from __future__ import annotations

from sqlmodel import col, select

from shared.events.transport import RideStatus
from shared.runtime import ServiceRuntime

from ..db import Ride, TransportCase
from ..domain import AWAITING_DRIVER, reoffered_after_missed_pickup
from ..settings import settings_of
from .rides import LEG_WORDS, Context, announce, notify_specialist, offer_next, withdraw

BATCH = 100


async def enforce_deadlines(runtime: ServiceRuntime) -> int:
    """One scheduler tick: re-offer missed pickups (telling the specialist at once) and expired offers."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        ctx = Context(session, now, settings)
        missed = (
            await session.exec(
                select(Ride)
                .where(
                    col(Ride.status).in_([s.value for s in AWAITING_DRIVER]),
                    col(Ride.pickup_deadline) <= now,
                )
                .order_by(col(Ride.pickup_deadline))
                .limit(BATCH)
                .with_for_update(skip_locked=True)  # several instances: each deadline is acted on by one of them
            )
        ).all()
        for ride in missed:
            await _missed_pickup(ctx, ride)
        expired = (
            await session.exec(
                select(Ride)
                .where(col(Ride.status) == RideStatus.REQUESTED.value, col(Ride.offer_deadline) <= now)
                .order_by(col(Ride.offer_deadline))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for ride in expired:
            await _offer_expired(ctx, ride)
    return len(missed) + len(expired)


async def _missed_pickup(ctx: Context, ride: Ride) -> None:
    spec, vendor_id = ride.spec, ride.vendor_id
    case = await ctx.session.get(TransportCase, ride.case_id)
    if spec is None or case is None:
        raise LookupError(f"ride {ride.ride_id} has no plan or no case")
    await withdraw(ctx, ride, "missed_pickup")
    await notify_specialist(
        ctx,
        ride,
        "ride.missed-pickup",
        f"No driver reached the pickup for the {LEG_WORDS[ride.ride_leg]} ({ride.ride_id}) in its window; "
        "another vendor is being asked now.",
    )
    ride.set_spec(reoffered_after_missed_pickup(spec, ctx.now, ctx.settings.window_rules))
    await offer_next(
        ctx,
        case,
        ride,
        detail=f"missed_pickup: {vendor_id} had no driver by the end of the pickup window; offered to the next vendor",
        failure="missed_pickup",
    )


async def _offer_expired(ctx: Context, ride: Ride) -> None:
    case = await ctx.session.get(TransportCase, ride.case_id)
    if case is None:
        raise LookupError(f"ride {ride.ride_id} has no case")
    await withdraw(ctx, ride, "offer_expired")
    ride.offer_deadline = None
    minutes = ctx.settings.accept_timeout_minutes
    announce(ctx, ride, RideStatus.REJECTED, f"offer_expired: {ride.vendor_id} did not accept within {minutes} min")
    await offer_next(ctx, case, ride, detail="offered to the next vendor after the offer expired")
