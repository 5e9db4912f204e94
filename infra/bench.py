"""`make bench`: throughput, latency and cost of the whole pipeline against the raw broker, in the same run.

    python -m infra.bench [--rates 2,4,8] [--rate 4] [--discharges 300] [--growth 1,10,100] [--seed 1]
                          [--database-url URL] [--profile] [--out var/bench]

1. Baseline: raw aiokafka produce + consume of messages the size of our events (acks=all, idempotent).
2. Pipeline, on a fresh broker and fresh databases per growth factor, with a seeded roster, vendor registry, clinics
   and slots, and community services behind it, historical cases sent first, and the reference vendor client
   accepting every ride: facilities send pending discharges (HL7 v2 over MLLP, FHIR over HTTP) at each fixed rate,
   then as fast as eight interface engines go. A plan is complete when every step has answered (specialist, ride
   home, follow-up, resources); latency is from intake's acknowledgement to the last of those events. Lost and
   duplicated plans are counted from the topics, not assumed.
3. Growth: the same data at 10x and 100x (specialists, community services, slots, historical cases), one fixed-rate
   run each, with CPU seconds per discharge per service; and matching alone at 10,000 specialists and 100,000
   community services.
4. var/bench/result.json, a table, and SVG plots of latency over time and throughput against offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.transport.vendor_sim import VendorBehaviour, VendorSim
from shared.case_id import case_id_for
from shared.envelope import encode
from shared.settings import KafkaSettings

from .bench_feed import BenchFeed
from .bench_plot import line_chart, lines_chart
from .bench_profile import Profiler
from .bench_supply import HISTORY_AT_1X, Workload, import_directory, load_supply, service_settings, workload
from .plan_tracker import Tracker
from .stack import REPO, SERVICE_PORTS, Stack, fresh_broker, stop_broker

console = Console()
BENCH_BROKER = "bench"
BENCH_BROKER_PORT = 24092
PORT_OFFSET = 6000
PHASE_SECONDS = 12.0  # each fixed rate is offered for about this long
SETTLE_S = 180.0  # a plan not complete this long after its phase was sent counts as lost


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def baseline(bootstrap: str, messages: int, size: int) -> float:
    """Raw aiokafka: produce `messages` of `size` bytes (acks=all, idempotent) and consume them all; events/s."""
    topic = f"bench.baseline.{uuid.uuid4().hex[:8]}"
    payload = os.urandom(size // 2).hex().encode()[:size]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up", key=b"0")
    await consumer.start()
    received = 0
    started = time.perf_counter()

    async def consume() -> None:
        nonlocal received
        async for _ in consumer:
            received += 1
            if received >= messages + 1:
                return

    reader = asyncio.create_task(consume())
    futures = [await producer.send(topic, payload, key=str(i % 64).encode()) for i in range(messages)]
    await asyncio.gather(*futures)
    await reader
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return messages / elapsed


def representative_size() -> int:
    from tests.factories import discharge_registered  # the size of a real event body, for a fair baseline

    return len(encode(discharge_registered(), source="/bench").body)


def process_usage(stack: Stack) -> dict[str, dict[str, float]]:
    """CPU seconds so far and peak RSS of every service process (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage = {}
    for name in SERVICE_PORTS:
        pid = stack.pid(name)
        status = Path(f"/proc/{pid}/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        usage[name] = {"rss_mb": round(peak_kb / 1024, 1), "cpu_s": (int(fields[11]) + int(fields[12])) / ticks}
    return usage


@dataclass
class Phase:
    """One batch of discharges sent at one rate (None: full speed), and what became of them."""

    name: str
    rate: float | None
    case_ids: list[str] = field(default_factory=list)
    sent_at: float = 0.0
    send_s: float = 0.0
    events_before: int = 0
    events_after: int = 0
    done_at: float = 0.0

    def figures(self, tracker: Tracker) -> dict[str, Any]:
        cases = [tracker.cases[c] for c in self.case_ids]
        finished = [c for c in cases if c.complete_at is not None]
        latencies = [((c.complete_at or 0.0) - c.accepted_at) * 1000 for c in finished]
        span = max((c.complete_at or 0.0 for c in finished), default=self.sent_at) - self.sent_at
        return {
            "offered_per_s": self.rate,
            "discharges": len(cases),
            "send_seconds": round(self.send_s, 2),
            "offered_actual_per_s": round(len(cases) / self.send_s, 2) if self.send_s else None,
            "discharges_per_s": round(len(finished) / span, 2) if span > 0 else 0.0,
            "events_per_s": round((self.events_after - self.events_before) / span, 1) if span > 0 else 0.0,
            "latency_ms": {
                "p50": round(percentile(latencies, 0.5), 1),
                "p95": round(percentile(latencies, 0.95), 1),
                "p99": round(percentile(latencies, 0.99), 1),
                "max": round(max(latencies, default=0.0), 1),
            },
            "lost": len(cases) - len(finished),
            "duplicated": sum(1 for c in cases if c.duplicated_steps),
        }


def phases_of(args: argparse.Namespace, growth: int) -> list[tuple[str, float | None, int]]:
    """(name, rate, discharges) in the order sent: the history, then every fixed rate (the growth runs: one), then
    full speed (the first growth factor only)."""
    first = growth == args.growth[0]
    rates = args.rates if first else [args.rate]
    planned: list[tuple[str, float | None, int]] = [("history", None, args.history * growth)]
    planned += [(f"at {rate:g}/s", rate, max(30, round(rate * PHASE_SECONDS))) for rate in rates]
    if first:
        planned.append(("full speed", None, args.discharges))
    return planned


class GrowthRun:
    """One growth factor: its own broker, databases and services, loaded, then driven phase by phase."""

    def __init__(self, load: Workload, args: argparse.Namespace, progress: Progress) -> None:
        self.load, self.args, self.progress = load, args, progress
        self.state = Path(args.out) / f"growth-{load.growth}x"
        self.phases: list[Phase] = []
        self.figures: dict[str, Any] = {"data": load.sizes()}
        self.before: dict[str, dict[str, float]] = {}
        self.series: list[tuple[float, float]] = []

    def run(self) -> dict[str, Any]:
        shutil.rmtree(self.state, ignore_errors=True)
        (self.state / "data").mkdir(parents=True)
        bootstrap = fresh_broker(BENCH_BROKER, BENCH_BROKER_PORT)
        env = service_settings(self.load, self.state, bootstrap)
        if self.args.database_url:
            env["DATABASE_URL"] = self.args.database_url
        stack = Stack(
            state_dir=self.state,
            port_offset=PORT_OFFSET,
            broker_name=BENCH_BROKER,
            broker_port=BENCH_BROKER_PORT,
            extra_env=env,
        )
        try:
            loading = self.progress.add_task(f"{self.load.growth}x: loading the directory", total=None)
            imported_s = import_directory(self.load, self.state, env)
            self.figures["load_seconds"] = {"community_services": round(imported_s, 1)}
            self.progress.update(loading, description=f"{self.load.growth}x: starting every service")
            stack.up(timeout_s=180)
            self.progress.remove_task(loading)
            asyncio.run(self.drive(stack, bootstrap))
            self.figures["services"] = self.usage(stack)
        finally:
            stack.down(stop_broker=False)
            stop_broker(BENCH_BROKER)
        return self.figures

    async def drive(self, stack: Stack, bootstrap: str) -> None:
        load = self.load
        self.figures["load_seconds"]["roster_vendors_clinics"] = round(await load_supply(load, stack), 1)
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        # Answers every offer at once and stops there: pickups days ahead are not the benchmark's business.
        behaviour = VendorBehaviour(accept_rate=1.0, delay_s=0.1, progress_delay_s=3600.0, seed=self.args.seed)
        vendors = [VendorSim(kafka, v.vendor_id, behaviour) for v in load.supply.vendors]
        for vendor in vendors:
            await vendor.start()
        tracker = Tracker(bootstrap)
        await tracker.start()
        feed = BenchFeed(stack, tracker, run_tag=f"bench-{load.growth}x-{uuid.uuid4().hex[:6]}")
        try:
            planned = phases_of(self.args, load.growth)
            stays = iter(load.stays(sum(count for _, _, count in planned)))
            for name, rate, count in planned:
                if not self.before and name != "history":
                    self.before = process_usage(stack)
                profiler = Profiler(self.state / "profile") if self.args.profile and name == "full speed" else None
                if profiler:
                    profiler.start({service: stack.pid(service) for service in SERVICE_PORTS})
                await self.phase(feed, tracker, Phase(name, rate), [next(stays) for _ in range(count)])
                if profiler:
                    self.figures["profile"] = profiler.stop()
        finally:
            await feed.close()
            await tracker.stop()
            for vendor in vendors:
                await vendor.stop()
        self.figures["phases"] = {p.name: p.figures(tracker) for p in self.phases}
        self.figures["sent"] = dict(feed.sent)
        self.figures["consent_posts_per_case"] = round(sum(feed.consent_tries.values()) / max(1, len(tracker.cases)), 2)
        self.figures["consents_failed"] = len(feed.consents_failed)
        if feed.consents_failed:
            case_id, reason = next(iter(feed.consents_failed.items()))
            console.print(
                f"[red]{len(feed.consents_failed)} consents could not be recorded[/], e.g. {case_id}: {reason}"
            )
        self.figures["lost"] = sum(1 for c in tracker.cases.values() if c.complete_at is None)
        self.figures["duplicated"] = tracker.duplicated()
        measured = [p for p in self.phases if p.name != "history"]
        first = min((p.sent_at for p in measured), default=0.0)
        cases = [tracker.cases[c] for p in measured for c in p.case_ids]
        self.series = sorted(
            (c.accepted_at - first, (c.complete_at - c.accepted_at) * 1000) for c in cases if c.complete_at is not None
        )

    async def phase(self, feed: BenchFeed, tracker: Tracker, phase: Phase, stays: list[Any]) -> None:
        self.phases.append(phase)
        phase.case_ids = [case_id_for(s.facility.id, s.visit_number) for s in stays]
        label = f"{self.load.growth}x {phase.name}"
        sending = self.progress.add_task(f"{label}: sending", total=len(stays))
        phase.events_before = tracker.events_seen
        phase.sent_at = time.monotonic()
        phase.send_s = await feed.send(stays, phase.rate, self.progress, sending)
        self.progress.remove_task(sending)
        planned = self.progress.add_task(f"{label}: plans complete", total=len(stays))
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            complete = sum(1 for c in phase.case_ids if tracker.cases[c].complete_at is not None)
            self.progress.update(planned, completed=complete)
            if complete == len(stays):
                break
            await asyncio.sleep(0.1)
        phase.events_after = tracker.events_seen
        self.progress.remove_task(planned)

    def usage(self, stack: Stack) -> dict[str, dict[str, float]]:
        after = process_usage(stack)
        measured = sum(len(p.case_ids) for p in self.phases if p.name != "history")
        return {
            name: {
                "rss_mb": after[name]["rss_mb"],
                "cpu_s": round(after[name]["cpu_s"] - self.before[name]["cpu_s"], 2),
                "cpu_ms_per_discharge": round(1000 * (after[name]["cpu_s"] - self.before[name]["cpu_s"]) / measured, 1),
            }
            for name in SERVICE_PORTS
        }


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())  # fmt: skip
    started = time.monotonic()
    with Progress(*columns, console=console) as progress:
        size = representative_size()
        step = progress.add_task(f"baseline: {args.baseline_messages} raw messages of {size} bytes", total=None)
        bootstrap = fresh_broker(BENCH_BROKER, BENCH_BROKER_PORT)
        try:
            baseline_rate = asyncio.run(baseline(bootstrap, args.baseline_messages, size))
        finally:
            stop_broker(BENCH_BROKER)
        progress.remove_task(step)
        growth: dict[str, Any] = {}
        main_run: GrowthRun | None = None
        for factor in args.growth:
            step = progress.add_task(f"{factor}x: building the seeded data", total=None)
            measured = sum(count for name, _, count in phases_of(args, factor) if name != "history")
            load = workload(factor, measured, args.seed, args.history)
            progress.remove_task(step)
            runner = GrowthRun(load, args, progress)
            growth[f"{factor}x"] = runner.run()
            main_run = main_run or runner
        step = progress.add_task("matching alone: 10,000 specialists, 100,000 community services", total=None)
        matching = matching_alone(args)
        progress.remove_task(step)
    assert main_run is not None
    first = growth[f"{args.growth[0]}x"]
    full, fixed = first["phases"]["full speed"], first["phases"][f"at {args.rate:g}/s"]
    result = {
        "machine": machine(),
        "command": "python -m infra.bench " + " ".join(sys.argv[1:]),
        "database": (args.database_url or "sqlite").split("://")[0].split("+")[0],
        "baseline_events_per_s": round(baseline_rate, 1),
        "pipeline_events_per_s": full["events_per_s"],
        "ratio": round(full["events_per_s"] / baseline_rate, 4) if baseline_rate else None,
        "discharges_per_s": full["discharges_per_s"],
        "fixed_rate_per_s": args.rate,
        "latency_ms": fixed["latency_ms"],
        "full_speed_latency_ms": full["latency_ms"],
        "lost": sum(g["lost"] for g in growth.values()),
        "duplicated": sum(g["duplicated"] for g in growth.values()),
        "rss_mb": {name: u["rss_mb"] for name, u in first["services"].items()},
        "cpu_s": {name: u["cpu_s"] for name, u in first["services"].items()},
        "throughput_vs_rate": [
            {key: p[key] for key in ("offered_per_s", "offered_actual_per_s", "discharges_per_s", "latency_ms")}
            for name, p in first["phases"].items()
            if name != "history"
        ],
        "growth": growth,
        "matching_alone": matching,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    plots(result, main_run, out)
    return result


def matching_alone(args: argparse.Namespace) -> dict[str, Any]:
    from services.assignment.bench_matching import measure
    from services.resource.benchmark import benchmark

    specialists = measure(args.matching_specialists, patients=500, seed=args.seed, check=20)
    url = f"sqlite+aiosqlite:///{Path(args.out) / 'resource-match.db'}"
    Path(args.out, "resource-match.db").unlink(missing_ok=True)
    services = asyncio.run(benchmark(args.matching_services, runs=60, url=url))
    Path(args.out, "resource-match.db").unlink(missing_ok=True)
    return {"specialist": specialists, "community_services": services}


def machine() -> dict[str, Any]:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))  # fmt: skip
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory_kb / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": java[0] if java else None,
    }


