"""The simulated vendor's Kafka side: its own consumer group on transport.ride-requests, answers on
transport.ride-updates in the platform's envelope, exactly as docs/transport.md tells a vendor to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from types import TracebackType

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.clock import Clock, SystemClock
from shared.envelope import DecodeError, decode, encode, header_map
from shared.events import RideCancelled, RideCancelRequested, RideRequested
from shared.events.transport import RideUpdate
from shared.kafka import client_options, ensure_topics
from shared.settings import KafkaSettings

from .behaviour import Answer, VendorBehaviour, answer_event, plan_answers

log = logging.getLogger(__name__)
REQUESTS_TOPIC = "transport.ride-requests"
UPDATES_TOPIC = "transport.ride-updates"
VENDOR_HEADER = "vendor_id"


class VendorSim:
    """One simulated vendor. `async with VendorSim(...)` runs it until the block ends."""

    def __init__(
        self,
        kafka: KafkaSettings,
        vendor_id: str,
        behaviour: VendorBehaviour,
        *,
        group_id: str | None = None,
        clock: Clock | None = None,
        from_latest: bool = False,
    ) -> None:
        self.kafka = kafka
        self.vendor_id = vendor_id
        self.behaviour = behaviour
        self.group_id = group_id or f"vendor-sim-{vendor_id}"
        self.clock = clock or SystemClock()
        self.from_latest = from_latest
        self.stats: Counter[str] = Counter()
        self._seen_keys: set[str] = set()
        self._rides: dict[str, asyncio.Task[None]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_topics(self.kafka, [REQUESTS_TOPIC, UPDATES_TOPIC])
        options = client_options(self.kafka)
        self._producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True)
        self._consumer = AIOKafkaConsumer(
            REQUESTS_TOPIC,
            **options,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="latest" if self.from_latest else "earliest",
        )
        await self._producer.start()
        await self._consumer.start()
        self._loop = asyncio.create_task(self._consume(), name=f"vendor-sim-{self.vendor_id}")

    async def stop(self) -> None:
        for task in [self._loop, *self._rides.values()]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def __aenter__(self) -> VendorSim:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def _consume(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await self._take(record)
            if batches:
                # Offsets after the answers are planned: a restart re-reads at most the last batch, and the
                # idempotency key keeps a re-read request from being booked twice.
                await self._consumer.commit()

    async def _take(self, record: ConsumerRecord) -> None:
        headers = header_map(record.headers or ())
        if headers.get(VENDOR_HEADER) != self.vendor_id:
            return  # another vendor's offer: the header says so without opening the body
        try:
            _, event = decode(headers, record.value)
        except DecodeError as error:
            self.stats["undecodable"] += 1
            log.warning(
                "%s: record %s/%s is not a valid event: %s", self.vendor_id, record.partition, record.offset, error
            )
            return
        if isinstance(event, RideRequested):
            self._offer(event)
        elif isinstance(event, RideCancelRequested):
            await self._cancel(event)

    def _offer(self, request: RideRequested) -> None:
        if request.idempotency_key in self._seen_keys:
            self.stats["duplicate_offers"] += 1
            return
        self._seen_keys.add(request.idempotency_key)
        self.stats["offers"] += 1
        previous = self._rides.pop(request.ride_id, None)
        if previous is not None:
            previous.cancel()
        self._rides[request.ride_id] = asyncio.create_task(self._answer(request))

    async def _answer(self, request: RideRequested) -> None:
        for delay, answer in plan_answers(request, self.behaviour):
            await asyncio.sleep(delay)
            await self._send(answer_event(answer, request, self.clock.now(), self.behaviour))
            self.stats[answer] += 1
            if answer in (Answer.REJECTED, Answer.COMPLETED, Answer.NO_SHOW):
                break
        self._rides.pop(request.ride_id, None)

    async def _cancel(self, request: RideCancelRequested) -> None:
        task = self._rides.pop(request.ride_id, None)
        if task is None:
            return  # rejected, over, or never ours: nothing to confirm
        task.cancel()
        self.stats["cancelled"] += 1
        await self._send(
            RideCancelled(
                case_id=request.case_id,
                ride_id=request.ride_id,
                vendor_id=self.vendor_id,
                at=self.clock.now(),
                reason=f"cancel_requested: {request.reason}",
            )
        )

    async def _send(self, update: RideUpdate) -> None:
        assert self._producer is not None
        encoded = encode(update, source=f"/vendors/{self.vendor_id}", time=self.clock.now())
        headers = [(name, value.encode()) for name, value in {**encoded.headers, VENDOR_HEADER: self.vendor_id}.items()]
        await self._producer.send_and_wait(UPDATES_TOPIC, encoded.body, key=encoded.key, headers=headers)
