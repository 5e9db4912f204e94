"""Transactional outbox: events are stored with the state change that caused them, then relayed to Kafka.

`add` writes an outbox row in the caller's transaction; `OutboxRelay` publishes unsent rows in order
(acks=all, idempotent producer) and marks them sent. A crash between commit and publish only delays the
event: the row is still unsent after restart. A crash between publish and marking sent re-sends it, which
the consumers' inbox absorbs (same ce_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy import Index, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import TRANSIENT_DB_ERRORS, Database, UtcDateTime
from .envelope import encode
from .events import Event
from .topics import topic_of

log = logging.getLogger(__name__)


STAGED = "outbox_rows_staged"


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=64)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    ce_type: str = Field(max_length=200)
    headers: str
    body: bytes
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


def add(session: AsyncSession, event: Event, *, source: str, now: datetime | None = None) -> OutboxRecord:
    """Stage an event in the caller's transaction; it is published only if that transaction commits."""
    encoded = encode(event, source=source, time=now)
    record = OutboxRecord(
        event_id=encoded.envelope.id,
        topic=topic_of(event),
        key=encoded.key.decode(),
        ce_type=encoded.envelope.type,
        headers=json.dumps(encoded.headers),
        body=encoded.body,
        created_at=encoded.envelope.time,
    )
    session.add(record)
    session.info[STAGED] = session.info.get(STAGED, 0) + 1
    return record


def staged(session: AsyncSession) -> bool:
    """Whether the session's transaction added outbox rows: only then is there anything for the relay to send."""
    return bool(session.info.get(STAGED))


class OutboxRelay:
    """Publishes unsent outbox rows. One relay per service process; rows go out in insertion order."""

    def __init__(self, db: Database, broker: KafkaBroker, *, batch_size: int = 500, idle_poll_s: float = 1.0) -> None:
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def wake(self) -> None:
        """Called after a commit that added rows, so they go out now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                sent = await self.publish_pending()
                backoff = 0.2
            except (*TRANSIENT_DB_ERRORS, OSError) as error:
                # The broker or database is away: keep the rows and try again later, never drop them.
                log.warning("outbox relay paused %.1fs: %s", backoff, type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent < self.batch_size:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that lands as the event
                # is set (a commit's wake() during shutdown), and stop() then waits for a relay that never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_poll_s):
                        await self._wake.wait()

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many went out."""
        async with self.db.transaction() as session:
            rows = (
                await session.exec(
                    select(OutboxRecord)
                    .where(col(OutboxRecord.sent_at).is_(None))
                    .order_by(col(OutboxRecord.id))
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # Enqueue the whole batch, then wait for every ack: the idempotent producer keeps per-partition
            # order while several requests are in flight.
            futures = [
                await self.broker.publish(
                    row.body, topic=row.topic, key=row.key.encode(), headers=json.loads(row.headers), no_confirm=True
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await session.exec(
                update(OutboxRecord)
                .where(col(OutboxRecord.id).in_([row.id for row in rows]))
                .values(sent_at=datetime.now(UTC))
            )
        self.published += len(rows)
        return len(rows)
