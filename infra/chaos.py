"""`make chaos`: the long fault run. Crashes, broker restarts, a 3-node cluster losing nodes, a locked database,
hostile input at every entry point, and the security probes; figures in var/chaos/result.json.

    python -m infra.chaos [--discharges 240] [--kills 8] [--seed 7] [--skip-cluster] [--out var/chaos]

Runs on brokers and ports of its own (single broker 21092, SASL 21592; 3-node cluster 23092-23097; services 4000
above the defaults), so a `make up` stack or a test session can run beside it. docs/reliability.md explains the
guarantees each part checks.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .chaos_apps import consumers_of, endpoints, service_apps
from .chaos_broker import LocalCluster
from .chaos_feed import SeededDischarge, register_vendor
from .chaos_fuzz_http import fuzz_http, server_errors
from .chaos_fuzz_kafka import fuzz_topics
from .chaos_fuzz_mllp import MllpFuzzer, made_up_phi
from .chaos_result import ChaosResult, print_figures
from .chaos_sasl import sasl_refuses_strangers, sasl_verdict
from .chaos_scenarios import ScenarioOutcome, broker_restarts, cluster_faults, database_outage, process_crashes
from .chaos_security import audit_routes, scan_logs, vendor_topic_findings
from .stack import MLLP_PORT, REPO, Stack

console = Console()
PORT_OFFSET = 4000
SINGLE = LocalCluster("chaos", 21092, sasl_port=21592)
TRIO = LocalCluster("chaos3", 23092, nodes=3)
# A roster, so specialists are really assigned (the default stack has none and answers "unmatched").
CHAOS_SERVICE_ENV = {"ASSIGNMENT_DEMO_ROSTER_SIZE": "60"}
DATABASE_SERVICES = ("assignment", "transport", "appointment", "resource")


class Bars:
    """One progress bar per thing being counted, created on first report."""

    def __init__(self, progress: Progress, prefix: str) -> None:
        self.progress = progress
        self.prefix = prefix
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(f"{self.prefix}: {what}", total=total)
        self.progress.update(self.tasks[what], completed=done, total=total)


def progress_bars() -> Progress:
    return Progress(
        TextColumn("{task.description:<38}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def record(result: ChaosResult, outcome: ScenarioOutcome) -> None:
    result.discharges_sent += len(outcome.discharges)
    result.plans_complete += outcome.verdict.complete
    result.duplicates += outcome.verdict.duplicates
    result.lost += outcome.verdict.lost + len(outcome.acked_lost)
    result.kills += len(outcome.kills)
    result.broker_restarts += outcome.broker_restarts
    result.details[outcome.name] = outcome.summary()
    # A database that disagrees with "one per step" is a doubled or missing effect even if the topics looked right.
    result.duplicates += len({p.case_id for p in outcome.database_problems if p.found > p.expected})
    result.lost += len({p.case_id for p in outcome.database_problems if p.found < p.expected})


async def single_broker_part(
    args: argparse.Namespace, result: ChaosResult, stack: Stack, progress: Progress
) -> list[SeededDischarge]:
    """Crashes, broker restarts, a locked database, fuzzing and the security probes on one stack; the discharges."""
    seeded: list[SeededDischarge] = []
    bootstrap = SINGLE.bootstrap
    outcome = await process_crashes(
        stack,
        bootstrap,
        discharges=args.discharges,
        rate_per_s=args.rate,
        kills=args.kills,
        seed=args.seed,
        progress=Bars(progress, "crashes"),
    )
    record(result, outcome)
    seeded += outcome.discharges
    outcome = await broker_restarts(
        stack,
        SINGLE,
        discharges=args.discharges // 2,
        rate_per_s=args.rate,
        restarts=2,
        down_s=6.0,
        seed=args.seed + 1,
        progress=Bars(progress, "broker restarts"),
    )
    record(result, outcome)
    seeded += outcome.discharges
    service = random.Random(args.seed).choice(DATABASE_SERVICES)
    outcome = await database_outage(
        stack,
        bootstrap,
        service=service,
        lock_s=args.lock_s,
        discharges=args.discharges // 4,
        rate_per_s=args.rate,
        seed=args.seed + 2,
        progress=Bars(progress, f"{service} database locked"),
    )
    record(result, outcome)
    seeded += outcome.discharges
    frozen = {str(sorted(s.items())) for s in outcome.offsets["committed_during_lock"]}  # type: ignore[union-attr]
    result.details["database_outage"]["offsets_frozen_during_lock"] = len(frozen) <= 1

    # Hostile input at every entry point, on the same battered stack.
    bars = Bars(progress, "fuzz")
    rng = random.Random(args.seed)
    phi = made_up_phi(rng)
    mllp = MllpFuzzer("127.0.0.1", MLLP_PORT + PORT_OFFSET, f"{stack.url('intake')}/health", rng, phi)
    result.add_fuzz("mllp", await mllp.run(args.mllp_rounds))
    bars("mllp", 1, 1)
    apps = service_apps(Path(args.out) / "apps")
    result.add_fuzz(
        "kafka", await fuzz_topics(bootstrap, consumers_of(apps), rounds=3, on_progress=lambda n: bars("kafka", n, n))
    )
    http = await asyncio.to_thread(fuzz_http, stack, examples=args.http_examples)
    result.add_fuzz("http", http)
    result.details["fuzz_http"]["server_errors"] = server_errors(http)
    result.crashes += server_errors(http)  # a 5xx is a handler that crashed on its input

    # Security: every route, the vendor topic, the logs, and the broker's SASL listener.
    audit = await asyncio.to_thread(audit_routes, stack, endpoints(apps))
    result.unauthenticated_routes = audit.unauthenticated
    result.details["routes"] = {
        "probed": audit.probed,
        "allow_listed": audit.exempt,
        "findings": [str(f) for f in audit.findings],
        "stale_allow_list": audit.stale_exemptions,
    }
    result.details["sasl"] = await sasl_refuses_strangers(SINGLE)
    result.details["sasl_problems"] = sasl_verdict(result.details["sasl"])
    return seeded


def phi_and_vendor_checks(result: ChaosResult, log_dirs: list[Path], markers: list[str], findings: list[str]) -> None:
    phi = scan_logs(log_dirs, markers)
    result.phi_in_logs = len(phi)
    result.details["phi_in_logs"] = [str(f) for f in phi[:50]]
    result.details["vendor_topic_problems"] = findings


async def run(args: argparse.Namespace) -> ChaosResult:
    out = Path(args.out)
    result = ChaosResult()
    started = time.monotonic()
    markers: list[str] = []
    log_dirs: list[Path] = []
    vendor_findings: list[str] = []
    with progress_bars() as progress:
        setup = progress.add_task("starting broker and services", total=2)
        await asyncio.to_thread(SINGLE.wipe)
        await asyncio.to_thread(SINGLE.start)
        progress.advance(setup)
        stack = Stack(
            state_dir=out / "stack",
            port_offset=PORT_OFFSET,
            extra_env={"KAFKA_BOOTSTRAP_SERVERS": SINGLE.bootstrap, **CHAOS_SERVICE_ENV},
        )
        await asyncio.to_thread(stack.down, stop_broker=False)
        await asyncio.to_thread(stack.up, 180.0)
        await asyncio.to_thread(register_vendor, stack)
        progress.advance(setup)
        try:
            seeded = await single_broker_part(args, result, stack, progress)
            markers += [m for d in seeded for m in d.phi]
            checked, problems = await vendor_topic_findings(
                SINGLE.bootstrap, {d.case_id for d in seeded}, [m for d in seeded for m in d.not_for_vendors]
            )
            result.details["vendor_records_checked"] = checked
            vendor_findings += problems
            log_dirs.append(stack.state_dir / "log")
        finally:
            await asyncio.to_thread(stack.down, stop_broker=False)
            await asyncio.to_thread(SINGLE.stop, hold_ports=False)
            SINGLE.release()
        if not args.skip_cluster:
            setup = progress.add_task("starting the 3-node cluster", total=2)
            await asyncio.to_thread(TRIO.wipe)
            await asyncio.to_thread(TRIO.start)
            progress.advance(setup)
            trio_stack = Stack(
                state_dir=out / "stack-trio",
                port_offset=PORT_OFFSET,
                extra_env={
                    "KAFKA_BOOTSTRAP_SERVERS": TRIO.bootstrap,
                    "KAFKA_REPLICATION_FACTOR": "3",
                    **CHAOS_SERVICE_ENV,
                },
            )
            await asyncio.to_thread(trio_stack.down, stop_broker=False)
            await asyncio.to_thread(trio_stack.up, 240.0)
            await asyncio.to_thread(register_vendor, trio_stack)
            progress.advance(setup)
            try:
                outcome = await cluster_faults(
                    trio_stack,
                    TRIO,
                    discharges=args.discharges // 2,
                    rate_per_s=args.rate,
                    seed=args.seed + 3,
                    progress=Bars(progress, "3-node cluster"),
                )
                record(result, outcome)
                markers += [m for d in outcome.discharges for m in d.phi]
                log_dirs.append(trio_stack.state_dir / "log")
            finally:
                await asyncio.to_thread(trio_stack.down, stop_broker=False)
                await asyncio.to_thread(TRIO.stop, hold_ports=False)
                TRIO.release()
    phi_and_vendor_checks(result, log_dirs, markers + list(made_up_phi(random.Random(args.seed))), vendor_findings)
    result.details["seconds"] = round(time.monotonic() - started, 1)
    result.details["command"] = " ".join(["python -m infra.chaos", *sys.argv[1:]])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--discharges", type=int, default=240, help="discharges of the crash run (others are shares)")
    parser.add_argument("--rate", type=float, default=3.0, help="discharges per second sent to intake")
    parser.add_argument("--kills", type=int, default=8, help="services killed with SIGKILL during the crash run")
    parser.add_argument("--lock-s", type=float, default=30.0, help="how long a service's database stays locked")
    parser.add_argument("--mllp-rounds", type=int, default=20)
    parser.add_argument("--http-examples", type=int, default=40, help="generated requests per operation and mode")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-cluster", action="store_true", help="leave out the 3-node cluster part")
    parser.add_argument("--out", default=str(REPO / "var" / "chaos"))
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    result.write(Path(args.out) / "result.json")
    print_figures(result.figures(), "make chaos", console)
    console.print(f"written {Path(args.out) / 'result.json'} in {result.details['seconds']}s")
    security_problems = result.details.get("sasl_problems") or result.details.get("vendor_topic_problems")
    return 0 if result.clean and not security_problems else 1


if __name__ == "__main__":
    sys.exit(main())
