"""What stands behind a benchmark run, at a growth factor: roster, vendors, clinics and slots, community services,
and the historical cases already in the system, all seeded and loaded through the services' real interfaces.

1x is a region of `make simulate` (160 specialists, 400 community services, 70 follow-up slots a weekday) with 10
earlier cases; 10x and 100x multiply every one of them, so the growth runs show what more data costs each discharge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from services.resource.hsds_writer import write_hsds

from .scenario import Scenario, ScenarioConfig, Stay, build_scenario
from .scenario_supply import Supply, build_supply
from .service_calls import ServiceCalls
from .simulate import AUTO_REFERRED, write_facilities
from .stack import REPO, Stack

BASE = ScenarioConfig()
HISTORY_AT_1X = 3  # earlier cases sent through the pipeline before anything is measured, times the growth factor


@dataclass(frozen=True)
class Workload:
    """The seeded data of one growth factor and the stays the facilities will announce."""

    growth: int
    history: int  # earlier cases, sent before anything is measured
    config: ScenarioConfig
    scenario: Scenario
    supply: Supply

    def stays(self, count: int) -> list[Stay]:
        discharged = [s for s in self.scenario.stays if s.discharge_at is not None and s.readmission_of is None]
        if len(discharged) < count:
            raise ValueError(f"the scenario has {len(discharged)} discharges; {count} are needed")
        return discharged[:count]

    def sizes(self) -> dict[str, int]:
        return {
            "specialists": len(self.supply.roster.specialists),
            "community_services": len(self.supply.resources.get("service", {})),
            "follow_up_slots": len(self.supply.directory.slots),
            "providers": len(self.supply.directory.providers),
            "vendors": len(self.supply.vendors),
            "historical_cases": self.history,
        }


def workload(growth: int, discharges: int, seed: int, history_at_1x: int = HISTORY_AT_1X) -> Workload:
    """Supply scaled by `growth`; enough stays for `discharges` plus the history, discharged over the coming days.

    The scenario starts at the top of the current hour, so every expected discharge lies ahead of the services'
    (real) clocks, and the slots and rosters are valid for the days the plans reach into.
    """
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    history = history_at_1x * growth
    needed = discharges + history
    config = replace(
        BASE,
        seed=seed,
        start=start,
        days=3,  # discharges over the next three days: slots run 35 days past them, and no further
        discharges_per_day=needed / 2.2,
        specialists=BASE.specialists * growth,
        resources=BASE.resources * growth,
        slots_per_day=BASE.slots_per_day * growth,
        # The bench measures the pipeline, not the facilities' second thoughts: every stay is announced once.
        changed_share=0.0,
        cancelled_share=0.0,
        readmitted_share=0.0,
        consent_share=1.0,
    )
    scenario = build_scenario(config)
    while sum(1 for s in scenario.stays if s.discharge_at is not None) < needed:  # a quiet weekend: ask for more
        config = replace(config, discharges_per_day=config.discharges_per_day * 1.25)
        scenario = build_scenario(config)
    return Workload(growth, history, config, scenario, build_supply(config))


def service_settings(load: Workload, state: Path, bootstrap: str) -> dict[str, str]:
    """The settings `make simulate` gives the services, on real time: facilities and auto-referred needs."""
    write_facilities(load.scenario, state / "facilities.json")
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "APPOINTMENT_FACILITY_KINDS": json.dumps({f.id: f.kind.value for f in load.scenario.facilities}),
        "APPOINTMENT_MEASURE_TIMEZONE": "America/Chicago",
        "RESOURCE_AUTO_REFER_CATEGORIES": AUTO_REFERRED,
        "INTAKE_FACILITIES_FILE": str(state / "facilities.json"),
    }


def import_directory(load: Workload, state: Path, extra_env: dict[str, str]) -> float:
    """The community services as an HSDS 3 package, imported with resource's own CLI before the service starts."""
    started = time.monotonic()
    write_hsds(load.supply.resources, state / "hsds")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env |= {"DATA_DIR": str(state / "data")} | {k: v for k, v in extra_env.items() if k.endswith("DATABASE_URL")}
    subprocess.run(
        [sys.executable, "-m", "services.resource.directory", "import", str(state / "hsds"), "--replace"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


async def load_supply(load: Workload, stack: Stack) -> float:
    """Roster, vendor registry, clinics and slots through the services' import endpoints; seconds taken."""
    started = time.monotonic()
    calls = ServiceCalls(stack)
    try:
        await calls.load_supply(load.supply)
    finally:
        await calls.close()
    return time.monotonic() - started
