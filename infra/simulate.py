"""`make simulate`: a month of discharges in a region, run through the real platform on simulated time.

    python -m infra.simulate [--seed 7] [--days 30] [--facilities 3] [--discharges-per-day 100] [--specialists 160]
                             [--slots-per-day 110] [--vendor-acceptance 0.85] [--no-answer-share 0.15]
                             [--arms matched,a03_only,round_robin] [--out var/sim]

Every service runs as its own process on a fresh broker and fresh databases, reading "now" from one clock file the
driver moves in steps: set the time, let the services' due work run, send what people and vendors do at that time,
send the facilities' messages, wait until every consumer group has caught up and every outbox is sent, read the
new events. The same scenario runs once per arm (planning from A16 with matching; planning only at A03; specialists
assigned round-robin). Outcomes and the report are in var/sim/ (infra/sim_outcomes.py, infra/sim_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from services.resource.hsds_writer import write_hsds
from shared.clock import FileClock
from shared.settings import KafkaSettings

from .event_log import EventLog, Logged
from .facility_feed import FacilityFeed
from .quiescence import Quiescence
from .scenario import Scenario, ScenarioConfig, build_scenario
from .scenario_supply import Supply, build_supply
from .service_calls import ServiceCalls
from .sim_agenda import Action, Agenda, Kind
from .sim_people import People
from .sim_vendors import Dispatch, SimulatedVendor
from .stack import MLLP_PORT, REPO, SERVICE_PORTS, Stack, fresh_broker, stop_broker

console = Console(stderr=True)
BROKER = "sim"
BROKER_PORT = 25092
PORT_OFFSET = 8000
TICK_S = 0.1  # the services' scheduler interval in the run: due work runs within this of the clock moving
SETTLE_S = 0.2  # nothing new for this long (longer than a tick) counts as quiet
MAX_GAP = timedelta(hours=1)  # the clock never jumps further while discharges come in
TAIL_GAP = timedelta(hours=24)  # after the last discharge, only visits, rides to them and referral answers remain
FOLLOW_UP_DAYS = 31  # by default the run goes on until the last discharge's 30-day window has closed
AUTO_REFERRED = "housing,treatment,peer_group,employment,continued_care,food,family_reintegration,social_activity"


@dataclass(frozen=True)
class Arm:
    name: str
    announce_ahead: bool  # facilities send A16 (and A08/A25) before the discharge
    strategy: str  # assignment's ASSIGNMENT_STRATEGY

    @property
    def description(self) -> str:
        return ARM_DESCRIPTIONS[self.name]


ARMS = {
    "matched": Arm("matched", announce_ahead=True, strategy="matched"),
    "a03_only": Arm("a03_only", announce_ahead=False, strategy="matched"),
    "round_robin": Arm("round_robin", announce_ahead=True, strategy="round_robin"),
}
ARM_DESCRIPTIONS = {
    "matched": "planning from the pending discharge (A16), specialists matched",
    "a03_only": "planning only once the patient has left (A03): no pending discharge",
    "round_robin": "planning from A16, specialists assigned round-robin instead of matched",
}


@dataclass
class ArmRun:
    arm: Arm
    events: list[Logged] = field(default_factory=list)
    dead_letters: int = 0
    steps: int = 0
    wall_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    end: datetime | None = None


def service_settings(scenario: Scenario, arm: Arm, bootstrap: str, clock_file: Path) -> dict[str, str]:
    tick = str(TICK_S)
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PARTITIONS": "1",  # one partition per topic: each topic is read in one order, run after run
        "CLOCK_FILE": str(clock_file),
        "ASSIGNMENT_STRATEGY": arm.strategy,
        "ASSIGNMENT_SCHEDULER_INTERVAL_S": tick,
        "TRANSPORT_SCHEDULER_INTERVAL_S": tick,
        "APPOINTMENT_SCHEDULER_INTERVAL_S": tick,
        "RESOURCE_REMINDER_INTERVAL_S": tick,
        "NOTIFICATION_DELIVERY_INTERVAL_S": tick,
        # Vendors answer on the step grid (30 simulated minutes): 15 minutes would expire every offer.
        "TRANSPORT_ACCEPT_TIMEOUT_MINUTES": "45",
        "APPOINTMENT_FACILITY_KINDS": json.dumps({f.id: f.kind.value for f in scenario.facilities}),
        "APPOINTMENT_MEASURE_TIMEZONE": "America/Chicago",
        "RESOURCE_AUTO_REFER_CATEGORIES": AUTO_REFERRED,
        "INTAKE_FACILITIES_FILE": str(clock_file.parent / "facilities.json"),
    }


def write_facilities(scenario: Scenario, path: Path) -> None:
    """Intake's facility directory: where each facility's discharge entrance is (rides home pick up there)."""
    path.write_text(
        json.dumps(
            {
                "facilities": [
                    {
                        "id": f.id,
                        "name": f.name,
                        "discharge_entrance": {
                            "name": "Main entrance",
                            "address": {
                                "lines": [f.street],
                                "city": "Springfield",
                                "state": "IL",
                                "postal_code": f.postal_code,
                                "country": "US",
                            },
                            "location": {"lat": f.lat, "lon": f.lon},
                        },
                    }
                    for f in scenario.facilities
                ]
            },
            indent=2,
        )
    )


async def run_arm(scenario: Scenario, supply: Supply, arm: Arm, out: Path, follow_up_days: int) -> ArmRun:
    config = scenario.config
    started = time.monotonic()
    state = out / arm.name
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    clock_file = state / "clock"
    FileClock.write(clock_file, config.start)
    write_facilities(scenario, state / "facilities.json")
    bootstrap = fresh_broker(BROKER, BROKER_PORT)
    write_hsds(supply.resources, state / "hsds")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")} | {"DATA_DIR": str(state / "data")}
    # The directory import is a one-off set-up step before any service runs: nothing else waits on the loop yet.
    subprocess.run(  # noqa: ASYNC221
        [sys.executable, "-m", "services.resource.directory", "import", str(state / "hsds")],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    stack = Stack(
        state_dir=state,
        port_offset=PORT_OFFSET,
        broker_name=BROKER,
        broker_port=BROKER_PORT,
        extra_env=service_settings(scenario, arm, bootstrap, clock_file),
    )
    run = ArmRun(arm)
    try:
        stack.up(timeout_s=180)
        run.stats["startup_s"] = round(time.monotonic() - started, 1)
        await drive(scenario, supply, arm, stack, bootstrap, clock_file, run, follow_up_days)
    finally:
        stack.down(stop_broker=False)
        stop_broker(BROKER)
    write_events(run.events, state / "events.jsonl.gz")
    run.wall_s = time.monotonic() - started
    return run


def write_events(events: list[Logged], path: Path) -> None:
    """The arm's events, one JSON line each, for looking into a figure (and for comparing two runs)."""
    with gzip.open(path, "wt") as out:
        for logged in events:
            line = {"time": logged.time.isoformat(), "topic": logged.topic, "type": logged.event.ce_type,
                    "source": logged.source, "data": logged.event.model_dump(mode="json")}  # fmt: skip
            out.write(json.dumps(line, sort_keys=True) + "\n")


