"""What every service process shares: broker, database, outbox relay, consumer, HTTP app with /health.

A service's `main.create_app(settings)` builds a `ServiceRuntime`, registers its subscription table and
routers, and `serve` runs it under uvicorn (SIGTERM: stop consuming, flush the outbox, close).
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import Annotated, Any

import uvicorn
from aiokafka import ConsumerRecord
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import Field, SkipValidation
from sqlmodel import SQLModel

from .auth import api_key_guard
from .clock import Clock, FileClock, SystemClock
from .db import Database
from .events import ALL_EVENTS, Event
from .inbox import EventConsumer, Handler, InboxRecord
from .kafka import ensure_topics, new_broker
from .outbox import OutboxRecord, OutboxRelay
from .settings import ServiceSettings
from .topics import TOPICS

log = logging.getLogger(__name__)

# Longer than a client pool keeps an idle connection (httpx: 5 s), so the server never closes one the client is
# just reusing: at uvicorn's default of 5 s the two race and the request fails with ReadError.
KEEP_ALIVE_S = 30


@dataclass(frozen=True)
class Subscription:
    """One row of a service's subscription table: topics → handlers per event type → what it emits.

    Ack policy is always "after the work is durable": NACK_ON_ERROR, with EventConsumer turning every
    failure into a bounded retry or a dead letter, so only a failed DLQ write leaves the offset uncommitted.
    """

    topics: tuple[str, ...]
    handlers: Mapping[type[Event], Handler]
    emits: tuple[type[Event], ...] = ()
    description: str = ""


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    broker: KafkaBroker
    db: Database
    relay: OutboxRelay
    consumer: EventConsumer
    clock: Clock
    require_api_key: Callable[..., str]
    produces: set[str] = field(default_factory=set)
    consumes: set[str] = field(default_factory=set)
    # What each produced topic carries, for the AsyncAPI document (`declare_publishers`).
    emits: dict[str, set[type[Event]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.settings.service_name


def build_runtime(
    settings: ServiceSettings, tables: Sequence[type[SQLModel]], clock: Clock | None = None
) -> ServiceRuntime:
    broker = new_broker(settings.kafka, client_id=settings.service_name)
    db = Database(settings.resolved_database_url, [OutboxRecord, InboxRecord, *tables], schema=settings.service_name)
    relay = OutboxRelay(db, broker)
    consumer = EventConsumer(
        service=settings.service_name,
        db=db,
        broker=broker,
        relay=relay,
        max_attempts=settings.consumer_max_attempts,
        backoff_s=settings.consumer_backoff_s,
    )
    return ServiceRuntime(
        settings,
        broker,
        db,
        relay,
        consumer,
        clock or (FileClock(settings.clock_file) if settings.clock_file else SystemClock()),
        api_key_guard(settings),
    )


def subscribe(runtime: ServiceRuntime, table: Iterable[Subscription]) -> None:
    """Register a service's subscription table with FastStream, and declare what it emits (`declare_publishers`)."""
    rows = list(table)
    for row in rows:
        handlers = dict(row.handlers)
        accepted = ", ".join(sorted(cls.ce_type for cls in handlers if cls is not Event)) or "every event type"
        declare_publishers(runtime, row.emits)
        runtime.consumes.update(row.topics)

        consume = _consumer_of(runtime, handlers, _accepted_events(row.topics, handlers))
        consume.__name__ = f"{runtime.name}_on_{'_'.join(_slug(t) for t in row.topics)}"
        runtime.broker.subscriber(
            *row.topics,
            group_id=runtime.name,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # A new consumer group starts from the oldest record, so nothing published before it existed is missed.
            auto_offset_reset="earliest",
            parser=_lenient_headers,
            decoder=_raw_body,
            # FastStream files each topic of a multi-topic subscriber under "<title>:<topic>", so the title
            # need not list the topics again (AsyncAPI channel names only).
            title=consume.__name__ if len(row.topics) == 1 else f"{runtime.name}_on",
            description=(row.description + " " if row.description else "") + f"Acts on: {accepted}.",
        )(consume)


def declare_publishers(runtime: ServiceRuntime, events: Iterable[type[Event]]) -> None:
    """Record event types a service emits: their topics join `produces`, and the AsyncAPI document lists them.

    May be called several times (subscription table, HTTP routes); `build_http_app` then declares one FastStream
    publisher per topic. Those publishers only document: events leave through the outbox relay's `broker.publish`.
    """
    for cls in events:
        topic = cls.topic or f"{runtime.name}.events"
        runtime.produces.add(topic)
        runtime.emits.setdefault(topic, set()).add(cls)


def _document_publishers(runtime: ServiceRuntime) -> None:
    for topic in sorted(runtime.emits):
        classes = _in_catalogue_order(runtime.emits[topic])
        about = TOPICS[topic].description + " " if topic in TOPICS else ""
        runtime.broker.publisher(
            topic,
            title=f"{runtime.name}_to_{_slug(topic)}",
            description=f"{about}Publishes: {', '.join(cls.ce_type for cls in classes)}.",
            schema=reduce(operator.or_, classes),
        )


