"""Dead letters: a message that cannot be processed goes to `<topic>.dlq` with the reason in its headers.

Nothing is dropped silently: the original key, headers and bytes are kept, so a record can be replayed to its
original topic once the cause is fixed (`dcp dlq list`, `dcp dlq replay`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka import KafkaBroker

from .envelope import DecodeReason, header_map
from .kafka import client_options
from .settings import KafkaSettings
from .topics import dead_letter_topic

DeadLetterReason = Literal[DecodeReason, "handler_failed", "retries_exhausted"]
DEAD_LETTER_REASONS: tuple[str, ...] = (*get_args(DecodeReason), "handler_failed", "retries_exhausted")

DLQ_HEADERS = (
    "dlq_reason",
    "dlq_error",
    "dlq_service",
    "dlq_attempts",
    "dlq_topic",
    "dlq_partition",
    "dlq_offset",
    "dlq_failed_at",
)
REPLAY_HEADER = "dlq_replayed_from"


def dead_letter_headers(
    record: ConsumerRecord, *, reason: DeadLetterReason, error: str, service: str, attempts: int
) -> dict[str, str]:
    original = {k: v for k, v in header_map(record.headers or ()).items() if k not in DLQ_HEADERS}
    return {
        **original,
        "dlq_reason": reason,
        "dlq_error": error[:2000],
        "dlq_service": service,
        "dlq_attempts": str(attempts),
        "dlq_topic": record.topic,
        "dlq_partition": str(record.partition),
        "dlq_offset": str(record.offset),
        "dlq_failed_at": datetime.now(UTC).isoformat(),
    }


async def send_to_dead_letters(
    broker: KafkaBroker, record: ConsumerRecord, *, reason: DeadLetterReason, error: str, service: str, attempts: int
) -> None:
    """Publish the record, untouched, to its DLQ twin and wait for the broker's ack (acks=all)."""
    await broker.publish(
        record.value or b"",
        topic=dead_letter_topic(record.topic),
        key=record.key,
        headers=dead_letter_headers(record, reason=reason, error=error, service=service, attempts=attempts),
    )


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get("dlq_reason", "?")

    @property
    def original_topic(self) -> str:
        return self.headers.get("dlq_topic", self.dlq_topic.removesuffix(".dlq"))


async def read_dead_letters(settings: KafkaSettings, dlq_topic: str, *, timeout_s: float = 5.0) -> list[DeadLetter]:
    """Every record currently in a DLQ topic, read without a consumer group (reading commits nothing)."""
    records = await read_topic(settings, dlq_topic, timeout_s=timeout_s)
    return [DeadLetter(dlq_topic, r.partition, r.offset, r.key, r.value, header_map(r.headers or ())) for r in records]


async def read_topic(settings: KafkaSettings, topic: str, *, timeout_s: float = 5.0) -> list[ConsumerRecord]:
    """Every record a topic holds right now, from the beginning, ordered by partition and offset."""
    # Without a group, subscribing assigns every partition of the topic and commits nothing.
    consumer = AIOKafkaConsumer(
        topic, **client_options(settings), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not consumer.assignment() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # aiokafka offers no event for "partitions assigned" without a group
        tps = sorted(consumer.assignment())
        if not tps:
            return []
        end = await consumer.end_offsets(tps)
        found: list[ConsumerRecord] = []
        while asyncio.get_running_loop().time() < deadline:
            remaining = [tp for tp in tps if await consumer.position(tp) < end[tp]]
            if not remaining:
                break
            for batch in (await consumer.getmany(*remaining, timeout_ms=500)).values():
                found.extend(batch)
        return sorted(found, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def replay(broker: KafkaBroker, letter: DeadLetter) -> None:
    """Send a dead letter back to its original topic with its original envelope (so the inbox still dedups)."""
    headers = {k: v for k, v in letter.headers.items() if k not in DLQ_HEADERS}
    headers[REPLAY_HEADER] = f"{letter.dlq_topic}/{letter.partition}/{letter.offset}"
    await broker.publish(letter.value or b"", topic=letter.original_topic, key=letter.key, headers=headers)
