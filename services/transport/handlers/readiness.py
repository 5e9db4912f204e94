"""Discharge readiness: a ride home still waiting for a vendor as the discharge comes close is flagged at risk.

Flagged once per ride, `readiness_lead_minutes` before the discharge (at once for a discharge announced only when it
happened), so staff can book another way while the patient is still there. Rides that failed are already flagged
by RideFailed; will-call rides have no time to be late for.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, exists, select

from shared import outbox
from shared.events import RideAtRisk
from shared.events.transport import Leg, RideStatus
from shared.runtime import ServiceRuntime

from ..db import Ride, RideReadinessFlag
from ..settings import settings_of
from .rides import SOURCE

BATCH = 100


async def flag_unconfirmed_rides_home(runtime: ServiceRuntime) -> int:
    """Scheduler tick: RideAtRisk for rides home no vendor has accepted within the lead time of the discharge."""
    settings, now = settings_of(runtime), runtime.clock.now()
    # A ride home's pickup deadline is the discharge time plus the pickup window (domain.home_window).
    horizon = now + timedelta(minutes=settings.readiness_lead_minutes + settings.pickup_window_minutes)
    flagged = exists().where(col(RideReadinessFlag.ride_id) == col(Ride.ride_id))
    async with runtime.db.transaction() as session:
        rides = (
            await session.exec(
                select(Ride)
                .where(
                    col(Ride.leg) == Leg.HOME.value,
                    col(Ride.status) == RideStatus.REQUESTED.value,
                    col(Ride.pickup_deadline) <= horizon,
                    ~flagged,
                )
                .order_by(col(Ride.pickup_deadline), col(Ride.case_id))
                .limit(BATCH)
            )
        ).all()
        for ride in rides:
            spec = ride.spec
            session.add(RideReadinessFlag(ride_id=ride.ride_id, flagged_at=now))
            event = RideAtRisk(
                case_id=ride.case_id,
                ride_id=ride.ride_id,
                leg=Leg.HOME,
                reason="not_accepted",
                earliest_pickup=spec.earliest_pickup if spec else None,
            )
            outbox.add(session, event, source=SOURCE, now=now)
    if rides:
        runtime.relay.wake()
    return len(rides)
