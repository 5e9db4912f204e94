"""Delivery claims proven on the real broker: outbox after a crash, inbox against redelivery, dead letters and replay.

A probe service is built from the same runtime every service uses (broker, outbox relay, inbox consumer), on a topic
of its own so tests do not disturb each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import SecretStr
from sqlmodel import Field, SQLModel, col, func, select

from shared import outbox
from shared.dlq import read_dead_letters, read_topic
from shared.envelope import encode, header_map
from shared.events import CaseOpened, DischargePending, DischargeRegistered
from shared.inbox import Delivery
from shared.kafka import ensure_topics
from shared.runtime import ServiceRuntime, Subscription, build_http_app, build_runtime, subscribe
from shared.settings import KafkaSettings, ServiceSettings
from tests.factories import discharge_pending, discharge_registered, discharge_request

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
API_KEY = "it:" + uuid.uuid4().hex


class ProbeEffect(SQLModel, table=True):
    """The probe's state change: one row per handled event, so doubled effects are counted, not assumed."""

    __tablename__ = "test_probe_effect"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True)


class ProbeSettings(ServiceSettings):
    service_name: str = "probe"
    http_port: int = 0


@dataclass
class Probe:
    runtime: ServiceRuntime
    topic: str
    kafka: KafkaSettings
    fixed: bool = True
    failures: int = 0
    seen: list[str] = field(default_factory=list)

    async def effects(self, case_id: str) -> int:
        async with self.runtime.db.sessions() as session:
            query = select(func.count()).select_from(ProbeEffect).where(col(ProbeEffect.case_id) == case_id)
            return (await session.exec(query)).one()

    async def emitted(self, case_id: str) -> int:
        async with self.runtime.db.sessions() as session:
            query = select(func.count()).select_from(outbox.OutboxRecord).where(col(outbox.OutboxRecord.key) == case_id)
            return (await session.exec(query)).one()


async def eventually(check: Callable[[], object], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"condition not met within {timeout_s}s")


@asynccontextmanager
async def running_probe(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Probe]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    settings = ProbeSettings(
        service_name=name,
        api_keys=SecretStr(API_KEY),
        data_dir=tmp_path,
        kafka=kafka,
        consumer_max_attempts=3,
        consumer_backoff_s=0.05,
    )
    runtime = build_runtime(settings, [ProbeEffect])
    probe = Probe(runtime=runtime, topic=f"it.{name}.events", kafka=kafka)

    async def record(event: DischargeRegistered, delivery: Delivery) -> None:
        probe.seen.append(delivery.envelope.id)
        delivery.session.add(ProbeEffect(case_id=event.case_id))
        outbox.add(
            delivery.session,
            CaseOpened(
                case_id=event.case_id,
                service=name,
                opened_at=delivery.envelope.time,
                trigger_event_id=delivery.envelope.id,
            ),
            source=f"/{name}",
        )

    async def fails_until_fixed(event: DischargePending, delivery: Delivery) -> None:
        if not probe.fixed:
            probe.failures += 1
            raise RuntimeError("the rule this event needs is not deployed yet")
        delivery.session.add(ProbeEffect(case_id=event.case_id))

    subscribe(
        runtime,
        [
            Subscription(
                topics=(probe.topic,),
                handlers={DischargeRegistered: record, DischargePending: fails_until_fixed},
                emits=(CaseOpened,),
            )
        ],
    )
    app = build_http_app(runtime, title=name, description="test probe")
    async with app.router.lifespan_context(app):
        yield probe


@asynccontextmanager
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def send_event(client: AIOKafkaProducer, topic: str, key: bytes, headers: dict[str, str], body: bytes) -> None:
    await client.send_and_wait(topic, body, key=key, headers=[(k, v.encode()) for k, v in headers.items()])


async def records_of(kafka_bootstrap: str, topic: str, case_id: str) -> list[ConsumerRecord]:
    """Every record of one case on a topic, read from the beginning without a consumer group."""
    records = await read_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), topic, timeout_s=10)
    return [r for r in records if r.key == case_id.encode()]


