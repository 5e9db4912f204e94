"""A seeded stream of discharges for fault runs: bodies with PHI markers to hunt for later, and a sender that
keeps trying through crashes (the same request id and bytes, so intake records each discharge once).
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.case_id import case_id_for

from .plan_tracker import CaseProgress, Tracker
from .stack import Stack

FACILITY = ("CHAOS_GENERAL", "Chaos General Behavioral Health", "PSY-9")
ENTRANCE = {
    "name": "Chaos General, main entrance",
    "address": {"lines": ["1 Hospital Dr"], "city": "Springfield", "state": "IL", "postal_code": "62701"},
}
NEEDS = ("housing", "employment", "continued_care", "peer_group")
SYLLABLES = ("zor", "vex", "quil", "marth", "bren", "dax", "ulk", "yph", "tor", "wen", "kes", "plo")


def made_up_name(rng: random.Random) -> str:
    """Three syllables and two letters: no real name and no word a log line would hold by chance."""
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(2))
    return ("".join(rng.choice(SYLLABLES) for _ in range(3)) + letters).capitalize()


@dataclass(frozen=True)
class SeededDischarge:
    """One discharge request and the PHI it carries, so logs and vendor topics can be searched for it."""

    body: dict[str, Any]
    case_id: str
    phi: tuple[str, ...]  # must appear in no log
    not_for_vendors: tuple[str, ...]  # a ride request carries the rider's name and address, never these
    needs: frozenset[str]


def seeded_discharges(count: int, seed: int, *, run: str) -> list[SeededDischarge]:
    """`count` discharges whose names, birth dates, identifiers and phones are unique to this run."""
    rng = random.Random(f"{seed}-{run}")
    now = datetime.now(UTC)
    out = []
    for index in range(count):
        given, family = made_up_name(rng), made_up_name(rng)
        birth = datetime(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
        mrn = "MRN" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(9))
        phone = f"+1-217-555-{rng.randrange(10**4):04d}"
        street = f"{rng.randrange(100, 9999)} {made_up_name(rng)} Ave"
        visit = f"CV-{run}-{index:05d}"
        needs = rng.sample(NEEDS, 2)
        body = {
            "request_id": f"chaos-{run}-{index}",
            "facility": {"id": FACILITY[0], "name": FACILITY[1], "unit": FACILITY[2], "discharge_entrance": ENTRANCE},
            "visit_number": visit,
            "patient": {
                "identifiers": [{"value": mrn, "system": FACILITY[0], "type": "MR"}],
                "given_name": given,
                "family_name": family,
                "birth_date": birth.date().isoformat(),
                "phone": phone,
                "language": rng.choice(("en", "es")),
                "address": {"lines": [street], "city": "Springfield", "state": "IL", "postal_code": "62701"},
            },
            "expected_discharge_at": (now + timedelta(hours=rng.randrange(4, 48))).isoformat(),
            "planning": {
                "destination": "home",
                "mobility": rng.choice(("ambulatory", "wheelchair")),
                "recovery_domains": [rng.choice(("mental_health", "substance_use"))],
                "needs": needs,
                "consent_peer_support": True,
            },
        }
        # Birth dates as sent and as HL7/compact logs would write them; the MRN, the family name and the street.
        phi = (family, birth.date().isoformat(), birth.strftime("%Y%m%d"), mrn, street)
        not_for_vendors = (birth.date().isoformat(), birth.strftime("%Y%m%d"), mrn, visit)
        out.append(SeededDischarge(body, case_id_for(FACILITY[0], visit), phi, not_for_vendors, frozenset(needs)))
    return out


CHAOS_VENDOR = {
    "vendor_id": "V-CHAOS",
    "name": "Chaos Rides",
    "service_area": {"postal_codes": [ENTRANCE["address"]["postal_code"]]},  # type: ignore[index]
    "service_levels": ["ambulatory", "wheelchair"],
    "priority": 0,
}


def register_vendor(stack: Stack, vendor: dict[str, Any] = CHAOS_VENDOR) -> None:
    """A NEMT vendor serving the seeded discharges' postal code, so rides home are really offered to a vendor."""
    answer = httpx.put(
        f"{stack.url('transport')}/v1/vendors/{vendor['vendor_id']}",
        json=vendor,
        headers={"Authorization": f"Bearer {stack.api_key()}"},
        timeout=10,
    )
    answer.raise_for_status()


@dataclass
class SendReport:
    sent: int = 0
    retries: int = 0  # refused connections, timeouts and 5xx while a service was down: sent again


async def send_discharges(
    intake_url: str,
    api_key: str,
    discharges: list[SeededDischarge],
    tracker: Tracker,
    *,
    rate_per_s: float,
    give_up_s: float = 120.0,
    on_sent: Any = None,
) -> SendReport:
    """Post each discharge at `rate_per_s`; retry one until intake answers 202, since intake may be killed mid-run.

    A retry sends the same bytes with the same request id, so a discharge intake stored before dying is answered as
    a duplicate and emits nothing new.
    """
    report = SendReport()
    started = time.monotonic()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {api_key}"}, timeout=10) as client:
        for index, discharge in enumerate(discharges):
            await asyncio.sleep(max(0.0, started + index / rate_per_s - time.monotonic()))
            raw = json.dumps(discharge.body).encode()
            tracker.cases.setdefault(discharge.case_id, CaseProgress(accepted_at=time.monotonic()))
            deadline = time.monotonic() + give_up_s
            while True:
                try:
                    answer = await client.post(
                        f"{intake_url}/v1/discharges/pending", content=raw, headers={"Content-Type": "application/json"}
                    )
                    if answer.status_code == 202:
                        if answer.json()["case_id"] != discharge.case_id:
                            raise RuntimeError(f"intake named case {answer.json()['case_id']}, not {discharge.case_id}")
                        break
                    if answer.status_code < 500:
                        raise RuntimeError(f"intake refused a seeded discharge: {answer.status_code} {answer.text}")
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"intake did not accept discharge {index} within {give_up_s:.0f}s")
                report.retries += 1
                await asyncio.sleep(0.5)
            report.sent += 1
            if on_sent is not None:
                on_sent()
    return report
