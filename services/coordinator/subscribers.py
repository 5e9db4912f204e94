"""Everything coordinator listens to: every *.events topic. It emits nothing (a read model)."""

from functools import partial

from shared.events import Event
from shared.runtime import ServiceRuntime, Subscription
from shared.topics import EVENTS_TOPICS

from .handlers import record_on_timeline


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    return (
        Subscription(
            topics=EVENTS_TOPICS,
            handlers={Event: partial(record_on_timeline, clock=runtime.clock)},
            description="Every fact about every case, for the timeline and the plan.",
        ),
    )
