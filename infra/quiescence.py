"""Knowing when the platform has nothing left to do: every consumer group caught up, every outbox sent.

The simulation advances its clock only when the platform is quiet, so each step's work is finished (and the run
repeats) before the next step's messages arrive. Lag is the committed offset of each group against the end of each
topic it subscribes to (aiokafka admin `list_consumer_group_offsets` against `end_offsets`); an event a handler has
committed but the relay not yet published is still in that service's outbox table, so the outboxes are read too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from aiokafka.protocol.admin import DescribeGroupsRequest_v2
from aiokafka.protocol.api import Request

POLL_S = 0.03


class DescribeGroups(Request[DescribeGroupsRequest_v2]):
    """DescribeGroups pinned to v2: aiokafka 0.14 reads a v3 answer with the v2 schema (no authorized_operations)
    and fails with "Buffer underrun", so `AIOKafkaAdminClient.describe_consumer_groups` cannot be used on Kafka 4."""

    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self.groups = groups

    def build(self, request_struct_class: type[DescribeGroupsRequest_v2]) -> DescribeGroupsRequest_v2:
        return DescribeGroupsRequest_v2(self.groups)


async def topic_partitions(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> dict[str, list[TopicPartition]]:
    """The partitions of each topic that exists (topics not created yet are left out)."""
    found: dict[str, list[TopicPartition]] = {}
    for topic in await admin.describe_topics(sorted(set(topics))):
        if topic["error_code"] == 0:
            numbers = sorted(p["partition"] for p in topic["partitions"])
            found[topic["topic"]] = [TopicPartition(topic["topic"], n) for n in numbers]
    return found


class Quiescence:
    def __init__(self, bootstrap: str, outbox_databases: Iterable[Path], groups: Iterable[str]) -> None:
        self.bootstrap = bootstrap
        self.outbox_databases = tuple(outbox_databases)
        self.groups = tuple(groups)
        self.subscriptions: dict[str, tuple[str, ...]] = {}
        self.partitions: dict[str, list[TopicPartition]] = {}
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sim-quiescence")
        self._offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="sim-quiescence")
        self.waits = 0
        self.polls = 0

    async def start(self, timeout_s: float = 60.0) -> None:
        """Connect, and learn which topics each group subscribes to (from its members' join metadata)."""
        await self._admin.start()
        await self._offsets.start()
        deadline = time.monotonic() + timeout_s
        while True:
            self.subscriptions = await self._subscriptions()
            missing = [g for g in self.groups if not self.subscriptions.get(g)]
            if not missing:
                subscribed = {t for topics in self.subscriptions.values() for t in topics}
                self.partitions = await topic_partitions(self._admin, subscribed)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumer groups never joined: {', '.join(missing)}")
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def _subscriptions(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for group_id in self.groups:
            coordinator = await self._admin.find_coordinator(group_id)
            response = await self._admin._client.send(coordinator, DescribeGroups([group_id]))
            for group in response.groups:
                topics: set[str] = set()
                for member in group[5]:  # a service's subscribers share its group, each with its own topics
                    topics.update(ConsumerProtocolMemberMetadata.decode(member[3]).subscription)
                found[group[1]] = tuple(sorted(topics))
        return found

    async def lag(self) -> tuple[int, dict[TopicPartition, int]]:
        """Messages not yet processed by some group, and the end offsets it was measured against."""
        ends = await self._offsets.end_offsets([tp for tps in self.partitions.values() for tp in tps])
        groups = list(self.subscriptions)
        committed = await asyncio.gather(*(self._admin.list_consumer_group_offsets(g) for g in groups))
        behind = 0
        for group, offsets in zip(groups, committed, strict=True):
            for tp in (tp for topic in self.subscriptions[group] for tp in self.partitions.get(topic, ())):
                done = offsets[tp].offset if tp in offsets and offsets[tp].offset >= 0 else 0
                behind += max(0, ends.get(tp, 0) - done)
        return behind, ends

    def unsent(self) -> int:
        """Outbox rows not yet published, over every service's SQLite database (read-only)."""
        total = 0
        for path in self.outbox_databases:
            if not path.exists():
                continue
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as connection:
                total += connection.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        return total

    async def wait(self, *, settle_s: float, timeout_s: float = 600.0) -> None:
        """Return once nothing is in flight and nothing new appeared for `settle_s` (scheduler ticks included)."""
        started = time.monotonic()
        deadline = started + timeout_s
        quiet_since: float | None = None
        last_ends: dict[TopicPartition, int] | None = None
        while time.monotonic() < deadline:
            self.polls += 1
            behind, ends = await self.lag()
            busy = behind > 0 or ends != last_ends or self.unsent() > 0
            last_ends = ends
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle_s:
                self.waits += 1
                return
            await asyncio.sleep(POLL_S)
        unsent = self.unsent()
        raise TimeoutError(f"the platform did not settle within {timeout_s:.0f}s (lag {behind}, unsent {unsent})")