async def test_the_same_event_delivered_twice_has_one_effect(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_probe(kafka_bootstrap, tmp_path) as probe, producer(kafka_bootstrap) as client:
        event = discharge_registered()
        encoded = encode(event, source="/intake")
        for _ in range(2):
            await send_event(client, probe.topic, encoded.key, encoded.headers, encoded.body)
        marker = discharge_registered()  # sent after both copies: once it is handled, both copies were consumed
        marker_encoded = encode(marker, source="/intake")
        await send_event(client, probe.topic, encoded.key, marker_encoded.headers, marker_encoded.body)
        await eventually(lambda: probe.effects(marker.case_id))
        assert await probe.effects(event.case_id) == 1
        assert await probe.emitted(event.case_id) == 1
        assert probe.seen.count(encoded.envelope.id) == 1


async def test_malformed_messages_go_to_the_dlq_with_their_reason_and_the_consumer_keeps_going(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_probe(kafka_bootstrap, tmp_path) as probe, producer(kafka_bootstrap) as client:
        good = discharge_registered()
        encoded = encode(good, source="/intake")
        await client.send_and_wait(probe.topic, b"\x00garbage that is no event", key=encoded.key)
        wrong_body = dict(encoded.headers, ce_id=str(uuid.uuid4()))
        await send_event(client, probe.topic, encoded.key, wrong_body, b'{"case_id": 7}')
        not_json = dict(encoded.headers, ce_id=str(uuid.uuid4()))  # says application/json, is not JSON
        await send_event(client, probe.topic, encoded.key, not_json, b"{not json")
        await send_event(client, probe.topic, encoded.key, encoded.headers, encoded.body)

        await eventually(lambda: probe.effects(good.case_id))
        letters = await read_dead_letters(probe.kafka, f"{probe.topic}.dlq")
        assert [d.reason for d in letters] == ["invalid_envelope", "invalid_payload", "invalid_payload"]
        garbage, bad_payload, not_json_letter = letters
        assert not_json_letter.value == b"{not json"
        assert garbage.value == b"\x00garbage that is no event"
        assert garbage.key == encoded.key
        assert garbage.headers["dlq_service"] == probe.runtime.name
        assert garbage.headers["dlq_topic"] == probe.topic
        assert garbage.headers["dlq_attempts"] == "1"
        assert "ce_specversion" in garbage.headers["dlq_error"]
        assert int(bad_payload.headers["dlq_offset"]) == int(garbage.headers["dlq_offset"]) + 1
        assert "case_id" in bad_payload.headers["dlq_error"]
        assert bad_payload.headers["ce_type"] == "discharge.registered.v1"


async def test_a_dead_letter_replayed_after_the_fix_is_processed_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_probe(kafka_bootstrap, tmp_path) as probe, producer(kafka_bootstrap) as client:
        probe.fixed = False
        event = discharge_pending()
        encoded = encode(event, source="/intake")
        await send_event(client, probe.topic, encoded.key, encoded.headers, encoded.body)

        dlq = f"{probe.topic}.dlq"
        await eventually(lambda: probe.failures == 3)
        letters: list = []

        async def dead_lettered() -> bool:
            letters[:] = await read_dead_letters(probe.kafka, dlq)
            return bool(letters)

        await eventually(dead_lettered)
        assert letters[0].reason == "handler_failed"
        assert letters[0].headers["dlq_attempts"] == "3"
        assert "not deployed yet" in letters[0].headers["dlq_error"]
        assert await probe.effects(event.case_id) == 0

        listed = await dcp(kafka_bootstrap, "dlq", "list", dlq)
        assert "1 dead letter(s)" in listed and "handler_failed" in listed and "discharge.pending.v1" in listed

        probe.fixed = True
        at = f"{letters[0].partition}:{letters[0].offset}"
        assert "replayed 1 record(s)" in await dcp(kafka_bootstrap, "dlq", "replay", dlq, "--offset", at)
        await eventually(lambda: probe.effects(event.case_id))
        await dcp(kafka_bootstrap, "dlq", "replay", dlq, "--offset", at)  # a second replay of the same record
        marker = discharge_registered()
        marker_encoded = encode(marker, source="/intake")
        await send_event(client, probe.topic, encoded.key, marker_encoded.headers, marker_encoded.body)
        await eventually(lambda: probe.effects(marker.case_id))
        assert await probe.effects(event.case_id) == 1
        assert probe.failures == 3


async def dcp(bootstrap: str, *args: str) -> str:
    """The operator's CLI as a process of its own (the probe's consumer keeps running in this loop meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        *args,
        cwd=REPO,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode()
    assert process.returncode == 0, text
    return text


async def test_a_relay_crash_after_publishing_resends_and_consumers_still_act_once(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_probe(kafka_bootstrap, tmp_path) as probe:
        event = discharge_registered()
        await probe.runtime.relay.stop()  # drive the relay by hand
        async with probe.runtime.db.transaction() as session:
            record = outbox.add(session, event, source="/intake")
        record.topic = probe.topic
        async with probe.runtime.db.transaction() as session:
            session.add(record)

        # The process dies after the broker acknowledged the batch but before the rows were marked sent.
        original_exec = type(session).exec

        async def crash_on_mark_sent(self, statement, *args, **kwargs):
            if "UPDATE outbox" in str(statement):
                raise ConnectionResetError("process killed before marking the batch sent")
            return await original_exec(self, statement, *args, **kwargs)

        monkeypatch.setattr(type(session), "exec", crash_on_mark_sent)
        with pytest.raises(ConnectionResetError):
            await probe.runtime.relay.publish_pending()
        monkeypatch.undo()
        assert await probe.runtime.relay.publish_pending() == 1  # the restarted relay sends it again

        copies = await records_of(kafka_bootstrap, probe.topic, event.case_id)
        assert len(copies) == 2
        assert len({header_map(r.headers)["ce_id"] for r in copies}) == 1
        await eventually(lambda: probe.effects(event.case_id))
        await asyncio.sleep(1.0)
        assert await probe.effects(event.case_id) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_intake(kafka_bootstrap: str, data_dir: Path, port: int, *, relay: bool) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        API_KEYS=API_KEY,
        DATA_DIR=str(data_dir),
        INTAKE_HTTP_PORT=str(port),
        INTAKE_MLLP_PORT=str(free_port()),
        INTAKE_OUTBOX_RELAY_ENABLED=str(relay).lower(),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "services.intake"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "intake.log").open("ab"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"intake did not start:\n{(data_dir / 'intake.log').read_text()[-2000:]}")


async def test_a_crash_between_commit_and_publish_still_delivers_the_event_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    await ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), ["discharge.events"])
    port = free_port()
    intake = start_intake(kafka_bootstrap, tmp_path, port, relay=False)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"http://127.0.0.1:{port}/v1/discharges",
                json=discharge_request(),
                headers={"Authorization": f"Bearer {API_KEY.split(':', 1)[1]}"},
            )
        assert answer.status_code == 202, answer.text
        case_id = answer.json()["case_id"]
    finally:
        intake.send_signal(signal.SIGKILL)  # committed, never published
        intake.wait(timeout=10)
    assert await records_of(kafka_bootstrap, "discharge.events", case_id) == []

    restarted = start_intake(kafka_bootstrap, tmp_path, port, relay=True)
    try:

        async def published() -> bool:
            return bool(await records_of(kafka_bootstrap, "discharge.events", case_id))

        await eventually(published, timeout_s=30)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
    copies = await records_of(kafka_bootstrap, "discharge.events", case_id)
    assert len(copies) == 1
    headers = header_map(copies[0].headers)
    assert headers["ce_type"] == "discharge.registered.v1"
    assert json.loads(copies[0].value)["case_id"] == case_id
