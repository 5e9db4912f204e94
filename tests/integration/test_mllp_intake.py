"""HL7 v2 over a real MLLP socket into the real intake service, its database and the real Kafka broker."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlmodel import col, select

from services.intake.db import ReceivedMessage
from services.intake.hl7 import er7
from services.intake.hl7.mllp import framed
from services.intake.hl7.receiver import Hl7Receiver
from services.intake.hl7_mapping import Hl7Mapping
from services.intake.main import create_app
from services.intake.reprocess import reprocess
from services.intake.settings import IntakeSettings
from shared.case_id import case_id_for
from shared.outbox import OutboxRecord
from shared.runtime import ServiceRuntime
from shared.settings import KafkaSettings
from tests.hl7_messages import Stay, adt, corpus_files, unique
from tests.unit.test_hl7_conformance import EXPECTED

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass
class Intake:
    app: FastAPI
    bootstrap: str
    port: int

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime  # type: ignore[no-any-return]


@pytest.fixture
async def intake(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Intake]:
    settings = IntakeSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        api_keys=f"test:{secrets.token_hex(16)}",
        data_dir=tmp_path,
        mllp_port=0,  # a free port, read back from the listener
        http_port=0,
        mllp_idle_timeout_s=30,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Intake(app, kafka_bootstrap, app.state.mllp.port)


class Sender:
    """One MLLP connection, as an interface engine holds it: send a message, wait for its ACK."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Sender:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, message: bytes) -> er7.Message:
        return await self.send_raw(framed(message))

    async def send_raw(self, data: bytes) -> er7.Message:
        self.writer.write(data)
        await self.writer.drain()
        answer = await asyncio.wait_for(self.reader.readuntil(b"\x1c\r"), timeout=30)
        return er7.parse(answer[1:-2])

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def msa(ack: er7.Message) -> tuple[str | None, str | None]:
    segment = ack.segment("MSA")
    assert segment is not None
    return segment.get(1), segment.get(2)


