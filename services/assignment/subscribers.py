"""Everything assignment listens to, and what it emits."""

from functools import partial

from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    NotificationRequested,
)
from shared.runtime import ServiceRuntime, Subscription

from .handlers import close_cancelled_case, open_case


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    opened = partial(open_case, clock=runtime.clock)
    return (
        Subscription(
            topics=("discharge.events",),
            handlers={
                DischargePending: opened,
                DischargeRegistered: opened,
                DischargeUpdated: opened,
                DischargeCancelled: partial(close_cancelled_case, clock=runtime.clock),
            },
            emits=(
                CaseOpened,
                NotificationRequested,
            ),
            description="Discharges announced by intake.",
        ),
    )
