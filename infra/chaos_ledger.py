"""The verdict of a fault run: every discharge with exactly one answer per plan step, counted from the topics
(plan_tracker) and, where a table holds it cheaply, from the services' own SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .chaos_feed import SeededDischarge
from .plan_tracker import MILESTONES, Tracker

# What one case must leave in each service's database: (service, SQL counting rows per case). Read-only queries
# against the services' own tables: if a table is renamed the run says so rather than passing silently.
DATABASE_COUNTS: dict[str, tuple[str, str]] = {
    "specialist": ("assignment", "SELECT case_id, COUNT(*) FROM assignment_assignment GROUP BY case_id"),
    "ride_home": ("transport", "SELECT case_id, COUNT(*) FROM transport_ride WHERE leg = 'home' GROUP BY case_id"),
    "resources": (
        "resource",
        "SELECT case_id, COUNT(*) FROM resource_case_need WHERE matched_at IS NOT NULL GROUP BY case_id",
    ),
}


@dataclass
class PlanVerdict:
    sent: int
    complete: int = 0
    duplicates: int = 0  # cases with a step answered more than once
    lost: int = 0  # cases with a step never answered
    problems: list[str] = field(default_factory=list)  # one line per wrong case, for the failure message
    unmatched: set[str] = field(default_factory=set)  # cases answered "no specialist available": no assignment row

    @property
    def exact(self) -> bool:
        return not self.problems and self.complete == self.sent


def plan_verdict(tracker: Tracker, discharges: Iterable[SeededDischarge]) -> PlanVerdict:
    """Exactly one specialist answer, one ride home, one follow-up answer and one match per need, per discharge."""
    discharges = list(discharges)
    verdict = PlanVerdict(sent=len(discharges))
    for discharge in discharges:
        case = tracker.cases.get(discharge.case_id)
        missing = [step for step in MILESTONES if case is None or step not in case.done]
        doubled = case.duplicated_steps if case else []
        counts = {step: len(case.seen.get(step, ())) for step in MILESTONES} if case else {}
        wrong_needs = case is not None and "resources" in case.done and set(case.seen["resources"]) != discharge.needs
        if missing:
            verdict.lost += 1
            verdict.problems.append(f"{discharge.case_id}: no answer for {', '.join(missing)} (seen {counts})")
        if doubled or wrong_needs:
            verdict.duplicates += 1
            verdict.problems.append(
                f"{discharge.case_id}: answered more than once: {', '.join(doubled) or 'resources'} (seen {counts})"
            )
        if not missing and not doubled and not wrong_needs:
            verdict.complete += 1
        if case is not None and case.seen.get("specialist") == {"specialist.unmatched.v1"}:
            verdict.unmatched.add(discharge.case_id)
    return verdict


async def wait_for_plans(
    tracker: Tracker,
    discharges: list[SeededDischarge],
    *,
    timeout_s: float,
    quiet_s: float = 3.0,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Until every plan is complete, then `quiet_s` more so a late duplicate still gets counted; or the timeout."""
    deadline = time.monotonic() + timeout_s
    ids = [d.case_id for d in discharges]
    while time.monotonic() < deadline:
        complete = sum(1 for i in ids if (c := tracker.cases.get(i)) is not None and c.complete_at is not None)
        if on_progress is not None:
            on_progress(complete)
        if complete == len(ids):
            await asyncio.sleep(quiet_s)
            return
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class RowMismatch:
    """A case whose rows in a service's database disagree with "exactly one per step"."""

    case_id: str
    service: str
    step: str
    found: int
    expected: int

    def __str__(self) -> str:
        return f"{self.case_id}: {self.found} {self.step} rows in {self.service}.db, expected {self.expected}"


def database_problems(
    data_dir: Path, discharges: Iterable[SeededDischarge], unmatched: set[str] | frozenset[str] = frozenset()
) -> list[RowMismatch]:
    """Cases whose rows in the services' databases are not exactly one per step (one per need for resources; none in
    assignment for a case no specialist could take). A table that cannot be read is an error, not a pass."""
    problems = []
    discharges = list(discharges)
    for step, (service, query) in DATABASE_COUNTS.items():
        path = data_dir / f"{service}.db"
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as connection:
                rows: Counter[str] = Counter(dict(connection.execute(query).fetchall()))
        except sqlite3.Error as error:
            raise RuntimeError(f"cannot count {step} in {path} ({error}): update DATABASE_COUNTS") from error
        for discharge in discharges:
            expected = len(discharge.needs) if step == "resources" else 1
            if step == "specialist" and discharge.case_id in unmatched:
                expected = 0
            if rows[discharge.case_id] != expected:
                problems.append(RowMismatch(discharge.case_id, service, step, rows[discharge.case_id], expected))
    return problems
