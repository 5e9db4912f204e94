"""Micro-benchmark of matching: one match at a time against a generated roster (10,000 specialists by default).

python -m services.assignment.bench_matching --specialists 10000 --patients 2000
Times are CPU time of this process (time.process_time_ns), so other work on the machine does not inflate them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from .domain import case_load
from .matching import Matched, PatientNeeds, Preferences, RosterIndex, match_specialist, rank
from .roster_generator import REGIONS, generate_roster

DOMAINS = ("substance_use", "mental_health", "abuse_trauma", "justice_involvement")
RISKS = ("suicide_risk", "overdose_risk", "violence_risk", "homelessness", "no_support_network")
console = Console()


def random_patient(rng: random.Random, today: date, zone: ZoneInfo) -> tuple[str, PatientNeeds]:
    """A patient as intake sends them: mostly English, usually with a destination near a metro and a domain or two."""
    kind = rng.choices(("located", "unlocated"), weights=(0.8, 0.2))[0]
    region = rng.choice(REGIONS)
    location = (region.lat + rng.gauss(0, 0.25), region.lon + rng.gauss(0, 0.25)) if kind == "located" else None
    domains = frozenset(rng.sample(DOMAINS, rng.choices((0, 1, 2), weights=(0.15, 0.6, 0.25))[0]))
    at = datetime.combine(today + timedelta(days=rng.randrange(0, 3)), datetime.min.time(), zone)
    at += timedelta(hours=rng.randrange(7, 21), minutes=rng.choice((0, 15, 30, 45)))
    needs = PatientNeeds(
        language=rng.choices(("en", "es", "pl", "vi", "ar"), weights=(0.8, 0.14, 0.02, 0.02, 0.02))[0],
        domains=domains,
        load=case_load(rng.sample(RISKS, rng.choices((0, 1, 2), weights=(0.6, 0.3, 0.1))[0])),
        discharge_at=at,
        location=location,
        preferences=Preferences(gender_identity="woman") if rng.random() < 0.1 else Preferences(),
    )
    label = f"{kind}, {len(domains)} domains"
    return label, needs


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(specialists: int, patients: int, seed: int = 1, check: int = 100) -> dict[str, Any]:
    """Match `patients` one at a time against a generated roster; CPU ms per match, overall and per kind of patient.

    The first `check` matches are compared with the full scan (`rank`), so a fast but wrong index fails here.
    """
    rng = random.Random(seed)
    zone, today = ZoneInfo("America/Chicago"), date(2026, 11, 24)
    roster = generate_roster(specialists, seed=seed, today=today)
    started = time.perf_counter()
    index = RosterIndex(entry.profile() for entry in roster.specialists)
    built_s = time.perf_counter() - started
    # A roster in use: most specialists carry some cases, a few are full.
    loads = {s.id: float(rng.randrange(0, s.max_caseload + 1)) for s in roster.specialists if rng.random() < 0.8}

    samples: dict[str, list[tuple[float, int]]] = {}
    full_scan_ms: list[float] = []
    matched = 0
    for n in range(patients):
        label, needs = random_patient(rng, today, zone)
        began = time.process_time_ns()
        result = match_specialist(needs, index, loads)
        elapsed_ms = (time.process_time_ns() - began) / 1e6
        considered = result.considered if isinstance(result, Matched) else len(index)
        matched += isinstance(result, Matched)
        samples.setdefault(label, []).append((elapsed_ms, considered))
        samples.setdefault("all", []).append((elapsed_ms, considered))
        if n < check:
            began = time.process_time_ns()
            ranking = rank(needs, index, loads)
            full_scan_ms.append((time.process_time_ns() - began) / 1e6)
            expected = ranking[:2]
            got = (
                [result.best, *([result.runner_up] if result.runner_up else [])] if isinstance(result, Matched) else []
            )
            assert got == expected, f"indexed search disagrees with the full scan for patient {n}"
    kinds = {}
    for label in sorted(samples, key=lambda name: (name != "all", name)):
        times = [t for t, _ in samples[label]]
        kinds[label] = {
            "n": len(times),
            "p50_ms": round(percentile(times, 0.5), 3),
            "p95_ms": round(percentile(times, 0.95), 3),
            "p99_ms": round(percentile(times, 0.99), 3),
            "max_ms": round(max(times), 3),
            "scored_p50": int(statistics.median(c for _, c in samples[label])),
        }
    return {
        "specialists": specialists,
        "patients": patients,
        "matched": matched,
        "index_build_ms": round(built_s * 1000, 1),
        "full_scan_p50_ms": round(percentile(full_scan_ms, 0.5), 2) if full_scan_ms else None,
        "match_ms": kinds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specialists", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", type=int, default=100, help="compare this many matches with the full scan")
    args = parser.parse_args(argv)
    result = measure(args.specialists, args.patients, args.seed, args.check)
    matched = result["matched"]
    title = f"match time, {args.specialists:,} specialists, {args.patients:,} patients ({matched:,} matched)"
    table = Table(title=title)
    for column in ("patients", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "scored p50"):
        table.add_column(column, justify="right" if column != "patients" else "left")
    for label, row in result["match_ms"].items():
        table.add_row(
            label, str(row["n"]), f"{row['p50_ms']:.2f}", f"{row['p95_ms']:.2f}", f"{row['p99_ms']:.2f}",
            f"{row['max_ms']:.2f}", str(row["scored_p50"]),
        )  # fmt: skip
    console.print(table)
    built, scan = result["index_build_ms"], result["full_scan_p50_ms"]
    console.print(f"index built in {built:.0f} ms; full scan (rank) p50 {scan} ms")


if __name__ == "__main__":
    main()
