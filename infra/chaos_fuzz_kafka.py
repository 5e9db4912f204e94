"""Hostile records on every topic the services consume: no envelope, wrong spec version, unknown type, wrong field
types, not JSON, deep nesting, a mismatched subject, bad header bytes, oversize. Each consuming service must
dead-letter each one with its reason (and keep consuming); a record too large for the broker is refused at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.dlq import read_dead_letters
from shared.settings import KafkaSettings
from shared.topics import TOPICS

from .chaos_result import FuzzTally

Headers = list[tuple[str, bytes]]


def envelope(ce_type: str, subject: str, **overrides: str) -> dict[str, str]:
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/chaos",
        "ce_type": ce_type,
        "ce_time": datetime.now(UTC).isoformat(),
        "ce_subject": subject,
        "content-type": "application/json",
    }
    headers.update(overrides)
    return headers


def as_headers(values: dict[str, str]) -> Headers:
    return [(k, v.encode()) for k, v in values.items()]


def hostile_records(ce_type: str, key: Callable[[], str]) -> list[tuple[str, str, Headers, bytes]]:
    """(name, key, headers, body) of each hostile record for a topic whose events include `ce_type`."""
    records = []

    def add(name: str, headers: Headers, body: bytes) -> None:
        k = key()
        records.append((name, k, [(h, v.replace(b"{key}", k.encode())) for h, v in headers], body))

    add("no_envelope", [], b"\x00\xff garbage, no CloudEvents headers")
    add("wrong_specversion", as_headers(envelope(ce_type, "{key}", ce_specversion="0.3")), b"{}")
    add("unknown_type", as_headers(envelope("chaos.unheard-of.v9", "{key}")), b"{}")
    add("wrong_field_types", as_headers(envelope(ce_type, "{key}")), json.dumps({"case_id": 7, "x": [1]}).encode())
    add("not_json", as_headers(envelope(ce_type, "{key}")), b"{not json at all")
    add("deep_nesting", as_headers(envelope(ce_type, "{key}")), b"[" * 100_000 + b"]" * 100_000)
    add("subject_mismatch", as_headers(envelope(ce_type, "someone-else")), json.dumps({"case_id": "x"}).encode())
    add("bad_time", as_headers(envelope(ce_type, "{key}", ce_time="yesterday-ish")), b"{}")
    add("binary_headers", [(k, b"\xff\xfe\x00" + v) for k, v in as_headers(envelope(ce_type, "{key}"))], b"{}")
    add("oversize_body", as_headers(envelope(ce_type, "{key}")), json.dumps({"case_id": "x" * 700_000}).encode())
    return records


async def fuzz_topics(
    bootstrap: str,
    consumers: dict[str, set[str]],
    *,
    rounds: int = 1,
    wait_s: float = 90.0,
    on_progress: Callable[[int], None] | None = None,
) -> FuzzTally:
    """Produce the hostile records to every consumed topic and wait for a dead letter per (record, consumer)."""
    tally = FuzzTally()
    run = uuid.uuid4().hex[:8]
    counter = iter(range(1_000_000))
    expected: dict[tuple[str, str], set[str]] = {}  # (topic, key) → services that must dead-letter it
    names: dict[str, str] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=1 << 20)
    await producer.start()
    try:
        for topic, services in sorted(consumers.items()):
            ce_type = next((cls.ce_type for cls in TOPICS[topic].events), "chaos.unknown.v1") if topic in TOPICS else ""
            for _ in range(rounds):
                for name, key, headers, body in hostile_records(ce_type, lambda: f"fuzz-{run}-{next(counter)}"):
                    await producer.send_and_wait(topic, body, key=key.encode(), headers=headers)
                    tally.tried += 1
                    expected[(topic, key)] = set(services)
                    names[key] = name
            # Too large for the broker: the producer must refuse it plainly, not hang or send half of it.
            tally.tried += 1
            try:
                await producer.send_and_wait(topic, b"x" * (2 << 20), key=b"fuzz-too-large")
                tally.failures.append(f"{topic}: a 2 MiB record was accepted")
            except KafkaError as error:
                tally.outcomes[f"refused_by_producer:{type(error).__name__}"] += 1
    finally:
        await producer.stop()
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + wait_s
    missing = dict(expected)
    while missing and time.monotonic() < deadline:
        for topic in sorted({t for t, _ in missing}):
            for letter in await read_dead_letters(settings, f"{topic}.dlq", timeout_s=10):
                key = (letter.key or b"").decode()
                if (topic, key) in missing and letter.headers.get("dlq_service") in missing[(topic, key)]:
                    missing[(topic, key)].discard(letter.headers["dlq_service"])
                    tally.outcomes[f"dlq:{letter.reason}"] += 1
                    if not missing[(topic, key)]:
                        del missing[(topic, key)]
        if on_progress is not None:
            on_progress(len(expected) - len(missing))
        if missing:
            await asyncio.sleep(1.0)
    for (topic, key), services in sorted(missing.items()):
        tally.hangs += 1
        tally.failures.append(f"{topic} {names[key]}: no dead letter from {', '.join(sorted(services))}")
    return tally
