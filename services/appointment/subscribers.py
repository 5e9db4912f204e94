"""Everything appointment listens to, and what it emits."""

from functools import partial

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    FollowupAtRisk,
    FollowupAttended,
    FollowupCancelled,
    FollowupMissed,
    FollowupReminderDue,
    FollowupScheduled,
    NotificationRequested,
    RideStatusChanged,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.runtime import ServiceRuntime, Subscription

from .handlers.cases import close_cancelled_case, forget_specialist, open_case, remember_specialist
from .handlers.rides import note_ride_status


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    opened = partial(open_case, runtime=runtime)
    specialist = partial(remember_specialist, runtime=runtime)
    return (
        Subscription(
            topics=("discharge.events",),
            handlers={
                DischargePending: opened,
                DischargeRegistered: opened,
                DischargeUpdated: opened,
                DischargeCancelled: partial(close_cancelled_case, runtime=runtime),
            },
            emits=(CaseOpened, FollowupScheduled, FollowupCancelled, FollowupAtRisk, NotificationRequested),
            description="Discharges announced by intake: the follow-up visit is booked within 7 days (planning "
            "starts at a pending discharge); a cancelled discharge cancels it and releases the slot.",
        ),
        Subscription(
            topics=("assignment.events",),
            handlers={
                SpecialistAssigned: specialist,
                SpecialistReassigned: specialist,
                SpecialistReleased: partial(forget_specialist, runtime=runtime),
            },
            emits=(NotificationRequested,),
            description="Who the patient's peer specialist is: visits, reminders and misses are told to them.",
        ),
        Subscription(
            topics=("transport.events",),
            handlers={RideStatusChanged: partial(note_ride_status, runtime=runtime)},
            emits=(NotificationRequested,),
            description="Rides to visits: one that falls through asks the specialist to find another way there.",
        ),
    )


# Emitted outside the subscriptions: by the HTTP API (visits recorded) and the scheduler (reminders, deadlines).
API_EMITS = (
    FollowupScheduled,
    FollowupReminderDue,
    FollowupAttended,
    FollowupMissed,
    FollowupCancelled,
    FollowupAtRisk,
    NotificationRequested,
)
