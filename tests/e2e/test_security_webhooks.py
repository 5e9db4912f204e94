"""Signed vendor webhooks (transport): only the vendor's current secret, within the replay window, over the exact
bytes; a replayed update within the window changes nothing twice (its ce id goes through the inbox)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from infra.chaos_feed import CHAOS_VENDOR, register_vendor, seeded_discharges, send_discharges
from infra.plan_tracker import Tracker
from infra.stack import Stack
from services.transport.signatures import sign
from shared.dlq import read_topic
from shared.envelope import header_map
from shared.settings import KafkaSettings

pytestmark = pytest.mark.e2e


def ride_accepted(case_id: str, ride_id: str, vendor_id: str) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"/vendors/{vendor_id}",
            "type": "ride.accepted.v1",
            "time": now,
            "subject": case_id,
            "datacontenttype": "application/json",
            "data": {"case_id": case_id, "ride_id": ride_id, "vendor_id": vendor_id, "at": now},
        }
    ).encode()


async def test_ride_updates_need_a_fresh_signature_and_a_replay_changes_nothing(
    stack: Stack, async_api: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    vendor_id = f"V-SEC-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(register_vendor, stack, {**CHAOS_VENDOR, "vendor_id": vendor_id, "priority": 0})
    # The only active vendor, so the ride is offered to it and not to one that another e2e test registered.
    for other in (await async_api.get(f"{stack.url('transport')}/v1/vendors")).json():
        if other["vendor_id"] != vendor_id and other["active"]:
            profile = {k: v for k, v in other.items() if k != "has_webhook_secret"}
            answer = await async_api.put(
                f"{stack.url('transport')}/v1/vendors/{other['vendor_id']}", json={**profile, "active": False}
            )
            assert answer.status_code == 200, answer.text
    issued = await async_api.put(f"{stack.url('transport')}/v1/vendors/{vendor_id}/webhook-secret")
    secret = issued.json()["secret"]
    (discharge,) = seeded_discharges(1, 3, run=f"hook{uuid.uuid4().hex[:6]}")
    tracker = Tracker(kafka_bootstrap)
    await tracker.start()
    try:
        await send_discharges(stack.url("intake"), stack.api_key(), [discharge], tracker, rate_per_s=1)
    finally:
        await tracker.stop()
    ride = None
    for _ in range(60):
        rides = (await async_api.get(f"{stack.url('transport')}/v1/cases/{discharge.case_id}/rides")).json()
        ride = next((r for r in rides if r["vendor_id"] == vendor_id), None)
        if ride:
            break
        await asyncio.sleep(0.5)
    assert ride is not None, "the ride home was never offered to the test vendor"

    url = f"{stack.url('transport')}/v1/vendors/{vendor_id}/ride-updates"
    body = ride_accepted(discharge.case_id, ride["ride_id"], vendor_id)
    now = int(time.time())

    async def post(timestamp: int | None, signature: str | None, content: bytes = body) -> httpx.Response:
        headers = {"Content-Type": "application/cloudevents+json"}
        if timestamp is not None:
            headers["X-Signature-Timestamp"] = str(timestamp)
        if signature is not None:
            headers["X-Signature"] = signature
        async with httpx.AsyncClient(timeout=10) as anonymous:  # no API key: the signature is the only credential
            return await anonymous.post(url, content=content, headers=headers)

    refused = {
        "unsigned": await post(None, None),
        "wrong secret": await post(now, sign(secrets.token_urlsafe(32), now, body)),
        "older than the window": await post(now - 3600, sign(secret, now - 3600, body)),
        "from the future": await post(now + 3600, sign(secret, now + 3600, body)),
        "body changed after signing": await post(now, sign(secret, now, body), body.replace(b"accepted", b"completed")),
        "signature of another time": await post(now, sign(secret, now - 1, body)),
    }
    assert {why: r.status_code for why, r in refused.items()} == dict.fromkeys(refused, 401)
    assert refused["older than the window"].json()["detail"]["error"] == "outside_replay_window"

    first = await post(now, sign(secret, now, body))
    replay = await post(now, sign(secret, now, body))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "accepted"
    assert replay.status_code == 200  # answered as the same update, not applied again

    await asyncio.sleep(2)
    records = await read_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), "transport.events", timeout_s=15)
    accepted = [
        r
        for r in records
        if r.key == discharge.case_id.encode()
        and header_map(r.headers)["ce_type"] == "ride.status-changed.v1"
        and json.loads(r.value)["status"] == "accepted"
    ]
    assert len({header_map(r.headers)["ce_id"] for r in accepted}) == 1
