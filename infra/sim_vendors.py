"""Simulated NEMT vendors: the reference vendor client (services/transport/vendor_sim) receiving ride requests on its
own consumer group and sending updates in the platform's envelope, with answers timed by the simulation's clock.

The reference client answers after real seconds, seeded by the ride's id; here each answer is planned in simulated
time and seeded by stable parts (case, leg, vendor, the how-many-th offer of that leg), so a run repeats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.transport.vendor_sim import Answer, VendorBehaviour, VendorSim
from services.transport.vendor_sim.behaviour import answer_event
from shared.clock import Clock
from shared.events import RideCancelled, RideCancelRequested, RideRequested
from shared.events.transport import Leg
from shared.settings import KafkaSettings

from .scenario import ScenarioConfig, on_grid
from .scenario_supply import VendorHabits
from .sim_agenda import Action, Agenda, Kind, draw

RIDE_MINUTES = 45  # from pickup to drop-off
TERMINAL = (Answer.REJECTED, Answer.NO_SHOW, Answer.COMPLETED)


class SimulatedVendor(VendorSim):
    """VendorSim's Kafka side, its answers left to the driver: requests are collected, updates sent on demand."""

    def __init__(self, kafka: KafkaSettings, vendor_id: str, clock: Clock) -> None:
        super().__init__(kafka, vendor_id, VendorBehaviour(), clock=clock)
        self.received: list[RideRequested | RideCancelRequested] = []

    def _offer(self, request: RideRequested) -> None:
        if request.idempotency_key not in self._seen_keys:  # a redelivered request books one ride (the contract)
            self._seen_keys.add(request.idempotency_key)
            self.received.append(request)

    async def _cancel(self, request: RideCancelRequested) -> None:
        self.received.append(request)

    def take(self) -> list[RideRequested | RideCancelRequested]:
        taken, self.received = self.received, []
        return taken

    async def send_answer(self, answer: Answer, request: RideRequested) -> None:
        await self._send(answer_event(answer, request, self.clock.now(), self.behaviour))

    async def send_cancelled(self, request: RideCancelRequested) -> None:
        await self._send(
            RideCancelled(
                case_id=request.case_id,
                ride_id=request.ride_id,
                vendor_id=self.vendor_id,
                at=self.clock.now(),
                reason=f"cancel_requested: {request.reason}",
            )
        )


@dataclass
class RidePlan:
    request: RideRequested
    remaining: list[tuple[datetime, Answer]]


class Dispatch:
    """Every vendor's plans: which answer each ride gets, and when."""

    def __init__(self, config: ScenarioConfig, habits: dict[str, VendorHabits]) -> None:
        self.config = config
        self.habits = habits
        self.plans: dict[str, RidePlan] = {}  # ride id → what is still to be sent
        self._offers: dict[tuple[str, str, str], int] = defaultdict(int)
        self.stats: dict[str, int] = defaultdict(int)

    def take(self, received: list[RideRequested | RideCancelRequested], now: datetime, agenda: Agenda) -> None:
        # Sorted by stable parts: the order requests were written in may differ between runs.
        for item in sorted(received, key=_stable_order):
            if isinstance(item, RideCancelRequested):
                self._cancel(item, now, agenda)
            else:
                self._plan(item, now, agenda)

    def _plan(self, request: RideRequested, now: datetime, agenda: Agenda) -> None:
        habits = self.habits[request.vendor_id]
        leg_key = (request.case_id, str(request.leg), request.vendor_id)
        self._offers[leg_key] += 1
        rng = draw(self.config.seed, "ride", *leg_key, self._offers[leg_key])
        answered = on_grid(self.config, now + timedelta(minutes=habits.minutes_to_answer * rng.uniform(0.5, 1.5)),
                           up=True)  # fmt: skip
        if rng.random() >= habits.accept_rate:
            steps = [(answered, Answer.REJECTED)]
        else:
            pickup = on_grid(self.config, max(answered, _pickup_time(request, answered)), up=True)
            steps = [(answered, Answer.ACCEPTED)]
            if rng.random() < habits.late_rate:
                pass  # accepted, but no driver ever comes: the platform's pickup deadline must notice
            elif rng.random() < habits.no_show_rate:
                steps += [
                    (max(answered, pickup - timedelta(hours=1)), Answer.DRIVER_ASSIGNED),
                    (pickup, Answer.NO_SHOW),
                ]
            else:
                steps += [
                    (max(answered, pickup - timedelta(hours=1)), Answer.DRIVER_ASSIGNED),
                    (pickup, Answer.PICKED_UP),
                    (on_grid(self.config, pickup + timedelta(minutes=RIDE_MINUTES), up=True), Answer.COMPLETED),
                ]
        self.plans[request.ride_id] = RidePlan(request, steps)
        self.stats["offers"] += 1
        self._schedule_next(request.ride_id, agenda)

    def _schedule_next(self, ride_id: str, agenda: Agenda) -> None:
        plan = self.plans.get(ride_id)
        if plan is None or not plan.remaining:
            self.plans.pop(ride_id, None)
            return
        at, answer = plan.remaining[0]
        request = plan.request
        key = f"{request.case_id}:{request.leg}:{request.vendor_id}:{request.earliest_pickup}:{answer}"
        agenda.add(Action(at, Kind.VENDOR_UPDATE, key, {"ride_id": ride_id, "answer": answer}))

    def _cancel(self, request: RideCancelRequested, now: datetime, agenda: Agenda) -> None:
        plan = self.plans.pop(request.ride_id, None)
        if plan is None:
            return  # rejected, finished, or never ours: nothing to confirm (as the reference client does)
        self.stats["cancelled"] += 1
        key = f"{request.case_id}:{plan.request.leg}:{request.vendor_id}:{plan.request.earliest_pickup}:cancel"
        agenda.add(Action(now, Kind.VENDOR_UPDATE, key, {"cancel": request}))

    def next_answer(self, action: Action) -> tuple[RideRequested, Answer] | None:
        """The answer an action stands for, if its ride still waits for it; the plan moves on."""
        plan = self.plans.get(action.payload["ride_id"])
        if plan is None or not plan.remaining or plan.remaining[0][1] != action.payload["answer"]:
            return None  # cancelled meanwhile
        _, answer = plan.remaining.pop(0)
        self.stats[str(answer)] += 1
        return plan.request, answer

    def after(self, ride_id: str, answer: Answer, agenda: Agenda) -> None:
        if answer in TERMINAL:
            self.plans.pop(ride_id, None)
        else:
            self._schedule_next(ride_id, agenda)


def _pickup_time(request: RideRequested, answered: datetime) -> datetime:
    """When the driver picks up: at the discharge (the window opens a little before it), at the leg's time for a
    visit, or an hour after the answer for a will-call ride."""
    if request.earliest_pickup is None:
        return answered + timedelta(hours=1)
    if request.leg is Leg.HOME:
        return request.earliest_pickup + timedelta(minutes=15)
    return request.earliest_pickup


def _stable_order(item: RideRequested | RideCancelRequested) -> tuple[str, ...]:
    if isinstance(item, RideCancelRequested):
        return (item.case_id, "0", item.vendor_id, item.reason)
    return (item.case_id, "1", str(item.leg), str(item.earliest_pickup), item.vendor_id)
