"""`make simulate-check`: the same scenario twice with one seed; every outcome figure must come out identical.

    python -m infra.sim_repeat [simulate's options]     (runs into var/sim/repeat-1 and var/sim/repeat-2)

Only what measures the machine rather than the patients is left out of the comparison: wall-clock seconds and how
often the driver polled for quiet. Exit status 1, with every differing figure listed, when the runs disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from . import simulate

console = Console(stderr=True)
MACHINE_FIGURES = {"wall_seconds", "startup_s", "loop_s", "driver_seconds", "quiescence_waits", "quiescence_polls"}


def outcome_figures(document: Any) -> Any:
    """The result without the figures that depend on the machine's speed."""
    if isinstance(document, dict):
        return {k: outcome_figures(v) for k, v in document.items() if k not in MACHINE_FIGURES}
    if isinstance(document, list):
        return [outcome_figures(v) for v in document]
    return document


def differences(first: Any, second: Any, path: str = "") -> list[str]:
    if isinstance(first, dict) and isinstance(second, dict):
        found = []
        for key in sorted(set(first) | set(second)):
            where = f"{path}.{key}" if path else key
            if key not in first or key not in second:
                found.append(f"{where}: only in run {1 if key in first else 2}")
            else:
                found += differences(first[key], second[key], where)
        return found
    return [] if first == second else [f"{path}: {first!r} then {second!r}"]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = simulate.parse(args).out
    results = []
    for n in (1, 2):
        folder = Path(out) / f"repeat-{n}"
        console.print(f"[bold]run {n} of 2[/] into {folder}")
        simulate.main([*args, "--out", str(folder)])
        results.append(outcome_figures(json.loads((folder / "result.json").read_text())))
    found = differences(*results)
    if found:
        console.print(f"[red]the two runs differ in {len(found)} figures:[/]")
        for line in found:
            console.print(f"  {line}")
        return 1
    console.print(f"[green]identical:[/] every outcome figure of both runs, {len(json.dumps(results[0]))} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
