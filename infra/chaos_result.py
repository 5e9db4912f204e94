"""The figures of a fault run: what `make chaos` writes to var/chaos/result.json and the CI-size tests print."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# The keys of result.json, in the order the table shows them (the public surface of `make chaos`).
FIGURES = (
    "discharges_sent",
    "plans_complete",
    "duplicates",
    "lost",
    "kills",
    "broker_restarts",
    "inputs_fuzzed",
    "crashes",
    "hangs",
    "unauthenticated_routes",
    "phi_in_logs",
)


@dataclass
class FuzzTally:
    """Hostile inputs tried at one entry point and what became of them."""

    tried: int = 0
    crashes: int = 0  # the service died or stopped answering /health
    hangs: int = 0  # no answer, no close, within the time limit
    outcomes: Counter[str] = field(default_factory=Counter)  # e.g. "AR", "422", "dlq:invalid_payload"
    failures: list[str] = field(default_factory=list)  # one line per input that crashed, hung or got a 5xx

    def add(self, other: FuzzTally) -> None:
        self.tried += other.tried
        self.crashes += other.crashes
        self.hangs += other.hangs
        self.outcomes.update(other.outcomes)
        self.failures += other.failures


@dataclass
class ChaosResult:
    discharges_sent: int = 0
    plans_complete: int = 0
    duplicates: int = 0
    lost: int = 0
    kills: int = 0
    broker_restarts: int = 0
    inputs_fuzzed: int = 0
    crashes: int = 0
    hangs: int = 0
    unauthenticated_routes: int = 0
    phi_in_logs: int = 0
    details: dict[str, Any] = field(default_factory=dict)  # per scenario: durations, offsets, outcomes, problems

    def add_fuzz(self, name: str, tally: FuzzTally) -> None:
        self.inputs_fuzzed += tally.tried
        self.crashes += tally.crashes
        self.hangs += tally.hangs
        self.details[f"fuzz_{name}"] = {
            "tried": tally.tried,
            "crashes": tally.crashes,
            "hangs": tally.hangs,
            "outcomes": dict(tally.outcomes.most_common()),
            "failures": tally.failures[:50],
        }

    @property
    def clean(self) -> bool:
        return (
            self.plans_complete == self.discharges_sent
            and not self.duplicates
            and not self.lost
            and not self.crashes
            and not self.hangs
            and not self.unauthenticated_routes
            and not self.phi_in_logs
        )

    def figures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {**self.figures(), "clean": self.clean, "details": self.details}
        path.write_text(json.dumps(body, indent=2, default=str))


def figures_table(figures: dict[str, int], title: str) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("count", justify="right")
    for name in FIGURES:
        if name in figures:
            table.add_row(name, str(figures[name]))
    return table


def print_figures(figures: dict[str, int], title: str, console: Console | None = None) -> None:
    (console or Console()).print(figures_table(figures, title))
