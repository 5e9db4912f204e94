"""Database faults: a service's SQLite file held under an exclusive lock, and the consumer group offsets that show
its consumers waited instead of committing past work they had not stored."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


def hold_exclusive_lock(db_file: Path, seconds: float) -> float:
    """Take SQLite's write lock on `db_file` from another connection and keep it `seconds`; returns when taken.

    The services run SQLite in WAL mode, where BEGIN EXCLUSIVE shuts out every writer but not readers: the
    service's handlers, inbox and outbox relay cannot commit, which is what an unavailable database means to them.
    Blocking: call it in a thread.
    """
    connection = sqlite3.connect(db_file, timeout=60, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        taken = time.monotonic()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        return taken
    finally:
        connection.close()


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of `topic` (what it has promised it stored)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-offsets")
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset to be written per partition of `topic` (what has been published)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chaos-offsets")
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of `topic` the group has not committed yet."""
    ends, committed = await asyncio.gather(end_offsets(bootstrap, topic), committed_offsets(bootstrap, group, topic))
    return sum(end - committed.get(partition, 0) for partition, end in ends.items())
