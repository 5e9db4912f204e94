"""`make bench`: throughput, latency and cost of the whole pipeline against the raw broker, in the same run.

    python -m infra.bench [--discharges 400] [--rate 25] [--baseline-messages 20000] [--out var/bench]

1. Baseline: raw aiokafka produce + consume of messages the size of our events (acks=all, idempotent).
2. Pipeline: the real stack (every service a process) on its own ports; discharges sent to intake at a fixed rate,
   then at full speed; a plan counts as complete when every step has answered (specialist, ride home, follow-up,
   resources). Latency is from intake's 202 to the last of those events; lost and duplicated plans are counted from
   the topics, not assumed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.envelope import encode

from .bench_plot import line_chart
from .demo_feed import demo_discharge
from .plan_tracker import CaseProgress, Tracker
from .stack import REPO, SERVICE_PORTS, Stack

console = Console()
BENCH_BROKER_PORT = 24092


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


async def send_discharges(
    intake: str,
    api_key: str,
    bodies: list[dict[str, Any]],
    rate: float | None,
    tracker: Tracker,
    progress: Progress,
    task: Any,
) -> float:
    """Post discharges (at `rate` per second, or as fast as 16 concurrent senders go); returns the seconds taken."""
    headers = {"Authorization": f"Bearer {api_key}"}
    started = time.monotonic()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                if rate:
                    index = len(bodies) - queue.qsize() - 1
                    await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
                answer = await client.post(f"{intake}/v1/discharges/pending", json=body)
                answer.raise_for_status()
                tracker.cases[answer.json()["case_id"]] = CaseProgress(accepted_at=time.monotonic())
                progress.advance(task)

        await asyncio.gather(*(sender() for _ in range(1 if rate else 16)))
    return time.monotonic() - started


def process_usage(stack: Stack) -> dict[str, dict[str, float]]:
    ticks = os.sysconf("SC_CLK_TCK")
    usage = {}
    for name in SERVICE_PORTS:
        pid = int((stack.run_dir / f"{name}.pid").read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        usage[name] = {
            "rss_mb": round(peak_kb / 1024, 1),
            "cpu_s": round((int(fields[11]) + int(fields[12])) / ticks, 2),
        }
    return usage


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def representative_size() -> int:
    from tests.factories import discharge_registered  # the size of a real event body, for a fair baseline

    return len(encode(discharge_registered(), source="/bench").body)


async def measure(args: argparse.Namespace, stack: Stack, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    tracker = Tracker(stack.bootstrap_servers)
    await tracker.start()
    try:
        half = len(bodies) // 2
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            fixed = progress.add_task(f"at {args.rate}/s", total=half)
            fixed_s = await send_discharges(
                stack.url("intake"), stack.api_key(), bodies[:half], args.rate, tracker, progress, fixed
            )
            full = progress.add_task("full speed", total=len(bodies) - half)
            full_started = time.monotonic()
            full_s = await send_discharges(
                stack.url("intake"), stack.api_key(), bodies[half:], None, tracker, progress, full
            )
            done = progress.add_task("plans complete", total=len(bodies))
            deadline = time.monotonic() + args.settle_s
            while time.monotonic() < deadline:
                complete = sum(1 for c in tracker.cases.values() if c.complete_at is not None)
                progress.update(done, completed=complete)
                if complete == len(bodies):
                    break
                await asyncio.sleep(0.2)
    finally:
        await tracker.stop()
    finished = [c for c in tracker.cases.values() if c.complete_at is not None]
    full_cases = [c for c in finished if c.accepted_at >= full_started]
    full_span = max((c.complete_at or 0) for c in full_cases) - full_started if full_cases else 0.0
    first_accept = min((c.accepted_at for c in tracker.cases.values()), default=0.0)
    last_complete = max((c.complete_at or 0 for c in finished), default=first_accept)
    latencies = [((c.complete_at or 0) - c.accepted_at) * 1000 for c in finished]
    # An entity answering a step twice (two assignments, two rides home, two follow-ups) is a duplicated plan.
    duplicated = sum(
        1 for c in tracker.cases.values() if any(len(ids) > 1 for step, ids in c.seen.items() if step != "resources")
    )
    series = sorted((c.accepted_at - first_accept, ((c.complete_at or 0) - c.accepted_at) * 1000) for c in finished)
    return {
        "pipeline_events_per_s": round(tracker.events_seen / max(1e-9, last_complete - first_accept), 1),
        "discharges_per_s": round(len(full_cases) / full_span, 2) if full_span > 0 else 0.0,
        "send_seconds": {"fixed_rate": round(fixed_s, 2), "full_speed": round(full_s, 2)},
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=0), 1),
        },
        "lost": len(bodies) - len(finished),
        "duplicated": duplicated,
        "series": series,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = [sys.executable, str(REPO / "infra/kafka/broker.py")]
    if not external:
        subprocess.run([*broker, "start", "--name", "bench", "--port", str(BENCH_BROKER_PORT)], check=True)
    bootstrap = external or f"127.0.0.1:{BENCH_BROKER_PORT}"
    stack = Stack(state_dir=out / "stack", port_offset=6000, extra_env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    try:
        size = representative_size()
        console.print(f"[bold]baseline[/]: {args.baseline_messages} raw messages of {size} bytes, acks=all")
        baseline_rate = asyncio.run(baseline(bootstrap, args.baseline_messages, size))
        rng = random.Random(args.seed)
        now = datetime.now(UTC)
        bodies = [
            demo_discharge(i, rng, now) | {"request_id": f"bench-{uuid.uuid4().hex}"} for i in range(args.discharges)
        ]
        stack.down(stop_broker=False)
        console.print("[bold]pipeline[/]: starting every service")
        stack.up(timeout_s=180)
        measured = asyncio.run(measure(args, stack, bodies))
        usage = process_usage(stack)
    finally:
        stack.down(stop_broker=False)
        if not external:
            subprocess.run([*broker, "stop", "--name", "bench"], check=False, capture_output=True)
    series = measured.pop("series")
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "discharges": len(bodies),
        "fixed_rate_per_s": args.rate,
        "baseline_events_per_s": round(baseline_rate, 1),
        **measured,
        "ratio": round(measured["pipeline_events_per_s"] / baseline_rate, 4) if baseline_rate else None,
        "rss_mb": {name: u["rss_mb"] for name, u in usage.items()},
        "cpu_s": {name: u["cpu_s"] for name, u in usage.items()},
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    if series:
        (out / "latency.svg").write_text(line_chart("End-to-end latency by arrival", series, "s since start", "ms"))
    return result


def report(result: dict[str, Any]) -> None:
    table = Table(title="make bench")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("baseline_events_per_s", "pipeline_events_per_s", "ratio", "discharges_per_s", "lost", "duplicated"):
        table.add_row(key, str(result[key]))
    for key, value in result["latency_ms"].items():
        table.add_row(f"latency {key} (ms)", str(value))
    for name, rss in result["rss_mb"].items():
        table.add_row(f"{name} peak RSS MB / CPU s", f"{rss} / {result['cpu_s'][name]}")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--discharges", type=int, default=400)
    parser.add_argument("--rate", type=float, default=25.0, help="discharges per second in the fixed-rate phase")
    parser.add_argument("--baseline-messages", type=int, default=20000)
    parser.add_argument("--settle-s", type=float, default=120.0, help="how long to wait for plans to complete")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "var" / "bench"))
    args = parser.parse_args(argv)
    result = run(args)
    report(result)
    console.print(f"written {Path(args.out) / 'result.json'}")
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
