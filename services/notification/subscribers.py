"""Everything notification listens to, and what it emits (from the consumer, the delivery tick, the answer routes)."""

from functools import partial

from shared.events import NotificationAcknowledged, NotificationDelivered, NotificationFailed, NotificationRequested
from shared.runtime import ServiceRuntime, Subscription

from .handlers import take_request

# Emitted by the HTTP routes that take answers (an acknowledgement link, or the in-app answer).
API_EMITS = (NotificationAcknowledged,)


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    return (
        Subscription(
            topics=("notification.requests",),
            handlers={NotificationRequested: partial(take_request, runtime=runtime)},
            # The inbox delivers at once; email and webhook messages are sent, retried and settled by the
            # delivery tick (deliveries.py), which emits the same two events.
            emits=(NotificationDelivered, NotificationFailed),
            description="Requests to notify a specialist, supervisor or coordinator.",
        ),
    )
