"""Sampling profiles of every service while the pipeline runs at full speed (py-spy, from outside the processes).

`py-spy record` writes collapsed stacks; `summarise` turns them into where the time goes: the functions that are
on the CPU themselves, and the project's own functions with everything they call, as shares of the busy samples.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

IDLE_LEAVES = ("select (selectors", "Condition.wait", "_connection_worker_thread", "Queue.get", "sleep (")
OWN_CODE = ("(services/", "(shared/", "(infra/")  # py-spy names files relative to the working directory


class Profiler:
    def __init__(self, out: Path) -> None:
        self.out = out
        self._recorders: dict[str, subprocess.Popen[bytes]] = {}

    @staticmethod
    def available() -> str | None:
        beside = Path(sys.executable).parent / "py-spy"  # the venv's, when make runs .venv/bin/python unactivated
        return str(beside) if beside.exists() else shutil.which("py-spy")

    def start(self, pids: dict[str, int]) -> None:
        binary = self.available()
        if binary is None:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy (it is in the dev extras)")
        self.out.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            self._recorders[name] = subprocess.Popen(
                [binary, "record", "--pid", str(pid), "--rate", "100", "--nonblocking", "--format", "raw",
                 "--output", str(self.out / f"{name}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

    def stop(self) -> dict[str, Any]:
        for recorder in self._recorders.values():
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on interrupt
        for recorder in self._recorders.values():
            recorder.wait(timeout=60)
        return {name: summarise(self.out / f"{name}.txt") for name in self._recorders}


def summarise(path: Path, top: int = 8) -> dict[str, Any]:
    """Busy samples, the hottest leaf functions, and the project's functions by inclusive share."""
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = 0
    if not path.exists():
        return {"busy_samples": 0}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, samples = stack.split(";"), int(count)
        if not stack.strip() or any(idle in frames[-1] for idle in IDLE_LEAVES):  # no Python frame: a thread waiting
            continue
        busy += samples
        leaves[_name(frames[-1])] += samples
        for frame in {_name(f) for f in frames if any(part in f for part in OWN_CODE)}:
            inclusive[frame] += samples
    share = lambda counter: {k: round(v / busy, 3) for k, v in counter.most_common(top)}  # noqa: E731
    return {
        "busy_samples": busy,
        "leaf": share(leaves) if busy else {},
        "own_inclusive": share(inclusive) if busy else {},
    }


def _name(frame: str) -> str:
    # "function (path/to/file.py:123)" → "function (file.py)": lines vary, the function is what a reader wants
    function, _, where = frame.partition(" (")
    return f"{function} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else function
