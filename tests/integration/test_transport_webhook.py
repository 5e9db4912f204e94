"""Vendors without Kafka post signed ride updates (CloudEvents JSON, HMAC-SHA256 over "<timestamp>.<body>");
each is applied once, by the same state machine as updates on transport.ride-updates."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.transport.signatures import sign
from tests.factories import unique
from tests.integration.test_transport_flow import Run, running_transport

pytestmark = pytest.mark.integration


def cloudevent(run: Run, ce_type: str, case_id: str, ride_id: str, vendor_id: str, **data: Any) -> bytes:
    at = run.clock.now().isoformat()
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"/vendors/{vendor_id}",
            "type": ce_type,
            "time": at,
            "subject": case_id,
            "datacontenttype": "application/json",
            "data": {"case_id": case_id, "ride_id": ride_id, "vendor_id": vendor_id, "at": at, **data},
        }
    ).encode()


async def post_signed(
    run: Run, vendor_id: str, body: bytes, secret: str, *, skew: timedelta = timedelta(0), sent: bytes | None = None
) -> httpx.Response:
    """Sign `body` as the vendor would; `sent` is what actually arrives (a body changed on the way)."""
    stamp = int((run.clock.now() + skew).timestamp())
    # No API key: the signature is the vendor's credential.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=run.app), base_url="http://transport") as client:
        return await client.post(
            f"/v1/vendors/{vendor_id}/ride-updates",
            content=body if sent is None else sent,
            headers={
                "Content-Type": "application/cloudevents+json",
                "X-Signature-Timestamp": str(stamp),
                "X-Signature": sign(secret, stamp, body),
            },
        )


async def test_signed_updates_move_the_ride_once_and_everything_else_is_refused(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_transport(kafka_bootstrap, tmp_path) as run:
        vendor = await run.register(unique("V-HOOK"))
        other = await run.register(unique("V-OTHER"), priority=500)
        issued = await run.http.put(f"/v1/vendors/{vendor}/webhook-secret")
        assert issued.status_code == 200, issued.text
        secret = issued.json()["secret"]
        other_secret = (await run.http.put(f"/v1/vendors/{other}/webhook-secret")).json()["secret"]
        assert (await run.http.get(f"/v1/vendors/{vendor}")).json()["has_webhook_secret"] is True

        event = run.discharge()
        await run.send(event)
        ((_, _, ride_id),) = await run.until_status(event.case_id, "requested")

        accepted = cloudevent(run, "ride.accepted.v1", event.case_id, ride_id, vendor)
        answer = await post_signed(run, vendor, accepted, secret)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "accepted"
        replayed = await post_signed(run, vendor, accepted, secret)  # the same event again, within the window
        assert replayed.status_code == 200
        await run.until_status(event.case_id, "accepted")

        refused = {
            "tampered": await post_signed(
                run, vendor, accepted, secret, sent=accepted.replace(b"accepted", b"completed")
            ),
            "stale": await post_signed(run, vendor, accepted, secret, skew=-timedelta(minutes=6)),
            "wrong key": await post_signed(run, vendor, accepted, other_secret),
            "another vendor's ride": await post_signed(
                run, other, cloudevent(run, "ride.picked-up.v1", event.case_id, ride_id, other), other_secret
            ),
            "names another vendor": await post_signed(
                run, vendor, cloudevent(run, "ride.picked-up.v1", event.case_id, ride_id, other), secret
            ),
            "unknown ride": await post_signed(
                run, vendor, cloudevent(run, "ride.picked-up.v1", event.case_id, "R-nope", vendor), secret
            ),
            "not an update": await post_signed(run, vendor, b'{"specversion": "1.0"}', secret),
            "unknown vendor": await post_signed(run, "V-NOBODY", accepted, secret),
        }
        assert {what: r.status_code for what, r in refused.items()} == {
            "tampered": 401,
            "stale": 401,
            "wrong key": 401,
            "another vendor's ride": 403,
            "names another vendor": 403,
            "unknown ride": 404,
            "not an update": 422,
            "unknown vendor": 404,
        }
        assert refused["stale"].json()["detail"] == {"error": "outside_replay_window"}

        assigned = cloudevent(
            run, "ride.driver-assigned.v1", event.case_id, ride_id, vendor, driver_name="Sam", eta=None
        )
        assert (await post_signed(run, vendor, assigned, secret)).json()["status"] == "driver_assigned"
        seen = await run.until_status(event.case_id, "driver_assigned")
        assert [s for s, _, _ in seen] == ["requested", "accepted", "driver_assigned"]
