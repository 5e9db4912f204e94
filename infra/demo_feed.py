"""A few seeded discharges sent to intake's JSON API, so `make run` shows plans coming together."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.progress import track

console = Console(stderr=True)
FACILITIES = (
    ("SPRINGFIELD_PSY", "Springfield Behavioral Health", "PSY-3"),
    ("RIVERSIDE_REHAB", "Riverside Inpatient Rehabilitation", "REHAB-1"),
    ("LAKESIDE_WM", "Lakeside Withdrawal Management", "DETOX-2"),
)
GIVEN = ("Ana", "Marcus", "Lena", "Tomasz", "Keisha", "Ravi", "Sofia", "Jamal")
FAMILY = ("Rivera", "Okafor", "Nguyen", "Kowalski", "Brown", "Patel", "García", "Hughes")


def demo_discharge(index: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    facility_id, facility_name, unit = rng.choice(FACILITIES)
    domain = {"SPRINGFIELD_PSY": "mental_health"}.get(facility_id, "substance_use")
    return {
        "request_id": f"demo-{now:%Y%m%d%H%M%S}-{index}",
        "facility": {"id": facility_id, "name": facility_name, "unit": unit},
        "visit_number": f"V{now:%Y%m%d}{index:04d}{rng.randrange(1000):03d}",
        "patient": {
            "identifiers": [{"value": f"MRN{rng.randrange(10**6):06d}", "system": facility_id, "type": "MR"}],
            "given_name": rng.choice(GIVEN),
            "family_name": rng.choice(FAMILY),
            "birth_date": f"{rng.randrange(1950, 2005)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
            "phone": f"+1-217-555-{rng.randrange(10**4):04d}",
            "language": rng.choice(("en", "en", "es")),
            "address": {"lines": [f"{rng.randrange(1, 999)} Elm St"], "city": "Springfield", "state": "IL"},
        },
        "expected_discharge_at": (now + timedelta(hours=rng.randrange(4, 48))).isoformat(),
        "planning": {
            "destination": rng.choice(("home", "family", "shelter")),
            "mobility": rng.choice(("ambulatory", "ambulatory", "wheelchair")),
            "recovery_domains": [domain],
            "needs": rng.sample(["housing", "employment", "continued_care", "peer_group"], 2),
            "consent_peer_support": True,
        },
    }


def send_demo_discharges(intake_url: str, coordinator_url: str, api_key: str, count: int = 5, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {api_key}"}
    case_ids = []
    with httpx.Client(headers=headers, timeout=10) as client:
        for index in track(range(count), description="sending demo discharges", console=console):
            body = demo_discharge(index, rng, now)
            answer = client.post(f"{intake_url}/v1/discharges/pending", json=body)
            answer.raise_for_status()
            case_ids.append(answer.json()["case_id"])
        time.sleep(1.0)
    console.print("demo cases (GET with the API key):")
    for case_id in case_ids:
        console.print(f"  {coordinator_url}/v1/cases/{case_id}")
