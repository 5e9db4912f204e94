"""Everything coordinator listens to: every *.events topic, and the metadata of every dead-letter topic. It emits
nothing (a read model)."""

import operator
from functools import partial, reduce
from typing import Annotated, Any

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import Field, SkipValidation

from shared.events import ALL_EVENTS, Event
from shared.runtime import ServiceRuntime, Subscription
from shared.topics import EVENTS_TOPICS, TOPICS, dead_letter_topic

from .handlers import note_dead_letter, record_on_timeline

DEAD_LETTER_TOPICS = tuple(dead_letter_topic(topic) for topic in TOPICS)


def subscriptions(runtime: ServiceRuntime) -> tuple[Subscription, ...]:
    return (
        Subscription(
            topics=EVENTS_TOPICS,
            handlers={Event: partial(record_on_timeline, clock=runtime.clock)},
            description="Every fact about every case, for the timeline and the plan.",
        ),
    )


def subscribe_dead_letters(runtime: ServiceRuntime) -> None:
    """Dead letters are not events (a body may be broken, a type unknown), so they bypass the envelope consumer: only
    their headers are read, into one row each, and the offset is committed once that row is stored."""

    async def coordinator_on_dead_letters(body: Any, message: KafkaMessage) -> None:
        await note_dead_letter(message.raw_message, db=runtime.db, clock=runtime.clock)  # type: ignore[arg-type]

    # For the AsyncAPI document only: a dead letter carries what its original topic carries, or broken bytes.
    coordinator_on_dead_letters.__annotations__["body"] = Annotated[
        reduce(operator.or_, ALL_EVENTS),
        SkipValidation(),
        Field(description="A record that a consumer gave up on, untouched; its ce_type header names its type."),
    ]
    runtime.consumes.update(DEAD_LETTER_TOPICS)
    runtime.broker.subscriber(
        *DEAD_LETTER_TOPICS,
        group_id=f"{runtime.name}-dead-letters",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=_bytes,
        title="coordinator_on_dead_letters",
        description="Where, why and for which case a service dead-lettered a record (headers only).",
    )(coordinator_on_dead_letters)


async def _bytes(message: StreamMessage[Any]) -> bytes:
    # FastStream would json-decode a body labelled application/json; a dead letter's body may be anything.
    return message.body
