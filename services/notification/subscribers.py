"""Everything notification listens to, and what it emits."""

from functools import partial

from shared.events import NotificationDelivered, NotificationRequested
from shared.runtime import ServiceRuntime, Subscription

from .handlers import deliver_to_inbox


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    return (
        Subscription(
            topics=("notification.requests",),
            handlers={NotificationRequested: partial(deliver_to_inbox, clock=runtime.clock)},
            emits=(NotificationDelivered,),
            description="Requests to notify a specialist, supervisor or coordinator.",
        ),
    )
