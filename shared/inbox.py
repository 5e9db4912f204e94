"""Idempotent consumption: parse the envelope, run the handler once per event id, retry, or dead-letter.

The inbox row, the handler's state change and the events it emits (outbox rows) commit in one
transaction, and the subscriber acknowledges the offset only after that commit (AckPolicy.NACK_ON_ERROR).
So at-least-once delivery gives exactly-once effects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from . import outbox
from .db import TRANSIENT_DB_ERRORS, Database, UtcDateTime
from .dlq import send_to_dead_letters
from .envelope import DecodeError, Envelope, decode, header_map
from .events import Event
from .outbox import OutboxRelay

log = logging.getLogger(__name__)


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"

    event_id: str = Field(primary_key=True, max_length=64)
    ce_type: str = Field(max_length=200)
    topic: str = Field(max_length=200)
    partition: int
    offset: int
    processed_at: datetime = Field(sa_type=UtcDateTime)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler gets besides the typed event: its envelope and the open transaction."""

    envelope: Envelope
    session: AsyncSession


Handler = Callable[[Any, Delivery], Awaitable[None]]


class HandlerRejected(Exception):
    """A handler's word that this event can never succeed (e.g. a rule it breaks): dead-letter at once."""


class EventConsumer:
    """Runs handlers exactly once per event id, with retries for transient faults and a DLQ for the rest."""

    def __init__(
        self,
        *,
        service: str,
        db: Database,
        broker: KafkaBroker,
        relay: OutboxRelay | None,
        max_attempts: int = 5,
        backoff_s: float = 0.2,
    ) -> None:
        self.service = service
        self.db = db
        self.broker = broker
        self.relay = relay
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s

    async def consume(self, record: ConsumerRecord, handlers: Mapping[type[Event], Handler]) -> None:
        """Process one Kafka record. Returns once its effect is durable or it is in the DLQ."""
        try:
            envelope, event = decode(header_map(record.headers or ()), record.value)
        except DecodeError as error:
            await self._dead_letter(record, error.reason, error.detail, attempts=1)
            return
        # A handler registered for the base `Event` takes every type (the coordinator's read model).
        handler = handlers.get(type(event)) or handlers.get(Event)
        if handler is None:
            return  # a topic carries several event types; this service acts on some of them only
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._run_once(record, envelope, event, handler)
                return
            except HandlerRejected as error:
                await self._dead_letter(record, "handler_failed", f"{type(error).__name__}: {error}", attempt)
                return
            except TRANSIENT_DB_ERRORS as error:
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                    continue
                if not await self.db.ping():
                    # The database is down, not the message: hold the offset and wait for it to return.
                    log.warning(
                        "%s: database unavailable; holding %s/%s@%s",
                        self.service,
                        record.topic,
                        record.partition,
                        record.offset,
                    )
                    await self._wait_for_database()
                    attempt = 0
                    continue
                await self._dead_letter(record, "retries_exhausted", f"{type(error).__name__}: {error}", attempt)
                return
            except Exception as error:  # a handler bug: count it, never loop on it (NACK would re-read forever)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                    continue
                await self._dead_letter(record, "handler_failed", f"{type(error).__name__}: {error}", attempt)
                return

    async def _run_once(self, record: ConsumerRecord, envelope: Envelope, event: Event, handler: Handler) -> None:
        wake = False
        async with self.db.transaction() as session:
            if await session.get(InboxRecord, envelope.id) is not None:
                return
            await handler(event, Delivery(envelope=envelope, session=session))
            session.add(
                InboxRecord(
                    event_id=envelope.id,
                    ce_type=envelope.type,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    processed_at=datetime.now(UTC),
                )
            )
            wake = outbox.staged(session)
        # A relay pass is a transaction of its own: not worth it for the many events that emit nothing (a projection).
        if wake and self.relay is not None:
            self.relay.wake()

    async def _wait_for_database(self) -> None:
        delay = self.backoff_s
        while not await self.db.ping():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _dead_letter(self, record: ConsumerRecord, reason: Any, error: str, attempts: int) -> None:
        log.warning(
            "%s: dead-lettering %s/%s@%s: %s", self.service, record.topic, record.partition, record.offset, reason
        )
        await send_to_dead_letters(
            self.broker, record, reason=reason, error=error, service=self.service, attempts=attempts
        )
