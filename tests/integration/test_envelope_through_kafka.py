"""Every event model survives serialise → real Kafka → parse unchanged: instances drawn by hypothesis, sent through the
broker with the envelope as record headers and the case id as key, read back and decoded."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.dlq import read_topic
from shared.envelope import decode, encode, header_map
from shared.events import ALL_EVENTS, Event
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings

pytestmark = pytest.mark.integration

DRAWS_PER_MODEL = 5

# Event models refuse NaN and infinity (JSON has neither), so numbers drawn for them are finite.
st.register_type_strategy(float, st.floats(allow_nan=False, allow_infinity=False))


def drawn_events() -> list[Event]:
    """Hypothesis's own draws (not hand-made examples), a few per model, collected to go through the broker at once."""
    events: list[Event] = []
    for model in ALL_EVENTS:

        @settings(max_examples=DRAWS_PER_MODEL, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(event=st.builds(model))
        def collect(event: Event) -> None:
            events.append(event)

        collect()
    return events


async def test_any_event_survives_serialise_kafka_and_parse_unchanged(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic = f"it.envelope-trip.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], with_dead_letters=False)
    events = drawn_events()
    assert {type(e) for e in events} == set(ALL_EVENTS)
    sent = {}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            encoded = encode(event, source="/property")
            sent[encoded.envelope.id] = (encoded.envelope, event)
            await producer.send(
                topic, encoded.body, key=encoded.key, headers=[(k, v.encode()) for k, v in encoded.headers.items()]
            )
        await producer.flush()
    finally:
        await producer.stop()

    records = await read_topic(kafka, topic, timeout_s=60)
    assert len(records) == len(events)
    for record in records:
        envelope, decoded = decode(header_map(record.headers), record.value)
        original_envelope, original = sent[envelope.id]
        assert decoded == original
        assert envelope == original_envelope
        assert record.key == original.case_id.encode()