async def drive(
    scenario: Scenario,
    supply: Supply,
    arm: Arm,
    stack: Stack,
    bootstrap: str,
    clock_file: Path,
    run: ArmRun,
    follow_up_days: int,
) -> None:
    config = scenario.config
    calls = ServiceCalls(stack)
    await calls.load_supply(supply)
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_partitions=1)
    clock = FileClock(clock_file)
    vendors = {vendor.vendor_id: SimulatedVendor(kafka, vendor.vendor_id, clock) for vendor in supply.vendors}
    for vendor in vendors.values():
        await vendor.start()
    databases = [stack.state_dir / "data" / f"{name}.db" for name in SERVICE_PORTS]
    groups = [*(n for n in SERVICE_PORTS if n != "intake"), *(v.group_id for v in vendors.values())]
    quiet = Quiescence(bootstrap, databases, groups)
    await quiet.start()
    log = EventLog(bootstrap)
    await log.start()
    feed = FacilityFeed(
        mllp_host="127.0.0.1",
        mllp_port=MLLP_PORT + PORT_OFFSET,
        intake_url=stack.url("intake"),
        api_key=stack.api_key(),
        run_tag=f"{arm.name}-{config.seed}",
    )
    agenda = Agenda()
    people = People(scenario, supply)
    dispatch = Dispatch(config, supply.vendor_habits)
    people.plan_consents(scenario, announce_ahead=arm.announce_ahead, agenda=agenda)
    messages = scenario.messages_for(announce_ahead=arm.announce_ahead)
    last_discharge = max((s.discharge_at for s in scenario.discharges), default=config.end)
    finish = max(config.end, last_discharge + timedelta(days=follow_up_days))
    now, cursor = config.start, 0
    loop_started = time.monotonic()

    timings: dict[str, float] = defaultdict(float)

    async def settle_and_read() -> None:
        began = time.monotonic()
        await quiet.wait(settle_s=SETTLE_S)
        timings["waiting"] += time.monotonic() - began
        began = time.monotonic()
        fresh = await log.read_new()
        timings["reading"] += time.monotonic() - began
        people.take(fresh, agenda)
        for vendor in vendors.values():
            dispatch.take(vendor.take(), now, agenda)

    try:
        with console.status(f"[bold]{arm.name}[/]: starting") as status:
            while True:
                FileClock.write(clock_file, now)
                await asyncio.sleep(TICK_S * 1.5)  # every service's scheduler sees the new time at least once
                await settle_and_read()
                for _ in range(10):  # answers may prompt answers in the same step (a cancelled ride's confirmation)
                    due = agenda.due(now)
                    if not due:
                        break
                    began = time.monotonic()
                    for action in due:
                        await perform(action, calls, people, dispatch, vendors, agenda, config.step)
                    timings["acting"] += time.monotonic() - began
                    await settle_and_read()
                sent = 0
                began = time.monotonic()
                while cursor < len(messages) and messages[cursor].at <= now:
                    await feed.send(messages[cursor], now)
                    cursor += 1
                    sent += 1
                timings["sending"] += time.monotonic() - began
                if sent:
                    await settle_and_read()
                run.steps += 1
                if run.steps % 20 == 0:
                    status.update(
                        f"[bold]{arm.name}[/]: {now:%a %d %b %H:%M} · {cursor}/{len(messages)} facility messages · "
                        f"{len(log.events)} events · {time.monotonic() - loop_started:.0f}s"
                    )
                upcoming = [t for t in (agenda.next_at(), messages[cursor].at if cursor < len(messages) else None) if t]
                if not upcoming or (cursor >= len(messages) and min(upcoming) > finish):
                    break
                gap = MAX_GAP if now < config.end else TAIL_GAP
                now = max(now + config.step, min(min(upcoming), now + gap))
    finally:
        await feed.close()
        await log.stop()
        await quiet.stop()
        for vendor in vendors.values():
            await vendor.stop()
        await calls.close()
    run.events = log.events
    run.dead_letters = log.dead_letters
    run.end = now
    run.stats = {
        "facility_messages": dict(feed.sent),
        "actions": {kind.name.lower(): count for kind, count in agenda.done.items()},
        "vendor": dict(dispatch.stats),
        "people": dict(people.stats),
        "calls": dict(calls.stats),
        "quiescence_waits": quiet.waits,
        "quiescence_polls": quiet.polls,
        "driver_seconds": {name: round(seconds, 1) for name, seconds in sorted(timings.items())},
        "loop_s": round(time.monotonic() - loop_started, 1),
    }