def plots(result: dict[str, Any], main_run: GrowthRun, out: Path) -> None:
    if main_run.series:
        (out / "latency.svg").write_text(
            line_chart(
                "End-to-end latency by arrival (1x, every rate then full speed)",
                main_run.series,
                "s since the first measured discharge",
                "ms",
            )
        )
    offered = [(p["offered_actual_per_s"], p["discharges_per_s"]) for p in result["throughput_vs_rate"]]
    series = {"completed / s": offered, "offered / s": [(x, x) for x, _ in offered]}
    chart = lines_chart("Plans completed against discharges offered", series, "offered / s", "discharges / s")
    (out / "throughput.svg").write_text(chart)


def report(result: dict[str, Any]) -> None:
    table = Table(title="make bench")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("baseline_events_per_s", "pipeline_events_per_s", "ratio", "discharges_per_s", "lost", "duplicated"):
        table.add_row(key, str(result[key]))
    for key, value in result["latency_ms"].items():
        table.add_row(f"latency {key} at {result['fixed_rate_per_s']:g}/s (ms)", str(value))
    for point in result["throughput_vs_rate"]:
        label = f"offered {point['offered_actual_per_s']:g}/s: completed / s, p95 ms"
        table.add_row(label, f"{point['discharges_per_s']} / {point['latency_ms']['p95']}")
    for factor, run in result["growth"].items():
        cpu = sum(u["cpu_ms_per_discharge"] for u in run["services"].values())
        phase = next(p for name, p in run["phases"].items() if name.startswith(f"at {result['fixed_rate_per_s']:g}"))
        table.add_row(f"{factor}: CPU ms per discharge, p50 / p95 ms", f"{cpu:.0f} / {phase['latency_ms']['p50']} / "
                      f"{phase['latency_ms']['p95']}")  # fmt: skip
    for name, rss in result["rss_mb"].items():
        table.add_row(f"{name} peak RSS MB / CPU s", f"{rss} / {result['cpu_s'][name]}")
    specialist = result["matching_alone"]["specialist"]
    services = result["matching_alone"]["community_services"]
    table.add_row(f"matching, {specialist['specialists']:,} specialists: p50 / p99 ms",
                  f"{specialist['match_ms']['all']['p50_ms']} / {specialist['match_ms']['all']['p99_ms']}")  # fmt: skip
    table.add_row(f"matching, {services['services']:,} community services: p50 / p95 ms",
                  f"{services['match_ms']['p50']} / {services['match_ms']['p95']}")  # fmt: skip
    console.print(table)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    numbers = lambda text: [float(x) for x in text.split(",") if x.strip()]  # noqa: E731
    parser.add_argument("--rates", type=numbers, default=[2.0, 4.0, 8.0], help="fixed rates (discharges/s), 1x")
    parser.add_argument("--rate", type=float, default=4.0, help="the fixed rate of the growth runs and latency figure")
    parser.add_argument("--discharges", type=int, default=300, help="discharges sent at full speed, 1x")
    parser.add_argument("--growth", type=lambda t: [int(x) for x in t.split(",")], default=[1, 10, 100])
    parser.add_argument("--history", type=int, default=HISTORY_AT_1X,
                        help="earlier cases sent before the measured phases, times the growth factor")  # fmt: skip
    parser.add_argument("--baseline-messages", type=int, default=20000)
    parser.add_argument("--matching-specialists", type=int, default=10_000)
    parser.add_argument("--matching-services", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="one database for every service (default: SQLite files)")
    parser.add_argument("--profile", action="store_true", help="py-spy every service during the full-speed phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "var" / "bench"))
    args = parser.parse_args(argv)
    if args.rate not in args.rates:
        args.rates = sorted({*args.rates, args.rate})
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    report(result)
    console.print(f"written {Path(args.out) / 'result.json'} in {result['wall_seconds']:.0f}s")
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
