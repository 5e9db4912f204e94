"""Dead letters reach the coordinator as metadata: a broken record on an events topic is dead-lettered (here by the
coordinator's own consumer), and the coordinator's dead-letter reader lists where, why and for which case, without
its body."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.envelope import encode
from tests.factories import discharge_registered
from tests.integration.coordinator_view import running_coordinator

pytestmark = pytest.mark.integration


async def test_a_dead_lettered_record_is_listed_with_its_reason_and_case(kafka_bootstrap: str, tmp_path: Path) -> None:
    event = discharge_registered()
    encoded = encode(event, source="/it")
    broken_body = b'{"case_id": "' + event.case_id.encode() + b'", "discharge": {"visit_number": 42}}'
    async with running_coordinator(kafka_bootstrap, tmp_path) as coordinator:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            headers = [(k, v.encode()) for k, v in encoded.headers.items()]
            await producer.send_and_wait("discharge.events", broken_body, key=encoded.key, headers=headers)
        finally:
            await producer.stop()

        key = coordinator.app.state.runtime.settings.api_keys.get_secret_value().split(":", 1)[1]
        transport = httpx.ASGITransport(app=coordinator.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://coordinator", headers={"Authorization": f"Bearer {key}"}
        ) as api:
            deadline = time.monotonic() + 60
            listed: list[dict] = []
            while time.monotonic() < deadline and not listed:
                answer = await api.get("/v1/dead-letters", params={"case_id": event.case_id})
                assert answer.status_code == 200, answer.text
                listed = answer.json()
                await asyncio.sleep(0.3)
            assert listed, "the coordinator never listed the dead letter"
            (letter,) = listed
            assert letter["reason"] == "invalid_payload"
            assert (letter["dlq_topic"], letter["original_topic"]) == ("discharge.events.dlq", "discharge.events")
            assert letter["ce_type"] == "discharge.registered.v1"
            assert letter["service"] == coordinator.app.state.runtime.name
            assert not {"value", "body", "data"} & set(letter)  # metadata only: nothing of the body is kept
            assert (await api.get("/v1/dead-letters", params={"case_id": str(uuid.uuid4())})).json() == []
