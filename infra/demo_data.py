"""Seeded reference data for a running stack, so a demo or a benchmark plans real discharges end to end.

Peer specialists come from assignment's own roster generator (ASSIGNMENT_DEMO_ROSTER_SIZE at start-up); this
module adds follow-up providers and slots (appointment's import API), a community resource directory (resource's
import command on its database) and NEMT vendors with their reference clients (transport).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.resource.hsds_writer import write_hsds
from services.resource.synthetic import synthetic_directory

SPRINGFIELD = (39.7817, -89.6501)
SPECIALTIES = ("outpatient_mental_health", "substance_use_treatment", "primary_care")


def providers_and_slots(
    rng: random.Random, start: datetime, *, providers: int, days: int, slots_per_day: int
) -> dict[str, Any]:
    """Clinics around the city, each with weekday slots from the day after `start` for `days` days."""
    body: dict[str, Any] = {"providers": [], "slots": []}
    for n in range(providers):
        provider_id = f"PRV-{n:03d}"
        body["providers"].append(
            {
                "id": provider_id,
                "organization": f"Springfield Clinic {n}",
                "specialty": SPECIALTIES[n % len(SPECIALTIES)],
                "lat": SPRINGFIELD[0] + rng.uniform(-0.1, 0.1),
                "lon": SPRINGFIELD[1] + rng.uniform(-0.1, 0.1),
                "languages": ["en", "es"] if n % 3 == 0 else ["en"],
                "payers": [],
                "telehealth": n % 4 == 0,
            }
        )
        first_day = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(days):
            date = first_day + timedelta(days=day)
            if date.weekday() >= 5:
                continue
            for k in range(slots_per_day):
                at = date + timedelta(hours=9 + k)
                body["slots"].append(
                    {
                        "id": f"SL-{n:03d}-{day:03d}-{k}",
                        "provider_id": provider_id,
                        "starts_at": at.isoformat(),
                        "telehealth": n % 4 == 0 and k % 2 == 0,
                    }
                )
    return body


def seed_appointment(
    url: str, api_key: str, *, providers: int = 12, days: int = 35, slots_per_day: int = 8, seed: int = 3
) -> None:
    body = providers_and_slots(
        random.Random(seed), datetime.now(UTC), providers=providers, days=days, slots_per_day=slots_per_day
    )
    answer = httpx.post(
        f"{url}/v1/directory/import", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
    )
    answer.raise_for_status()


def seed_resource(data_dir: Path, *, services: int = 400, seed: int = 7) -> None:
    """Write a synthetic HSDS directory and import it with resource's own command into its database."""
    folder = data_dir / "demo-hsds"
    write_hsds(synthetic_directory(services, seed=seed), folder)
    url = f"sqlite+aiosqlite:///{data_dir / 'resource.db'}"
    subprocess.run(
        [sys.executable, "-m", "services.resource.directory", "import", str(folder), "--replace"],
        check=True,
        capture_output=True,
        env={**os.environ, "RESOURCE_DATABASE_URL": url},
    )
