"""Everything transport listens to, and what it emits."""

from functools import partial

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    FollowupCancelled,
    FollowupScheduled,
    NotificationRequested,
    RideAccepted,
    RideCancelled,
    RideCancelRequested,
    RideCompleted,
    RideDriverAssigned,
    RideFailed,
    RideNoShow,
    RidePickedUp,
    RideRejected,
    RideRequested,
    RideStatusChanged,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.runtime import ServiceRuntime, Subscription

from .handlers.cases import (
    book_visit_rides,
    cancel_rides_of_case,
    cancel_visit_rides,
    forget_specialist,
    plan_ride_home,
    remember_specialist,
)
from .handlers.updates import record_vendor_update

# What a change to a ride can emit: offers and cancellations to vendors, the platform's view, the specialist's notice.
RIDE_EVENTS = (RideRequested, RideCancelRequested, RideStatusChanged, RideFailed, NotificationRequested)


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    planned = partial(plan_ride_home, runtime=runtime)
    specialist = partial(remember_specialist, runtime=runtime)
    vendor_update = partial(record_vendor_update, runtime=runtime)
    return (
        Subscription(
            topics=("discharge.events",),
            handlers={
                DischargePending: planned,
                DischargeRegistered: planned,
                DischargeUpdated: planned,
                DischargeCancelled: partial(cancel_rides_of_case, runtime=runtime),
            },
            emits=(CaseOpened, *RIDE_EVENTS),
            description="Discharges announced by intake: a ride home from the discharge entrance, rescheduled when "
            "the time or places change, cancelled with the discharge.",
        ),
        Subscription(
            topics=("appointment.events",),
            handlers={
                FollowupScheduled: partial(book_visit_rides, runtime=runtime),
                FollowupCancelled: partial(cancel_visit_rides, runtime=runtime),
            },
            emits=RIDE_EVENTS,
            description="Follow-up visits in person that need a ride: a round trip (two legs), cancelled with "
            "the visit.",
        ),
        Subscription(
            topics=("assignment.events",),
            handlers={
                SpecialistAssigned: specialist,
                SpecialistReassigned: specialist,
                SpecialistReleased: partial(forget_specialist, runtime=runtime),
            },
            description="Who the patient's peer specialist is: told at once when a ride fails, is missed or no-shows.",
        ),
        Subscription(
            topics=("transport.ride-updates",),
            handlers={
                RideAccepted: vendor_update,
                RideDriverAssigned: vendor_update,
                RidePickedUp: vendor_update,
                RideCompleted: vendor_update,
                RideCancelled: vendor_update,
                RideNoShow: vendor_update,
                RideRejected: vendor_update,
            },
            emits=RIDE_EVENTS,
            description="Vendors' answers: each moves the ride by its state machine; a rejection, a vendor's "
            "cancellation or silence passes the offer to the next eligible vendor.",
        ),
    )
