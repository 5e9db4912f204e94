"""shared.db and the outbox on real PostgreSQL: one schema per service, atomic transactions, the relay to Kafka.

Every test names its own services (schemas) and topics, so runs share the cluster without teardown.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy import text
from sqlmodel import Field, SQLModel, col, func, select

from services.intake.settings import IntakeSettings
from shared import outbox
from shared.db import Database
from shared.events import CaseOpened
from shared.kafka import ensure_topics, new_broker
from shared.settings import KafkaSettings
from shared.topics import topic_of

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class Ledger(SQLModel, table=True):
    """A service's own state change, written in the same transaction as its outbox row."""

    __tablename__ = "test_pg_ledger"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, max_length=64)


def service_name() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def case_opened(service: str) -> CaseOpened:
    # CaseOpened travels on "<service>.events", so a random service gives the test a topic of its own.
    return CaseOpened(
        case_id=f"case-{uuid.uuid4().hex}",
        service=service,
        opened_at=datetime.now(UTC),
        trigger_event_id=str(uuid.uuid4()),
    )


@asynccontextmanager
async def database(url: str, schema: str) -> AsyncIterator[Database]:
    db = Database(url, [outbox.OutboxRecord, Ledger], schema=schema)
    await db.create_tables()
    try:
        yield db
    finally:
        await db.dispose()


async def ledger_rows(db: Database, case_id: str) -> int:
    async with db.sessions() as session:
        query = select(func.count()).select_from(Ledger).where(col(Ledger.case_id) == case_id)
        return (await session.exec(query)).one()


async def outbox_rows(db: Database, case_id: str) -> list[outbox.OutboxRecord]:
    async with db.sessions() as session:
        query = select(outbox.OutboxRecord).where(col(outbox.OutboxRecord.key) == case_id)
        return list((await session.exec(query)).all())


async def tables_in_schema(db: Database, schema: str) -> set[str]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"), {"schema": schema}
        )
        return {row[0] for row in rows}


async def records_of(bootstrap: str, topic: str, timeout_s: float = 15.0) -> list[ConsumerRecord]:
    """Every record the topic holds now, read from the beginning without a consumer group."""
    # Without a group, subscribing assigns every partition of the topic and commits nothing.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout_s):
            while not consumer.assignment():  # noqa: ASYNC110 (aiokafka has no event for a group-less assignment)
                await asyncio.sleep(0.05)
            partitions = sorted(consumer.assignment())
            end = await consumer.end_offsets(partitions)
            while any([await consumer.position(tp) < end[tp] for tp in partitions]):
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(batch)
        return found
    finally:
        await consumer.stop()


async def test_each_service_keeps_its_tables_in_a_schema_named_after_it(postgres_url: str) -> None:
    first, second = service_name(), service_name()
    async with database(postgres_url, first) as db_first, database(postgres_url, second) as db_second:
        case_id = f"case-{uuid.uuid4().hex}"
        async with db_first.transaction() as session:
            session.add(Ledger(case_id=case_id))

        assert await tables_in_schema(db_first, first) == {"outbox", "test_pg_ledger"}
        assert await tables_in_schema(db_first, second) == {"outbox", "test_pg_ledger"}
        assert await ledger_rows(db_first, case_id) == 1
        assert await ledger_rows(db_second, case_id) == 0


async def test_create_tables_twice_changes_nothing(postgres_url: str) -> None:
    schema = service_name()
    async with database(postgres_url, schema) as db:
        async with db.transaction() as session:
            session.add(Ledger(case_id="kept"))
        await db.create_tables()  # every service start runs it against the tables it made before
        assert await ledger_rows(db, "kept") == 1


async def test_instances_of_one_service_starting_together_all_get_its_tables(postgres_url: str) -> None:
    schema = service_name()
    instances = [Database(postgres_url, [outbox.OutboxRecord, Ledger], schema=schema) for _ in range(4)]
    try:
        await asyncio.gather(*(db.create_tables() for db in instances))
        assert await tables_in_schema(instances[0], schema) == {"outbox", "test_pg_ledger"}
    finally:
        for db in instances:
            await db.dispose()


async def test_state_and_its_outbox_row_commit_together_or_not_at_all(postgres_url: str) -> None:
    service = service_name()
    async with database(postgres_url, service) as db:
        rolled_back = case_opened(service)
        with pytest.raises(RuntimeError, match="handler failed"):
            async with db.transaction() as session:
                session.add(Ledger(case_id=rolled_back.case_id))
                outbox.add(session, rolled_back, source=f"/{service}")
                await session.flush()  # the rows reach the server, so the rollback below has something to undo
                raise RuntimeError("handler failed after writing")
        assert await ledger_rows(db, rolled_back.case_id) == 0
        assert await outbox_rows(db, rolled_back.case_id) == []

        committed = case_opened(service)
        async with db.transaction() as session:
            session.add(Ledger(case_id=committed.case_id))
            outbox.add(session, committed, source=f"/{service}")
        assert await ledger_rows(db, committed.case_id) == 1
        [row] = await outbox_rows(db, committed.case_id)
        assert row.sent_at is None
        assert row.created_at.tzinfo is not None  # read back as the same instant, not a naive local time


async def test_ping_tells_a_live_server_from_an_absent_one(postgres_url: str) -> None:
    async with database(postgres_url, service_name()) as db:
        assert await db.ping() is True
    absent = Database("postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none", [Ledger], schema="absent")
    try:
        assert await absent.ping() is False
    finally:
        await absent.dispose()


async def test_service_settings_take_the_shared_database_url_and_prefer_their_own(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEYS", f"it:{uuid.uuid4().hex}")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.delenv("INTAKE_DATABASE_URL", raising=False)
    settings = IntakeSettings()
    assert settings.resolved_database_url == postgres_url
    async with database(settings.resolved_database_url, settings.service_name) as db:
        assert await db.ping() is True

    own = "postgresql+asyncpg://intake:elsewhere@db.example:5432/intake"
    monkeypatch.setenv("INTAKE_DATABASE_URL", own)
    assert IntakeSettings().resolved_database_url == own


async def test_the_outbox_relay_publishes_committed_events_as_cloudevents(
    postgres_url: str, kafka_bootstrap: str
) -> None:
    service = service_name()
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    event = case_opened(service)
    topic = topic_of(event)
    await ensure_topics(kafka, [topic], with_dead_letters=False)
    broker = new_broker(kafka, client_id=f"{service}-relay")
    async with database(postgres_url, service) as db:
        async with db.transaction() as session:
            session.add(Ledger(case_id=event.case_id))
            record = outbox.add(session, event, source=f"/{service}")
        await broker.start()
        try:
            relay = outbox.OutboxRelay(db, broker)
            assert await relay.publish_pending() == 1
            assert await relay.publish_pending() == 0  # marked sent in the same transaction that published it
        finally:
            await broker.stop()
        [row] = await outbox_rows(db, event.case_id)
        assert row.sent_at is not None

    [message] = await records_of(kafka_bootstrap, topic)
    headers = {name: value.decode() for name, value in message.headers}
    assert message.key == event.case_id.encode()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == record.event_id
    assert headers["ce_type"] == "case.opened.v1"
    assert headers["ce_source"] == f"/{service}"
    assert headers["ce_subject"] == event.case_id
    assert datetime.fromisoformat(headers["ce_time"]).tzinfo is not None
    assert json.loads(message.value) == event.model_dump(mode="json")
