"""How the simulated vendor answers a ride request: decided from the seed and the request alone, so a run repeats."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.events import (
    RideAccepted,
    RideCompleted,
    RideDriverAssigned,
    RideNoShow,
    RidePickedUp,
    RideRejected,
    RideRequested,
)
from shared.events.transport import RideUpdate

DRIVERS = ("Sam", "Lee", "Ana", "Kofi", "Mira", "Jon")
VEHICLES = ("white van", "blue minivan", "grey sedan", "wheelchair van")


class Answer(StrEnum):
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DRIVER_ASSIGNED = "driver_assigned"
    PICKED_UP = "picked_up"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


@dataclass(frozen=True)
class VendorBehaviour:
    accept_rate: float = 0.9
    delay_s: float = 1.0
    progress_delay_s: float | None = None  # between later answers; the first delay when None
    no_show_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.accept_rate <= 1 and 0 <= self.no_show_rate <= 1):
            raise ValueError("accept_rate and no_show_rate are probabilities between 0 and 1")
        if self.delay_s < 0 or (self.progress_delay_s is not None and self.progress_delay_s < 0):
            raise ValueError("delays cannot be negative")


def rng_for(behaviour: VendorBehaviour, request: RideRequested) -> random.Random:
    # Seeded per offer, not per run: the answers do not depend on the order requests arrive in.
    return random.Random(f"{behaviour.seed}:{request.idempotency_key}")


def plan_answers(request: RideRequested, behaviour: VendorBehaviour) -> list[tuple[float, Answer]]:
    """The answers to send, each after a delay in seconds from the previous one."""
    rng = rng_for(behaviour, request)
    first = behaviour.delay_s
    later = behaviour.progress_delay_s if behaviour.progress_delay_s is not None else first
    if rng.random() >= behaviour.accept_rate:
        return [(first, Answer.REJECTED)]
    if rng.random() < behaviour.no_show_rate:
        return [(first, Answer.ACCEPTED), (later, Answer.DRIVER_ASSIGNED), (later, Answer.NO_SHOW)]
    return [
        (first, Answer.ACCEPTED),
        (later, Answer.DRIVER_ASSIGNED),
        (later, Answer.PICKED_UP),
        (later, Answer.COMPLETED),
    ]


def answer_event(answer: Answer, request: RideRequested, at: datetime, behaviour: VendorBehaviour) -> RideUpdate:
    """The ride update for one answer, echoing the request's case id, ride id and vendor id."""
    common = {"case_id": request.case_id, "ride_id": request.ride_id, "vendor_id": request.vendor_id, "at": at}
    if answer is Answer.REJECTED:
        return RideRejected(**common, reason="no_capacity")
    if answer is Answer.ACCEPTED:
        return RideAccepted(**common)
    if answer is Answer.DRIVER_ASSIGNED:
        rng = rng_for(behaviour, request)
        eta = max(at + timedelta(minutes=10), request.earliest_pickup or at)
        return RideDriverAssigned(**common, driver_name=rng.choice(DRIVERS), vehicle=rng.choice(VEHICLES), eta=eta)
    if answer is Answer.PICKED_UP:
        return RidePickedUp(**common)
    if answer is Answer.NO_SHOW:
        return RideNoShow(**common)
    return RideCompleted(**common)
