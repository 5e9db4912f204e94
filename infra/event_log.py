"""Every event of a simulation run, read from the topics after each step: typed, with its simulated time.

Read up to the end offsets measured when the platform is quiet, topic by topic, so the same run gives the same log
(offsets within a topic are fixed once written). Outcomes are computed from this log, never from wall-clock times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.envelope import decode, header_map
from shared.events import Event
from shared.topics import TOPICS

from .quiescence import topic_partitions

# Every topic the platform writes, the vendor-facing ones included (DLQs are checked separately).
LOGGED_TOPICS = tuple(sorted(TOPICS))


@dataclass(frozen=True)
class Logged:
    topic: str
    offset: int
    time: datetime  # ce_time: the simulated time the event happened
    source: str
    event: Event

    @property
    def case_id(self) -> str:
        return self.event.case_id


class EventLog:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, client_id="sim-event-log", enable_auto_commit=False, group_id=None
        )
        self._partitions: list[TopicPartition] = []
        self.events: list[Logged] = []
        self.dead_letters: int = 0

    async def start(self) -> None:
        await self._consumer.start()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="sim-event-log")
        await admin.start()
        try:
            found = await topic_partitions(admin, [*LOGGED_TOPICS, *(f"{t}.dlq" for t in LOGGED_TOPICS)])
        finally:
            await admin.close()
        self._partitions = [tp for topic in sorted(found) for tp in found[topic]]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)
        # Paused between reads: an idle long-poll fetch would hold up the next end-offsets request by its wait.
        self._consumer.pause(*self._partitions)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def read_new(self) -> list[Logged]:
        """Everything written since the last call, in (topic, offset) order."""
        ends = await self._consumer.end_offsets(self._partitions)
        pending = {tp for tp in self._partitions if await self._consumer.position(tp) < ends[tp]}
        records: list[ConsumerRecord] = []
        self._consumer.resume(*pending)
        while pending:
            batch = await self._consumer.getmany(*pending, timeout_ms=500)
            for tp, fetched in batch.items():
                records += [r for r in fetched if r.offset < ends[tp]]
            for tp in list(pending):
                position = await self._consumer.position(tp)
                if position > ends[tp]:
                    self._consumer.seek(tp, ends[tp])  # later records belong to the next step's read
                if position >= ends[tp]:
                    pending.discard(tp)
                    self._consumer.pause(tp)
        fresh: list[Logged] = []
        for record in sorted(records, key=lambda r: (r.topic, r.offset)):
            if record.topic.endswith(".dlq"):
                self.dead_letters += 1
                continue
            envelope, event = decode(header_map(record.headers or ()), record.value)
            fresh.append(Logged(record.topic, record.offset, envelope.time, envelope.source, event))
        self.events.extend(fresh)
        return fresh