def _consumer_of(
    runtime: ServiceRuntime, handlers: dict[type[Event], Handler], accepted: Sequence[type[Event]]
) -> Callable[..., Awaitable[None]]:
    # A closure, not a default argument: FastStream would take any extra parameter for the message body.
    async def consume(body: Any, message: KafkaMessage) -> None:
        await runtime.consumer.consume(message.raw_message, handlers)  # type: ignore[arg-type]

    if accepted:
        # `body` exists only for FastStream's AsyncAPI payload. SkipValidation keeps FastStream from validating
        # it, so a malformed body still reaches EventConsumer, which dead-letters it with its reason.
        consume.__annotations__["body"] = Annotated[
            reduce(operator.or_, accepted),
            SkipValidation(),
            Field(description="One of these event types, named by the ce_type header (CloudEvents binary mode)."),
        ]
    return consume


async def _lenient_headers(
    record: ConsumerRecord, parse: Callable[[ConsumerRecord], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    # FastStream decodes header values as strict UTF-8 and skips a record it cannot parse, unseen by EventConsumer and
    # without a dead letter. Undecodable bytes become U+FFFD (and a null value empty), so the record reaches
    # EventConsumer, which dead-letters it as invalid_envelope like any other broken envelope.
    if any(value is None or not _is_utf8(value) for _, value in record.headers or ()):
        record.headers = tuple(
            (name, (value or b"").decode("utf-8", errors="replace").encode()) for name, value in record.headers
        )
    return await parse(record)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    # FastStream would json-decode a body labelled application/json and fail before EventConsumer sees it, so a
    # malformed record would be re-read forever instead of dead-lettered: hand over the bytes untouched.
    return message.body


def _accepted_events(topics: Sequence[str], handlers: Mapping[type[Event], Handler]) -> tuple[type[Event], ...]:
    """The event types a subscription acts on; a handler for the base `Event` takes every type of its topics."""
    accepted = [cls for cls in handlers if cls is not Event]
    if Event in handlers:
        accepted += [cls for topic in topics if topic in TOPICS for cls in TOPICS[topic].events]
    return _in_catalogue_order(accepted)


def _in_catalogue_order(events: Iterable[type[Event]]) -> tuple[type[Event], ...]:
    # Deterministic documents: the catalogue's order, then anything outside it (test doubles) by name.
    rank = {cls: i for i, cls in enumerate(ALL_EVENTS)}
    return tuple(sorted(set(events), key=lambda cls: (rank.get(cls, len(rank)), cls.__name__)))


def _slug(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


Background = Callable[["ServiceRuntime"], AbstractAsyncContextManager[None]]


def build_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    topics: Iterable[str] = (),
    background: Sequence[Background] = (),
) -> FastAPI:
    """The FastAPI app of a service: its routers behind API keys, GET /health open, Kafka in the lifespan.

    `background` are context managers (an MLLP listener, a scheduler of due work) entered once the broker and
    the outbox relay run, and exited, in reverse order, before they stop.
    """
    settings = runtime.settings
    _document_publishers(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.db.create_tables()
        await ensure_topics(settings.kafka, {*topics, *runtime.consumes, *runtime.produces})
        await runtime.broker.start()
        if settings.outbox_relay_enabled:
            runtime.relay.start()
        log.info("%s ready on http://%s:%s", runtime.name, settings.http_host, settings.http_port)
        try:
            async with AsyncExitStack() as stack:
                for companion in background:
                    await stack.enter_async_context(companion(runtime))
                yield
        finally:
            # Stop taking work, flush what handlers already committed, then close the producer.
            for subscriber in runtime.broker.subscribers:
                await subscriber.stop()
            if settings.outbox_relay_enabled:
                await runtime.relay.stop()
                await _drain(runtime)
            await runtime.broker.stop()
            await runtime.db.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    guard = Depends(runtime.require_api_key)
    for router in routers:
        app.include_router(router, dependencies=[guard])

    @app.get("/health", tags=["health"], summary="200 only when the broker and the database answer")
    async def health() -> JSONResponse:
        broker_ok, db_ok = await asyncio.gather(_broker_ok(runtime.broker), runtime.db.ping())
        body = {
            "service": runtime.name,
            "status": "ok" if broker_ok and db_ok else "unavailable",
            "broker": "ok" if broker_ok else "unreachable",
            "database": "ok" if db_ok else "unreachable",
        }
        return JSONResponse(body, status_code=200 if broker_ok and db_ok else 503)

    app.state.runtime = runtime
    return app


async def _broker_ok(broker: KafkaBroker) -> bool:
    try:
        return await broker.ping(timeout=2.0)
    except RuntimeError:  # not started yet
        return False


async def _drain(runtime: ServiceRuntime) -> None:
    try:
        async with asyncio.timeout(10):
            while await runtime.relay.publish_pending():
                pass
    except (TimeoutError, OSError) as error:
        log.warning("%s: outbox not drained at shutdown (%s); rows stay for the next start", runtime.name, error)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {settings.service_name} %(levelname)s %(message)s")
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        timeout_graceful_shutdown=20,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