async def events_of(bootstrap: str, case_id: str, *, count: int, settle_s: float = 0.0) -> list[tuple[str, dict]]:
    """The case's events on discharge.events, in partition order; waits for `count`, then `settle_s` for extras."""
    consumer = AIOKafkaConsumer(
        "discharge.events", bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[tuple[str, dict]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        settle_until: float | None = None
        while loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key == case_id.encode():
                        headers = {k: v.decode() for k, v in record.headers}
                        found.append((headers["ce_type"], json.loads(record.value)))
            if len(found) >= count:
                settle_until = settle_until or loop.time() + settle_s
                if loop.time() >= settle_until:
                    break
    finally:
        await consumer.stop()
    return found


async def archived(intake: Intake, message_id: str) -> list[ReceivedMessage]:
    async with intake.runtime.db.transaction() as session:
        query = select(ReceivedMessage).where(col(ReceivedMessage.message_id) == message_id)
        return list((await session.exec(query.order_by(col(ReceivedMessage.id)))).all())


async def test_pending_registered_then_cancelled_arrive_in_order_for_one_case(intake: Intake) -> None:
    stay = Stay()
    case_id = case_id_for(stay.facility, stay.visit_number)
    sender = await Sender.connect(intake.port)
    discharged = replace(stay, discharged_at=datetime(2026, 11, 23, 15, 5, tzinfo=UTC))
    for trigger, message_stay in (("A16", stay), ("A03", discharged), ("A13", discharged)):
        control_id = unique(trigger)
        ack = await sender.send(adt(trigger, message_stay, control_id=control_id))
        assert msa(ack) == ("AA", control_id)
        # AA means durable: the event is in the outbox before the sender hears back.
        async with intake.runtime.db.transaction() as session:
            rows = (await session.exec(select(OutboxRecord).where(col(OutboxRecord.key) == case_id))).all()
        assert len(rows) == {"A16": 1, "A03": 2, "A13": 3}[trigger]
    await sender.close()

    events = await events_of(intake.bootstrap, case_id, count=3)
    assert [ce_type for ce_type, _ in events] == [
        "discharge.pending.v1",
        "discharge.registered.v1",
        "discharge.cancelled.v1",
    ]
    pending, registered, cancelled = (body for _, body in events)
    assert pending["discharge"]["visit_number"] == stay.visit_number
    assert pending["discharge"]["patient"]["identifiers"][0]["value"] == stay.mrn
    assert pending["discharge"]["expected_discharge_at"] == "2026-11-23T14:00:00Z"
    assert pending["discharge"]["planning"]["recovery_domains"] == ["substance_use"]  # PV1-10 "CD"
    assert pending["discharge"]["planning"]["part2_protected"] is True
    assert registered["discharge"]["discharged_at"] == "2026-11-23T15:05:00Z"
    assert registered["source"] == {
        "channel": "hl7v2",
        "message_id": registered["source"]["message_id"],
        "trigger": "A03",
    }
    assert cancelled["was_pending_only"] is False and cancelled["visit_number"] == stay.visit_number


async def test_a_resend_is_acknowledged_again_and_emits_nothing_more(intake: Intake) -> None:
    stay = Stay()
    case_id = case_id_for(stay.facility, stay.visit_number)
    message = adt("A16", stay, control_id="RESEND-1")
    sender = await Sender.connect(intake.port)
    assert msa(await sender.send(message)) == ("AA", "RESEND-1")
    assert msa(await sender.send(message)) == ("AA", "RESEND-1")  # the sender missed our first ACK
    registered = replace(stay, discharged_at=datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    assert msa(await sender.send(adt("A03", registered, control_id=unique("A03"))))[0] == "AA"
    await sender.close()

    # Relayed in order: had the resend emitted, a second pending would come before the registered one.
    events = await events_of(intake.bootstrap, case_id, count=2)
    assert [ce_type for ce_type, _ in events] == ["discharge.pending.v1", "discharge.registered.v1"]
    assert [row.outcome for row in await archived(intake, "RESEND-1")] == ["accepted", "duplicate"]


async def test_the_same_control_id_with_other_content_is_taken_and_flagged(intake: Intake) -> None:
    stay = Stay()
    control_id = unique("REUSED")
    sender = await Sender.connect(intake.port)
    assert msa(await sender.send(adt("A16", stay, control_id=control_id)))[0] == "AA"
    later = replace(stay, discharged_at=datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert msa(await sender.send(adt("A03", later, control_id=control_id)))[0] == "AA"
    await sender.close()
    rows = await archived(intake, control_id)
    assert [(row.outcome, row.event_type) for row in rows] == [
        ("accepted", "discharge.pending.v1"),
        ("accepted", "discharge.registered.v1"),
    ]
    assert rows[1].error == "note: MSH-10 reused with different content"


async def test_garbage_gets_ar_and_the_listener_keeps_serving(intake: Intake) -> None:
    sender = await Sender.connect(intake.port)
    nak = await sender.send_raw(b"\x00\xffnot hl7 at all\r\n")
    assert msa(nak) == ("AR", None)  # nothing readable to echo: MSA-2 empty
    framed_garbage = await sender.send(b"HELLO|this is not a message")
    assert msa(framed_garbage) == ("AR", None)
    ok = await sender.send(adt("A16", Stay(), control_id="AFTER-GARBAGE"))
    assert msa(ok) == ("AA", "AFTER-GARBAGE")
    await sender.close()
    other = await Sender.connect(intake.port)
    assert msa(await other.send(adt("A16", Stay(), control_id="NEXT-CONNECTION")))[0] == "AA"
    await other.close()


async def test_wrong_content_gets_ae_naming_the_field_and_is_archived_as_rejected(intake: Intake) -> None:
    control_id = unique("NOVISIT")
    message = adt("A03", replace(Stay(), visit_number=""), control_id=control_id)
    sender = await Sender.connect(intake.port)
    ack = await sender.send(message)
    await sender.close()
    assert msa(ack) == ("AE", control_id)
    err = ack.segment("ERR")
    assert err is not None and (err.get(2, 1), err.get(2, 3), err.get(3)) == ("PV1", "19", "101")
    [row] = await archived(intake, control_id)
    assert row.outcome == "rejected" and row.error is not None and row.error.startswith("101 at PV1-19")
    assert row.raw == message


async def test_unsupported_version_and_type_get_ar(intake: Intake) -> None:
    sender = await Sender.connect(intake.port)
    old = await sender.send(adt("A03", Stay(), control_id="OLD-VERSION", version="2.2"))
    assert msa(old) == ("AR", "OLD-VERSION")
    transfer = await sender.send(adt("A02", Stay(), control_id="TRANSFER"))
    assert msa(transfer) == ("AR", "TRANSFER")
    err = transfer.segment("ERR")
    assert err is not None and err.get(3) == "201"
    await sender.close()


async def test_enhanced_mode_gets_a_commit_acknowledgement(intake: Intake) -> None:
    sender = await Sender.connect(intake.port)
    ack = await sender.send(adt("A16", Stay(), control_id="ENHANCED", accept_ack="AL", application_ack="NE"))
    assert msa(ack) == ("CA", "ENHANCED")
    await sender.close()


async def test_twenty_senders_at_once_are_all_accepted(intake: Intake) -> None:
    stays = [Stay() for _ in range(20)]

    async def send(stay: Stay) -> tuple[str | None, str | None]:
        sender = await Sender.connect(intake.port)
        try:
            return msa(await sender.send(adt("A16", stay, control_id=f"C-{stay.visit_number}")))
        finally:
            await sender.close()

    answers = await asyncio.gather(*(send(stay) for stay in stays))
    assert answers == [("AA", f"C-{stay.visit_number}") for stay in stays]
    last = stays[-1]
    events = await events_of(intake.bootstrap, case_id_for(last.facility, last.visit_number), count=1)
    assert [ce_type for ce_type, _ in events] == ["discharge.pending.v1"]


async def test_an_admit_within_30_days_of_a_discharge_is_a_readmission(intake: Intake) -> None:
    first = replace(Stay(), discharged_at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    second = replace(first, visit_number=unique("V"), admitted_at=first.discharged_at + timedelta(days=12, hours=3))
    sender = await Sender.connect(intake.port)
    assert msa(await sender.send(adt("A03", first, control_id=unique("A03"))))[0] == "AA"
    assert msa(await sender.send(adt("A01", second, control_id=unique("A01"))))[0] == "AA"
    await sender.close()
    [(ce_type, body)] = await events_of(intake.bootstrap, case_id_for(second.facility, second.visit_number), count=1)
    assert ce_type == "patient.readmitted.v1"
    assert body["previous_case_id"] == case_id_for(first.facility, first.visit_number)
    assert body["days_since_discharge"] == 12


async def test_every_conformance_sample_is_answered_over_the_socket_as_expected(intake: Intake) -> None:
    sender = await Sender.connect(intake.port)
    for path in corpus_files():
        ack = await sender.send(path.read_bytes())
        assert msa(ack)[0] == EXPECTED[path.name].ack, path.name
    await sender.close()
    assert len(corpus_files()) == len(EXPECTED)


async def test_a_rejected_message_is_reprocessed_once_the_mapping_takes_it(intake: Intake) -> None:
    stay = Stay()
    control_id = unique("TRAINING")
    # A deployment that took only production messages refused this training one (MSH-11 = T) ...
    production_only = Hl7Receiver(intake.runtime, Hl7Mapping(processing_ids=frozenset({"P"})))
    refused = await production_only.process(adt("A16", stay, control_id=control_id, processing_id="T"))
    assert refused.problem is not None and refused.problem.code == 202
    [row] = await archived(intake, control_id)
    assert row.outcome == "rejected"
    # ... and after the mapping changed, the archived message goes through the same path again.
    receiver: Hl7Receiver = intake.app.state.mllp.endpoint
    [again] = await reprocess(intake.runtime, receiver, ids=[row.id or 0])
    assert (again.answer, again.event_type) == ("AA", "discharge.pending.v1")
    [repeat] = await reprocess(intake.runtime, receiver, ids=[row.id or 0])
    assert (repeat.answer, repeat.event_type, repeat.detail) == ("AA", None, "duplicate")
    [forced] = await reprocess(intake.runtime, receiver, ids=[row.id or 0], force=True)
    assert (forced.answer, forced.event_type) == ("AA", "discharge.pending.v1")
    events = await events_of(intake.bootstrap, case_id_for(stay.facility, stay.visit_number), count=2)
    assert [ce_type for ce_type, _ in events] == ["discharge.pending.v1", "discharge.pending.v1"]


async def test_an_oversized_message_gets_ar_and_the_connection_goes_on(intake: Intake) -> None:
    big = adt("A16", replace(Stay(), street="x" * (1 << 20)), control_id="TOO-BIG")
    sender = await Sender.connect(intake.port)
    ack = await sender.send(big)
    assert msa(ack) == ("AR", "TOO-BIG")  # MSH-10 read from the head of the refused frame
    err = ack.segment("ERR")
    assert err is not None and err.get(3) == "104"
    assert msa(await sender.send(adt("A16", Stay(), control_id="AFTER-BIG"))) == ("AA", "AFTER-BIG")
    await sender.close()
    [row] = await archived(intake, "TOO-BIG")
    assert row.outcome == "rejected" and len(row.raw) <= 4096  # only the head is kept


async def test_a_batch_is_answered_with_a_batch_of_acks(intake: Intake) -> None:
    first, second = Stay(), Stay()
    batch = (
        b"FHS|^~\\&|EHR|SPRINGFIELD_PSY\rBHS|^~\\&|EHR|SPRINGFIELD_PSY\r"
        + adt("A16", first, control_id="BATCH-1")
        + adt("A16", second, control_id="BATCH-2")
        + b"BTS|2\rFTS|1\r"
    )
    sender = await Sender.connect(intake.port)
    sender.writer.write(framed(batch))
    await sender.writer.drain()
    answer = await asyncio.wait_for(sender.reader.readuntil(b"\x1c\r"), timeout=30)
    await sender.close()
    segments = answer[1:-2].split(b"\r")
    assert segments[0].startswith(b"BHS|^~\\&|INTAKE")
    assert [s for s in segments if s.startswith(b"MSA")] == [b"MSA|AA|BATCH-1", b"MSA|AA|BATCH-2"]
    assert segments[-2] == b"BTS|2"
