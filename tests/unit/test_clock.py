"""The clocks services read time through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import FileClock, ManualClock

pytestmark = pytest.mark.unit


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(days=7)) == datetime(2026, 1, 8, tzinfo=UTC)


def test_file_clock_follows_what_the_driver_writes(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, datetime(2026, 3, 1, 8, tzinfo=UTC))
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 3, 1, 8, tzinfo=UTC)
    FileClock.write(path, datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_naive_times_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aware"):
        FileClock.write(tmp_path / "clock", datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 3, 1))