async def perform(
    action: Action,
    calls: ServiceCalls,
    people: People,
    dispatch: Dispatch,
    vendors: dict[str, SimulatedVendor],
    agenda: Agenda,
    step: timedelta,
) -> None:
    payload = action.payload
    if action.kind is Kind.NOTIFICATION_ANSWER:
        await calls.answer_offer(payload["notification_id"], payload["accepted"])
    elif action.kind is Kind.CONSENT:
        if not await calls.record_consent(action.key, payload["consent"]):
            tries = payload.get("tries", 0) + 1
            if tries < 6:  # the case reaches assignment a moment after intake accepts it
                agenda.add(Action(action.at + step, action.kind, action.key, {**payload, "tries": tries}))
    elif action.kind is Kind.VENDOR_UPDATE:
        if "cancel" in payload:
            request = payload["cancel"]
            await vendors[request.vendor_id].send_cancelled(request)
            return
        planned = dispatch.next_answer(action)
        if planned is not None:
            request, answer = planned
            await vendors[request.vendor_id].send_answer(answer, request)
            dispatch.after(request.ride_id, answer, agenda)
    elif action.kind is Kind.VISIT_OUTCOME:
        attended = people.attends(payload["appointment_id"], payload["n"])
        if attended is not None:
            await calls.record_visit(payload["appointment_id"], attended)
    elif action.kind is Kind.REFERRAL_ANSWER:
        await calls.answer_referral(payload["id"], payload["status"], payload.get("reason"))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = ScenarioConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--days", type=int, default=defaults.days, help="days of discharges")
    parser.add_argument("--facilities", type=int, default=defaults.facilities)
    parser.add_argument("--discharges-per-day", type=float, default=defaults.discharges_per_day)
    parser.add_argument("--specialists", type=int, default=defaults.specialists, help="peer specialists on the roster")
    parser.add_argument("--slots-per-day", type=int, default=defaults.slots_per_day, help="follow-up slots a weekday")
    parser.add_argument("--vendor-acceptance", type=float, default=defaults.vendor_acceptance)
    parser.add_argument("--no-answer-share", type=float, default=defaults.no_answer_share,
                        help="share of specialists who never answer offers")  # fmt: skip
    parser.add_argument("--step-minutes", type=int, default=defaults.step_minutes)
    parser.add_argument("--follow-up-days", type=int, default=FOLLOW_UP_DAYS,
                        help="days run on after the last discharge (31 covers the 30-day measures)")  # fmt: skip
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "sim")
    return parser.parse_args(argv)


