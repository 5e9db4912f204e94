"""The one way services read time, so tests and the simulation can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and the accelerated simulation."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (UTC)")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class FileClock:
    """Simulated time shared by every process of a run: a driver writes an ISO timestamp to one file, services read it.

    Used by `make simulate` (CLOCK_FILE=…), so a month runs in minutes and every service agrees on "now".
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._version: tuple[int, int] = (-1, -1)
        self._now = datetime.fromtimestamp(0, UTC)

    def now(self) -> datetime:
        # Re-read only when the driver has written: a stat per call is far cheaper than a parse per call.
        # Every write is a new file (atomic replace), so its inode tells a new time even within one mtime tick.
        stat = self.path.stat()
        version = (stat.st_ino, stat.st_mtime_ns)
        if version != self._version:
            self._now = datetime.fromisoformat(self.path.read_text().strip())
            self._version = version
        return self._now

    @staticmethod
    def write(path: Path, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("simulated time must be aware (UTC)")
        temporary = path.with_suffix(".tmp")
        temporary.write_text(when.astimezone(UTC).isoformat())
        temporary.replace(path)  # atomic: a reader never sees half a timestamp
