"""Rebuild the coordinator's read model from scratch by replaying every *.events topic.

python -m services.coordinator.rebuild --database-url sqlite+aiosqlite:///var/data/coordinator-rebuilt.db
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from rich.progress import Progress

from shared.db import Database
from shared.dlq import read_topic
from shared.envelope import DecodeError, decode, header_map
from shared.inbox import Delivery, InboxRecord
from shared.settings import KafkaSettings
from shared.topics import EVENTS_TOPICS

from .db import TABLES
from .handlers import record_on_timeline


class _FixedClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def rebuild(kafka: KafkaSettings, db: Database) -> int:
    """Replay every events topic into `db` (fresh tables); returns how many events were applied."""
    await db.create_tables()
    records = []
    with Progress() as progress:
        reading = progress.add_task("reading topics", total=len(EVENTS_TOPICS))
        for topic in EVENTS_TOPICS:
            records += await read_topic(kafka, topic, timeout_s=30)
            progress.advance(reading)
        decoded = []
        for record in records:
            try:
                envelope, event = decode(header_map(record.headers or ()), record.value)
            except DecodeError:
                continue  # the live consumer dead-lettered it too
            decoded.append((envelope, event, record))
        # Per case, apply in the order the live model saw them: by event time, ties by topic position.
        decoded.sort(key=lambda item: (item[0].time, item[2].topic, item[2].partition, item[2].offset))
        applying = progress.add_task("applying events", total=len(decoded))
        clock = _FixedClock()
        applied = 0
        for envelope, event, record in decoded:
            async with db.transaction() as session:
                if await session.get(InboxRecord, envelope.id) is None:
                    await record_on_timeline(event, Delivery(envelope=envelope, session=session), clock=clock)
                    session.add(
                        InboxRecord(
                            event_id=envelope.id,
                            ce_type=envelope.type,
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                            processed_at=clock.now(),
                        )
                    )
                    applied += 1
            progress.advance(applying)
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="an empty database for the rebuilt model")
    args = parser.parse_args()
    db = Database(args.database_url, [InboxRecord, *TABLES], schema="coordinator")

    async def run() -> int:
        try:
            return await rebuild(KafkaSettings(), db)
        finally:
            await db.dispose()

    print(f"applied {asyncio.run(run())} events")


if __name__ == "__main__":
    main()
