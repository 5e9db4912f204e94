"""Watches every *.events topic and records, per case, when each step of the plan was answered and by what.

Shared by `make bench` (latency, lost, duplicated) and `make chaos` (exactly one answer per step after faults):
both count from the topics, never from what the services say about themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.envelope import header_map
from shared.settings import bootstrap_hosts
from shared.topics import EVENTS_TOPICS

# Each step of the plan is done when one of these event types arrives (the second names the failure that
# still settles the step: an unmatched specialist or an at-risk follow-up is an answer, flagged for staff).
MILESTONES: dict[str, tuple[str, ...]] = {
    "specialist": ("specialist.assigned.v1", "specialist.unmatched.v1"),
    "ride_home": ("ride.status-changed.v1", "ride.failed.v1"),
    "followup": ("followup.scheduled.v1", "followup.at-risk.v1"),
    "resources": ("resources.matched.v1",),
}


@dataclass
class CaseProgress:
    accepted_at: float
    events: int = 0  # of this case seen on the topics so far
    done: dict[str, float] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # milestone → entity ids
    # (milestone, entity, ce type, vendor) → ce ids. An outbox re-send repeats a ce id (harmless); a handler that ran
    # twice announces the same fact about the same entity under a new ce id. A ride offered to another vendor is new.
    event_ids: dict[tuple[str, ...], set[str]] = field(default_factory=lambda: defaultdict(set))

    @property
    def complete_at(self) -> float | None:
        return max(self.done.values()) if len(self.done) == len(MILESTONES) else None

    @property
    def duplicated_steps(self) -> list[str]:
        """Steps answered more than once: two entities (two assignments, two rides home, two follow-ups), or one
        entity announced by two different events (a handler that ran twice). Resources answer once per need."""
        doubled = {step for step, ids in self.seen.items() if step != "resources" and len(ids) > 1}
        doubled |= {answer[0] for answer, ids in self.event_ids.items() if len(ids) > 1}
        return sorted(doubled)


def milestone_of(ce_type: str, data: dict[str, Any]) -> tuple[str, str] | None:
    """(step, the entity that answered it), or None when the event does not settle a step."""
    for step, types in MILESTONES.items():
        if ce_type in types:
            if step == "ride_home" and (
                data.get("leg") != "home" or (ce_type == "ride.status-changed.v1" and data.get("status") != "requested")
            ):
                return None
            entity = (
                data.get("assignment_id")
                or data.get("ride_id")
                or data.get("appointment_id")
                or data.get("need")
                or ce_type
            )
            return step, str(entity)
    return None


class Tracker:
    """Reads every *.events topic and records, per case, when each step was answered and by how many entities.

    Only cases registered in `cases` (by the sender, as intake accepts them) are followed.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.cases: dict[str, CaseProgress] = {}
        self.events_seen = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *EVENTS_TOPICS,
            bootstrap_servers=bootstrap_hosts(self.bootstrap),
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        await self._consumer.start()
        while not self._consumer.assignment():  # noqa: ASYNC110 - aiokafka has no "assigned" event without a group
            await asyncio.sleep(0.05)
        for tp in self._consumer.assignment():  # pin the start now, before anything is sent
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            self.events_seen += 1
            case = self.cases.get((record.key or b"").decode())
            if case is None:
                continue
            case.events += 1
            headers = header_map(record.headers or ())
            ce_type, data = headers.get("ce_type", ""), json.loads(record.value or b"{}")
            answered = milestone_of(ce_type, data)
            if answered:
                step, entity = answered
                case.seen[step].add(entity)
                case.event_ids[(step, entity, ce_type, str(data.get("vendor_id")))].add(headers.get("ce_id", ""))
                case.done.setdefault(step, time.monotonic())

    def complete(self) -> int:
        return sum(1 for c in self.cases.values() if c.complete_at is not None)

    def duplicated(self) -> int:
        return sum(1 for c in self.cases.values() if c.duplicated_steps)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._consumer:
            await self._consumer.stop()
