"""The benchmark's own arithmetic: what it sends in which phase, and how it reads a profile."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from infra.bench import parse, phases_of
from infra.bench_profile import summarise
from infra.bench_supply import HISTORY_AT_1X, workload
from services.resource.schedules import occurrences

pytestmark = pytest.mark.unit


def test_the_first_growth_factor_sweeps_every_rate_and_runs_full_speed_the_others_one_rate() -> None:
    args = parse(["--rates", "2,8", "--rate", "4", "--discharges", "50", "--growth", "1,10"])
    first = phases_of(args, 1)
    assert [name for name, _, _ in first] == ["history", "at 2/s", "at 4/s", "at 8/s", "full speed"]
    assert first[0][2] == HISTORY_AT_1X and first[-1] == ("full speed", None, 50)
    assert [name for name, _, _ in phases_of(args, 10)] == ["history", "at 4/s"]
    assert phases_of(args, 10)[0][2] == HISTORY_AT_1X * 10


def test_a_workload_scales_every_kind_of_data_and_has_the_stays_asked_for() -> None:
    small, large = workload(1, 40, seed=3), workload(10, 40, seed=3)
    for kind in ("specialists", "community_services", "historical_cases"):
        assert large.sizes()[kind] == 10 * small.sizes()[kind]
    assert len(large.stays(40 + large.history)) == 40 + large.history
    with pytest.raises(ValueError, match="discharges"):
        small.stays(10_000)


def test_a_profile_counts_busy_samples_only_and_credits_the_projects_functions(tmp_path: Path) -> None:
    raw = tmp_path / "svc.txt"
    raw.write_text(
        "run (asyncio/events.py:80);handle (services/x/handlers.py:10);execute (aiosqlite/core.py:158) 30\n"
        "run (asyncio/events.py:80);select (selectors.py:468) 500\n"
        " 200\n"
        "run (asyncio/events.py:80);handle (services/x/handlers.py:12);dumps (json/encoder.py:1) 10\n"
    )
    summary = summarise(raw)
    assert summary["busy_samples"] == 40
    assert summary["leaf"] == {"execute (core.py)": 0.75, "dumps (encoder.py)": 0.25}
    assert summary["own_inclusive"] == {"handle (handlers.py)": 1.0}


def test_cached_schedule_expansion_gives_what_the_rule_says_and_a_fresh_list_each_time() -> None:
    weekly = {"freq": "WEEKLY", "byday": "MO,TH", "opens_at": "18:00", "closes_at": "19:30", "dtstart": "2026-01-01"}
    first = occurrences(weekly, date(2026, 12, 7), date(2026, 12, 13))
    assert [o.day for o in first] == [date(2026, 12, 7), date(2026, 12, 10)]
    first.clear()
    assert len(occurrences(dict(weekly), date(2026, 12, 7), date(2026, 12, 13))) == 2