def config_of(args: argparse.Namespace) -> ScenarioConfig:
    return ScenarioConfig(
        seed=args.seed,
        days=args.days,
        facilities=args.facilities,
        discharges_per_day=args.discharges_per_day,
        specialists=args.specialists,
        slots_per_day=args.slots_per_day,
        vendor_acceptance=args.vendor_acceptance,
        no_answer_share=args.no_answer_share,
        step_minutes=args.step_minutes,
    )


def main(argv: list[str] | None = None) -> int:
    from .sim_outcomes import outcomes_of
    from .sim_report import write_report

    args = parse(argv)
    config = config_of(args)
    arms = [ARMS[name.strip()] for name in args.arms.split(",") if name.strip()]
    scenario, supply = build_scenario(config), build_supply(config)
    console.print(
        f"[bold]scenario[/] seed {config.seed}: {len(scenario.discharges)} discharges over {config.days} days at "
        f"{config.facilities} facilities, {config.specialists} specialists, {config.slots_per_day} slots a weekday"
    )
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    for arm in arms:
        run = asyncio.run(run_arm(scenario, supply, arm, args.out / "runs", args.follow_up_days))
        results[arm.name] = outcomes_of(scenario, run, [s.id for s in supply.roster.specialists])
        console.print(f"[green]{arm.name}[/]: {run.steps} steps in {run.wall_s:.0f}s, {len(run.events)} events")
    written = write_report(scenario, arms, results, args.out, wall_s=time.monotonic() - started)
    console.print(f"written {', '.join(str(p) for p in written)}")
    main_arm = results[arms[0].name]
    return 0 if main_arm["unflagged_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
