"""The simulation's agenda: what simulated people and vendors will do, and when, in a fixed order per step.

An action's time is on the step grid; within a step actions run by `kind` (answers before new facility messages), then
by a key made of stable ids (case id, specialist, ordinal), never of the platform's random ids, so two runs with one
seed do the same things in the same order.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class Kind(IntEnum):
    """What an action is, in the order actions of one step run."""

    NOTIFICATION_ANSWER = 1  # a specialist accepts or declines an offer, a supervisor takes a crisis alert
    CONSENT = 2  # staff record the patient's answer about peer support, through the assignment API
    VENDOR_UPDATE = 3  # a vendor's ride update, through the vendor client (Kafka)
    VISIT_OUTCOME = 4  # a visit attended or missed, through the appointment API
    REFERRAL_ANSWER = 5  # an organisation answers a referral, through the resource API


@dataclass(order=True, frozen=True)
class Action:
    at: datetime
    kind: Kind
    key: str
    payload: dict[str, Any] = field(compare=False, default_factory=dict)


class Agenda:
    def __init__(self) -> None:
        self._heap: list[Action] = []
        self.done: dict[Kind, int] = dict.fromkeys(Kind, 0)

    def add(self, action: Action) -> None:
        heapq.heappush(self._heap, action)

    def due(self, now: datetime) -> list[Action]:
        """Every action at or before `now`, in run order."""
        out = []
        while self._heap and self._heap[0].at <= now:
            out.append(heapq.heappop(self._heap))
        for action in out:
            self.done[action.kind] += 1
        return out

    def next_at(self) -> datetime | None:
        return self._heap[0].at if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


def draw(seed: int, *parts: object) -> random.Random:
    """A random stream for one decision, named by stable parts: the same decision draws the same numbers."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))
