"""The topic registry: which events travel on which topic, who produces them and who consumes them.

Every topic has a dead-letter twin `<topic>.dlq` (docs/dead-letters.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import ALL_EVENTS, CaseOpened, Event

DOMAIN_SERVICES = ("assignment", "transport", "appointment", "resource")


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    vendor_facing: bool = False

    @property
    def dlq(self) -> str:
        return dead_letter_topic(self.name)

    @property
    def events(self) -> tuple[type[Event], ...]:
        own = tuple(cls for cls in ALL_EVENTS if cls.topic == self.name)
        service = self.name.removesuffix(".events")
        return own + ((CaseOpened,) if service in DOMAIN_SERVICES and self.name.endswith(".events") else ())


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(
            "discharge.events",
            "Admit and discharge facts from facility systems, normalised by intake.",
            ("intake",),
            ("assignment", "transport", "appointment", "resource", "coordinator"),
        ),
        Topic(
            "assignment.events",
            "Peer specialist assignments, their lifecycle and crisis flags.",
            ("assignment",),
            ("appointment", "resource", "transport", "coordinator"),
        ),
        Topic(
            "notification.requests",
            "Commands to notify a specialist, supervisor or coordinator.",
            ("assignment", "appointment", "resource", "transport"),
            ("notification",),
        ),
        Topic(
            "notification.events",
            "Deliveries, failures and acknowledgements of notifications.",
            ("notification",),
            ("assignment", "coordinator"),
        ),
        Topic(
            "transport.ride-requests",
            "Ride offers and cancellations for NEMT vendors.",
            ("transport",),
            ("vendors",),
            vendor_facing=True,
        ),
        Topic(
            "transport.ride-updates",
            "Ride status sent back by NEMT vendors.",
            ("vendors",),
            ("transport",),
            vendor_facing=True,
        ),
        Topic("transport.events", "The platform's view of each ride.", ("transport",), ("appointment", "coordinator")),
        Topic(
            "appointment.events",
            "Follow-up visits: scheduled, reminders, attended, missed, at risk.",
            ("appointment",),
            ("transport", "coordinator"),
        ),
        Topic(
            "resource.events",
            "Community resources offered and referrals to a closed loop.",
            ("resource",),
            ("coordinator",),
        ),
    )
}

EVENTS_TOPICS = tuple(name for name in TOPICS if name.endswith(".events"))


def topic_of(event: Event, service: str | None = None) -> str:
    """The topic an event goes on; CaseOpened goes on the emitting service's own events topic."""
    if isinstance(event, CaseOpened):
        return f"{event.service}.events"
    if not type(event).topic:
        raise ValueError(f"{type(event).__name__} has no fixed topic")
    return type(event).topic
