"""The assignment service on the real broker: offers, declines, deadlines, cancellation and crisis alerts.

The service runs in-process with a ManualClock the test moves and a short scheduler interval; it reads
discharge.events and notification.events, and its events are read back from assignment.events and
notification.requests by case id.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from pydantic import SecretStr

from services.assignment.main import create_app
from services.assignment.roster_generator import REGIONS, generate_roster
from services.assignment.settings import AssignmentSettings
from services.notification.main import create_app as create_notification_app
from services.notification.settings import NotificationSettings
from shared.clock import ManualClock
from shared.dlq import read_topic
from shared.envelope import encode, header_map
from shared.events import DischargeCancelled, DischargePending, Event, NotificationAcknowledged
from shared.events.common import GeoPoint, Place
from shared.events.discharge import PlanningNeeds, RecoveryDomain, RiskFlag
from shared.kafka import client_options, ensure_topics
from shared.settings import KafkaSettings
from tests.factories import discharge_pending

pytestmark = pytest.mark.integration

API_KEY = "it:" + uuid.uuid4().hex
# A Tuesday, 09:00 in Springfield: the generated roster is on duty.
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SPRINGFIELD = REGIONS[0]
ACK_TIMEOUT = timedelta(minutes=30)
CRISIS_REPEAT = timedelta(minutes=5)


@dataclass
class Running:
    api: httpx.AsyncClient
    clock: ManualClock
    kafka: KafkaSettings
    producer: AIOKafkaProducer

    async def publish(self, event: Event) -> None:
        encoded = encode(event, source="/it", time=self.clock.now())
        headers = [(k, v.encode()) for k, v in encoded.headers.items()]
        await self.producer.send_and_wait(type(event).topic, encoded.body, key=encoded.key, headers=headers)

    async def events(self, topic: str, case_id: str, ce_type: str | None = None) -> list[dict[str, Any]]:
        """Bodies of a case's records on a topic (optionally of one type), each with its ce_type."""
        found = []
        for record in await read_topic(self.kafka, topic, timeout_s=10):
            headers = header_map(record.headers or ())
            if record.key == case_id.encode() and ce_type in (None, headers.get("ce_type")):
                found.append({"ce_type": headers["ce_type"], **json.loads(record.value or b"{}")})
        return found

    async def wait_for(
        self,
        topic: str,
        case_id: str,
        ce_type: str,
        count: int = 1,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout_s: float = 30.0,
    ) -> list[dict[str, Any]]:
        """At least `count` such records (those `where` accepts), waiting for them to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [event for event in await self.events(topic, case_id, ce_type) if where(event)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)
        pytest.fail(f"fewer than {count} {ce_type} for {case_id} on {topic} within {timeout_s}s")

    async def offers(self, case_id: str, count: int) -> list[dict[str, Any]]:
        return await self.notifications(case_id, count, "specialist.assigned", "specialist.reassigned")

    async def notifications(self, case_id: str, count: int, *templates: str) -> list[dict[str, Any]]:
        return await self.wait_for(
            "notification.requests",
            case_id,
            "notification.requested.v1",
            count,
            where=lambda request: request["template"] in templates,
        )


async def start_groups_at_the_end(kafka: KafkaSettings, group: str, topics: list[str]) -> None:
    """Commit the current end offsets for a new consumer group, so it reads only what this test publishes.

    A new group otherwise starts at the oldest record (the runtime's auto_offset_reset="earliest") and would
    replay every discharge other tests ever sent, each taking a place on this test's roster.
    """
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


@asynccontextmanager
async def running_assignment(kafka_bootstrap: str, tmp_path: Path, start: datetime = START) -> AsyncIterator[Running]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name = f"assignment-it-{uuid.uuid4().hex[:8]}"
    settings = AssignmentSettings(
        service_name=name,
        api_keys=SecretStr(API_KEY),
        data_dir=tmp_path,
        kafka=kafka,
        scheduler_interval_s=0.2,
        ack_timeout_minutes=ACK_TIMEOUT.total_seconds() / 60,
        crisis_repeat_minutes=CRISIS_REPEAT.total_seconds() / 60,
        consumer_backoff_s=0.05,
    )
    consumed = ["discharge.events", "notification.events"]
    await ensure_topics(kafka, [*consumed, "assignment.events", "notification.requests"])
    await start_groups_at_the_end(kafka, name, consumed)
    clock = ManualClock(start)
    app = create_app(settings, clock)
    producer = AIOKafkaProducer(**client_options(kafka), acks="all", enable_idempotence=True)
    async with app.router.lifespan_context(app):
        await producer.start()
        transport = httpx.ASGITransport(app=app)
        auth = {"Authorization": f"Bearer {API_KEY.split(':', 1)[1]}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://assignment", headers=auth) as api:
            roster = generate_roster(200, seed=21, today=start.date())
            answer = await api.post("/v1/roster", json=roster.model_dump(mode="json"))
            assert answer.status_code == 200, answer.text
            try:
                yield Running(api, clock, kafka, producer)
            finally:
                await producer.stop()


def springfield_discharge(start: datetime = START, **planning: Any) -> DischargePending:
    place = Place(name="Home", location=GeoPoint(lat=SPRINGFIELD.lat + 0.02, lon=SPRINGFIELD.lon - 0.03))
    needs = PlanningNeeds(
        recovery_domains=(RecoveryDomain.SUBSTANCE_USE,),
        consent_peer_support=True,
        destination_place=place,
        **planning,
    )
    return discharge_pending(planning=needs, expected_discharge_at=start + timedelta(hours=3))


def answer_to(request: dict[str, Any], accepted: bool, at: datetime) -> NotificationAcknowledged:
    return NotificationAcknowledged(
        case_id=request["case_id"],
        notification_id=request["notification_id"],
        recipient_id=request["recipient_id"],
        related_id=request["related_id"],
        accepted=accepted,
        responded_at=at,
    )


async def caseload(running: Running, specialist_id: str) -> int:
    answer = await running.api.get(f"/v1/specialists/{specialist_id}")
    assert answer.status_code == 200, answer.text
    cases: int = answer.json()["active_cases"]
    return cases


async def test_an_offer_declined_then_unanswered_moves_on_and_a_cancellation_frees_the_place(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_assignment(kafka_bootstrap, tmp_path) as running:
        discharge = springfield_discharge()
        await running.publish(discharge)

        (assigned,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.assigned.v1")
        first, runner_up = assigned["specialist"]["specialist_id"], assigned["runner_up"]["specialist_id"]
        (offer,) = await running.offers(discharge.case_id, 1)
        assert (offer["recipient_id"], offer["related_id"]) == (first, assigned["assignment_id"])
        assert offer["needs_acknowledgement"] and offer["respond_by"] == assigned["acknowledge_by"]
        assert await caseload(running, first) == 1

        # Declined: the runner-up is asked, and the decliner's place is free again.
        await running.publish(answer_to(offer, accepted=False, at=running.clock.now()))
        (declined,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.reassigned.v1")
        assert (declined["reason"], declined["previous_specialist_id"]) == ("declined", first)
        second = declined["specialist"]["specialist_id"]
        assert second == runner_up
        assert await caseload(running, first) == 0
        assert (await running.offers(discharge.case_id, 2))[-1]["recipient_id"] == second

        # No answer by the deadline: the scheduler, on the service's clock, asks the next best.
        running.clock.advance(ACK_TIMEOUT + timedelta(minutes=1))
        moves = await running.wait_for("assignment.events", discharge.case_id, "specialist.reassigned.v1", 2)
        timed_out = moves[-1]
        assert (timed_out["reason"], timed_out["previous_specialist_id"]) == ("no_acknowledgement", second)
        third = timed_out["specialist"]["specialist_id"]
        assert third not in (first, second)
        assert await caseload(running, second) == 0

        # The discharge is cancelled: the assignment and its caseload place are released.
        await running.publish(
            DischargeCancelled(
                case_id=discharge.case_id,
                facility_id=discharge.discharge.facility.id,
                visit_number=discharge.discharge.visit_number,
                was_pending_only=True,
                source=discharge.source,
            )
        )
        (released,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.released.v1")
        assert (released["specialist_id"], released["reason"]) == (third, "discharge_cancelled")
        assert await caseload(running, third) == 0


async def test_a_crisis_alert_repeats_until_someone_acknowledges_it(kafka_bootstrap: str, tmp_path: Path) -> None:
    async with running_assignment(kafka_bootstrap, tmp_path) as running:
        discharge = springfield_discharge(risk_flags=(RiskFlag.SUICIDE_RISK,))
        await running.publish(discharge)

        (flagged,) = await running.wait_for("assignment.events", discharge.case_id, "crisis.flagged.v1")
        assert flagged["raised_by"] == "intake"

        first_round = await running.notifications(discharge.case_id, 2, "crisis.flagged")
        assert {a["recipient_role"] for a in first_round} == {"specialist", "supervisor"}
        assert all(a["priority"] == "urgent" and a["related_id"] == flagged["crisis_id"] for a in first_round)

        running.clock.advance(CRISIS_REPEAT)
        second_round = (await running.notifications(discharge.case_id, 4, "crisis.flagged"))[2:]
        assert all("reminder 1" in a["summary"] for a in second_round)

        supervisor_alert = next(a for a in second_round if a["recipient_role"] == "supervisor")
        await running.publish(answer_to(supervisor_alert, accepted=True, at=running.clock.now()))
        (acknowledged,) = await running.wait_for("assignment.events", discharge.case_id, "crisis.acknowledged.v1")
        assert acknowledged["acknowledged_by"] == f"supervisor:{supervisor_alert['recipient_id']}"

        running.clock.advance(CRISIS_REPEAT * 3)
        await asyncio.sleep(1.5)  # several scheduler ticks
        assert len(await running.notifications(discharge.case_id, 4, "crisis.flagged")) == 4
        crisis = (await running.api.get(f"/v1/crises/{flagged['crisis_id']}")).json()
        assert (crisis["state"], crisis["notices_sent"]) == ("acknowledged", 2)


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.received.append(message)  # type: ignore[arg-type]  # the default policy makes an EmailMessage
        return "250 Message accepted for delivery"


@asynccontextmanager
async def emailing_notification(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[tuple[Mailbox, FastAPI]]:
    """The notification service, in-process, delivering by email to a real SMTP server on a free port."""
    mailbox = Mailbox()
    smtp = await asyncio.get_running_loop().create_server(lambda: SMTP(mailbox), "127.0.0.1", 0)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name = f"notification-it-{uuid.uuid4().hex[:8]}"
    notification = create_notification_app(
        NotificationSettings(
            service_name=name,
            api_keys=SecretStr(API_KEY),
            data_dir=tmp_path / "notification",
            kafka=kafka,
            public_base_url="http://notification.test",
            smtp_host="127.0.0.1",
            smtp_port=smtp.sockets[0].getsockname()[1],
            smtp_starttls=False,
            delivery_interval_s=0.1,
            consumer_backoff_s=0.05,
        )
    )
    await ensure_topics(kafka, ["notification.requests"])
    await start_groups_at_the_end(kafka, name, ["notification.requests"])
    try:
        async with notification.router.lifespan_context(notification):
            yield mailbox, notification
    finally:
        smtp.close()
        await smtp.wait_closed()


async def email_to(mailbox: Mailbox, specialist_id: str, timeout_s: float = 30.0) -> EmailMessage:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in mailbox.received:
            if message["To"] == f"{specialist_id.lower()}@peers.example.org":
                return message
        await asyncio.sleep(0.2)
    pytest.fail(f"no email to {specialist_id} reached the SMTP server within {timeout_s}s")


async def test_an_offer_emailed_by_the_notification_service_is_accepted_through_its_link(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # Real time on both sides: the notification service checks the answer deadline on its own clock.
    now = datetime.now(UTC)
    async with (
        emailing_notification(kafka_bootstrap, tmp_path) as (mailbox, notification),
        running_assignment(kafka_bootstrap, tmp_path / "assignment", start=now) as running,
    ):
        discharge = springfield_discharge(start=now)
        await running.publish(discharge)
        (assigned,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.assigned.v1")
        specialist = assigned["specialist"]["specialist_id"]

        message = await email_to(mailbox, specialist)
        body = message.get_content()
        assert not [fact for fact in ("Ana", "F32", "MRN", "substance") if fact in body]
        accept = re.search(r"(http://notification\.test/v1/ack/[A-Za-z0-9_-]+\?answer=accept)", body)
        assert accept, body
        transport = httpx.ASGITransport(app=notification)
        async with httpx.AsyncClient(transport=transport) as browser:
            answered = await browser.post(accept.group(1))
            assert answered.status_code == 200, answered.text

        (acknowledged,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.acknowledged.v1")
        assert acknowledged["specialist_id"] == specialist
        state = (await running.api.get(f"/v1/assignments/{assigned['assignment_id']}")).json()["state"]
        assert state == "acknowledged"


async def test_an_offer_left_unanswered_past_the_timeout_is_emailed_to_the_next_specialist(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    async with (
        emailing_notification(kafka_bootstrap, tmp_path) as (mailbox, _),
        running_assignment(kafka_bootstrap, tmp_path / "assignment", start=now) as running,
    ):
        discharge = springfield_discharge(start=now)
        await running.publish(discharge)
        (assigned,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.assigned.v1")
        first = assigned["specialist"]["specialist_id"]
        await email_to(mailbox, first)

        running.clock.advance(ACK_TIMEOUT + timedelta(minutes=1))  # the assignment service's deadline passes
        (moved,) = await running.wait_for("assignment.events", discharge.case_id, "specialist.reassigned.v1")
        assert (moved["reason"], moved["previous_specialist_id"]) == ("no_acknowledgement", first)
        second = moved["specialist"]["specialist_id"]
        assert second != first
        message = await email_to(mailbox, second)
        assert re.search(r"http://notification\.test/v1/ack/[A-Za-z0-9_-]+\?answer=accept", message.get_content())
        assert await caseload(running, first) == 0
