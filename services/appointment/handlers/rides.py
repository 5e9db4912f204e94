"""transport.events: the ride to a visit, kept on the appointment; a ride that falls through is the specialist's cue."""

from __future__ import annotations

from shared.events import RideStatusChanged
from shared.events.common import Priority
from shared.events.transport import Leg, RideStatus
from shared.inbox import Delivery
from shared.runtime import ServiceRuntime

from ..db import Appointment, FollowupCase
from ..domain import AppointmentStatus
from ..settings import settings_of
from .notices import notify, recipients_of

# A ride to the visit that will not take place: without another way there, the visit will likely be missed.
RIDE_PROBLEMS = frozenset({RideStatus.CANCELLED, RideStatus.REJECTED, RideStatus.FAILED, RideStatus.NO_SHOW})


async def note_ride_status(event: RideStatusChanged, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    if event.appointment_id is None or event.leg != Leg.TO_APPOINTMENT:
        return
    session, now = delivery.session, runtime.clock.now()
    appointment = await session.get(Appointment, event.appointment_id)
    if appointment is None or appointment.case_id != event.case_id:
        return
    appointment.ride_status = event.status
    appointment.updated_at = now
    session.add(appointment)
    case = await session.get(FollowupCase, event.case_id)
    if event.status in RIDE_PROBLEMS and appointment.status == AppointmentStatus.BOOKED and case is not None:
        notify(
            session,
            await recipients_of(session, case.case_id, case.facility_id, settings_of(runtime)),
            case_id=case.case_id,
            template="followup.ride_problem",
            summary=f"The ride to follow-up visit {appointment.id} on {appointment.starts_at:%Y-%m-%d %H:%M} UTC "
            f"is {event.status.replace('_', ' ')}: arrange another way there or a telehealth visit",
            related_id=appointment.id,
            key=f"{appointment.id}/ride/{event.ride_id}/{event.status}",
            now=now,
            priority=Priority.URGENT,
        )
