"""Everything resource listens to, and what it emits."""

from functools import partial

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    NotificationRequested,
    ReferralAccepted,
    ReferralCompleted,
    ReferralCreated,
    ReferralDeclined,
    ReferralStatusChanged,
    ResourcesMatched,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.runtime import ServiceRuntime, Subscription

from .handlers import close_cancelled_case, forget_specialist, open_case, remember_specialist


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
            emits=(CaseOpened, ResourcesMatched, ReferralCreated, ReferralStatusChanged, NotificationRequested),
            description="Discharges announced by intake: needs matched (auto-referred where configured); "
            "a cancelled discharge cancels open referrals.",
        ),
        Subscription(
            topics=("assignment.events",),
            handlers={
                SpecialistAssigned: specialist,
                SpecialistReassigned: specialist,
                SpecialistReleased: partial(forget_specialist, runtime=runtime),
            },
            emits=(NotificationRequested,),
            description="Who the patient's peer specialist is: reminders go to them, with the activities to suggest.",
        ),
    )


# Emitted outside the subscriptions: by the HTTP API (referrals, organisations' answers) and the reminder scheduler.
API_EMITS = (
    ResourcesMatched,
    ReferralCreated,
    ReferralAccepted,
    ReferralDeclined,
    ReferralCompleted,
    ReferralStatusChanged,
    NotificationRequested,
)
