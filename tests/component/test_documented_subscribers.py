"""The payload a subscriber documents for AsyncAPI is never validated: every body still reaches EventConsumer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker

from infra.contracts import create_service_app
from shared.envelope import encode
from tests.factories import discharge_registered

pytestmark = pytest.mark.component


class RecordingConsumer:
    def __init__(self) -> None:
        self.bodies: list[bytes | None] = []

    async def consume(self, record: ConsumerRecord, handlers: Mapping[type, Any]) -> None:
        self.bodies.append(record.value)


async def test_bodies_that_break_the_documented_schema_still_reach_the_consumer() -> None:
    runtime = create_service_app("coordinator").state.runtime
    recorder = RecordingConsumer()
    runtime.consumer = recorder
    headers = encode(discharge_registered(), source="/intake").headers
    bodies = [b'{"case_id": 7}', b"[1, 2]", b"\x00 not json at all"]
    async with TestKafkaBroker(runtime.broker) as broker:
        await broker.publish(bodies[0], "discharge.events", headers=headers)
        await broker.publish(bodies[1], "discharge.events", headers=headers)
        # Labelled application/json yet not JSON: FastStream's own decoder would fail before EventConsumer.
        await broker.publish(bodies[2], "discharge.events", headers=headers)
    assert recorder.bodies == bodies
