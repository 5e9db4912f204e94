"""What vendors get, read back from the real broker: only the allowed fields of a ride request, and a message that
another Kafka client (kcat) reads and understands from the published contracts alone (docs/schemas, docs/asyncapi).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.transport.minimum_necessary import fields_beyond_minimum
from shared.dlq import read_topic
from shared.envelope import header_map
from shared.events import DischargeUpdated
from shared.events.common import Channel, Code
from shared.events.discharge import Source
from shared.settings import KafkaSettings
from tests.factories import unique
from tests.integration.test_transport_flow import PRODUCED_CASES, followup, running_transport

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
RIDE_REQUEST_SCHEMA = REPO / "docs" / "schemas" / "ride.requested.v1.json"
TRANSPORT_ASYNCAPI = REPO / "docs" / "asyncapi" / "transport.yaml"
# What the test stay holds that no vendor may ever see.
SECRETS = ("DETOX-2", "1980-04-02", "F10.239", "Alcohol withdrawal", "residential_treatment", "Hope Recovery House")


def published(path: Path) -> Any:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing: run `make docs` (python -m infra.contracts)")
    return yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else json.loads(path.read_text())


async def produce_every_kind_of_ride_request(kafka_bootstrap: str, tmp_path: Path) -> str:
    """A stay with everything a vendor must not see; a rejection, a visit's two legs and a reschedule."""
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        await run.vendor(priority=1, accept_rate=0.0)
        taker = await run.vendor(priority=2, delay_s=30)
        event = run.discharge(
            diagnoses=(Code(code="F10.239", system="ICD-10-CM", display="Alcohol withdrawal"),),
            disposition="01",
            discharged_to="Hope Recovery House",
        )
        await run.know_specialist(event.case_id, "S-1")
        await run.send(event)
        await run.send(followup(event.case_id, run.clock.now() + timedelta(days=2)), source="/appointment")
        moved = event.discharge.model_copy(update={"discharged_at": event.discharge.discharged_at + timedelta(hours=4)})
        await run.send(
            DischargeUpdated(
                case_id=event.case_id,
                discharge=moved,
                changed_fields=("discharged_at",),
                source=Source(channel=Channel.JSON, message_id=unique("m")),
            )
        )

        async def taker_holds_all_three() -> bool:
            # The rescheduled ride home and both legs of the visit, each offered to the taker after a rejection.
            rides = (await run.http.get(f"/v1/cases/{event.case_id}/rides")).json()
            held = [r for r in rides if r["status"] == "requested" and r["vendor_id"] == taker]
            return len(held) == 3

        await run.until(taker_holds_all_three, "the second vendor offered every ride")
    return event.case_id


async def test_every_ride_request_the_run_produced_carries_only_allowed_fields(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    case_id = await produce_every_kind_of_ride_request(kafka_bootstrap, tmp_path)
    validator = Draft202012Validator(published(RIDE_REQUEST_SCHEMA))
    records = await read_topic(
        KafkaSettings(bootstrap_servers=kafka_bootstrap), "transport.ride-requests", timeout_s=10
    )
    checked: dict[str, int] = {}
    for record in records:
        case = (record.key or b"").decode()
        headers = header_map(record.headers or ())
        if case not in PRODUCED_CASES or headers.get("ce_type") != "ride.requested.v1":
            continue
        body = json.loads(record.value or b"")
        assert fields_beyond_minimum(body) == [], f"ride {body.get('ride_id')} discloses beyond the minimum"
        assert not [s for s in SECRETS if s in (record.value or b"").decode()], f"ride {body['ride_id']} leaks"
        assert headers["vendor_id"] == body["vendor_id"] and headers["ce_subject"] == case == body["case_id"]
        validator.validate(body)
        checked[case] = checked.get(case, 0) + 1
    assert checked.get(case_id, 0) >= 6, f"the scenario's ride requests were not all read back: {checked}"


def kcat() -> str:
    found = shutil.which("kcat")
    if found is None:
        pytest.fail("kcat is not installed: `apt-get install -y kcat` (Debian), or `make install`")
    return found


async def test_a_consumer_on_another_kafka_client_understands_a_ride_request_from_the_contracts_alone(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tool = kcat()
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        vendor = await run.register(unique("V-KCAT"))
        event = run.discharge()
        await run.send(event)
        await run.until_status(event.case_id, "requested")

    # librdkafka's consumer, not aiokafka: -J prints each message as JSON with its key, headers and payload.
    result = await asyncio.to_thread(
        subprocess.run,
        [tool, "-C", "-b", kafka_bootstrap, "-t", "transport.ride-requests", "-o", "beginning", "-e", "-J", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    mine = [m for m in messages if m.get("key") == event.case_id]
    assert len(mine) == 1, f"expected one message keyed by the case, got {len(mine)}"
    message = mine[0]
    pairs = message["headers"]
    headers = dict(zip(pairs[::2], pairs[1::2], strict=True))

    asyncapi = published(TRANSPORT_ASYNCAPI)
    Draft202012Validator(asyncapi["components"]["schemas"]["CloudEventsHeaders"]).validate(headers)
    assert headers["ce_type"] == "ride.requested.v1" and headers["ce_subject"] == message["key"]
    assert headers["vendor_id"] == vendor  # a vendor's consumer filters on this header

    schema = published(RIDE_REQUEST_SCHEMA)
    assert schema["x-ce-type"] == headers["ce_type"] and schema["x-topic"] == "transport.ride-requests"
    payload = json.loads(message["payload"])
    Draft202012Validator(schema).validate(payload)
    assert payload["vendor_id"] == vendor and payload["leg"] == "home"
    assert payload["pickup"]["address"]["lines"] == ["1 Hospital Way"]
    assert payload["rider"] == {
        "first_name": "Ana",
        "last_name": "Rivera",
        "phone": "+1-217-555-0142",
        "language": "es",
    }
