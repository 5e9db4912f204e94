"""The notification service on the real broker, with a real SMTP server (aiosmtpd) and a real webhook receiver on
loopback: requests in on notification.requests, messages out, answers back as events on notification.events.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notification.main import create_app
from services.notification.settings import NotificationSettings
from shared.dlq import read_topic
from shared.envelope import decode, encode, header_map
from shared.events import Event, NotificationAcknowledged, NotificationDelivered, NotificationFailed
from shared.events.common import Priority
from shared.events.notification import NotificationChannel, NotificationContact, NotificationRequested
from shared.kafka import client_options, ensure_topics
from shared.settings import KafkaSettings

pytestmark = pytest.mark.integration

API_KEY = "it:" + uuid.uuid4().hex
WEBHOOK_SECRET = "whsec-" + uuid.uuid4().hex
MAX_ATTEMPTS = 4
REQUESTS = "notification.requests"
EVENTS = "notification.events"
# What a discharge says about its patient (tests/factories.py); none of it may reach a message.
PATIENT_FACTS = ("Ana", "Rivera", "1980-04-02", "F32", "depress", "MRN")


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it receives; refuses mailboxes named nobody@ with a permanent 550."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def for_notification(self, notification_id: str) -> list[tuple[list[str], EmailMessage]]:
        return [(to, m) for to, m in self.received if str(m["Message-ID"]).startswith(f"<{notification_id}@")]


@dataclass
class Call:
    path: str
    notification_id: str
    attempt: int
    signature_valid: bool
    body: dict[str, Any]


@dataclass
class Receiver:
    """A webhook receiver that checks each signature the way docs/notifications.md tells receivers to."""

    secret: str
    calls: list[Call] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        timestamp, signature = request.headers.get("X-Signature-Timestamp", ""), request.headers.get("X-Signature", "")
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        notification_id = request.headers["X-Notification-Id"]
        call = Call(
            path=request.url.path,
            notification_id=notification_id,
            attempt=int(request.headers["X-Delivery-Attempt"]),
            signature_valid=fresh and hmac.compare_digest(expected, signature),
            body=json.loads(body),
        )
        self.calls.append(call)
        earlier = sum(1 for c in self.calls if c.notification_id == notification_id) - 1
        if call.path == "/hooks/flaky" and earlier < 2:
            return Response(status_code=503)  # fails twice, then takes it
        if call.path == "/hooks/down":
            return Response(status_code=500)
        return Response(status_code=204)

    def for_notification(self, notification_id: str) -> list[Call]:
        return [c for c in self.calls if c.notification_id == notification_id]


@dataclass
class Platform:
    """The notification service as its neighbours see it: a topic to publish to, a topic to read, an HTTP API."""

    base_url: str
    kafka: KafkaSettings
    producer: AIOKafkaProducer
    mailbox: Mailbox
    receiver: Receiver
    receiver_url: str

    async def request(self, request: NotificationRequested, event_id: str | None = None) -> None:
        encoded = encode(request, source="/assignment", event_id=event_id)
        headers = [(k, v.encode()) for k, v in encoded.headers.items()]
        await self.producer.send_and_wait(REQUESTS, encoded.body, key=encoded.key, headers=headers)

    async def events_of(self, case_id: str) -> list[Event]:
        records = await read_topic(self.kafka, EVENTS, timeout_s=10)
        return [decode(header_map(r.headers or ()), r.value)[1] for r in records if r.key == case_id.encode()]


async def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.2)
    pytest.fail(f"condition not met within {timeout_s}s")


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serve an ASGI app over real HTTP on a loopback socket, in this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def start_group_at_end(kafka: KafkaSettings, producer: AIOKafkaProducer, topic: str, group: str) -> None:
    """Commit a new consumer group's offsets at the topic's end, so it skips requests left by earlier runs."""
    await ensure_topics(kafka, [topic])
    partitions = [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    consumer = AIOKafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: ends[tp] for tp in partitions})
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
async def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name = f"notification-it-{uuid.uuid4().hex[:8]}"
    mailbox, receiver = Mailbox(), Receiver(WEBHOOK_SECRET)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(mailbox, hostname="smtp.test"), "127.0.0.1", 0)
    http_sock, hook_sock = loopback_socket(), loopback_socket()
    settings = NotificationSettings(
        service_name=name,
        api_keys=SecretStr(API_KEY),
        data_dir=Path(tmp_path_factory.mktemp("notification")),
        kafka=kafka,
        public_base_url=f"http://127.0.0.1:{http_sock.getsockname()[1]}",
        dashboard_base_url="https://dashboard.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp.sockets[0].getsockname()[1],
        smtp_starttls=False,
        smtp_from="Discharge coordination <notify@platform.test>",
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        delivery_interval_s=0.1,
        delivery_max_attempts=MAX_ATTEMPTS,
        retry_base_s=0.2,
        consumer_backoff_s=0.05,
    )
    app = create_app(settings)
    hooks = Starlette(routes=[Route("/hooks/{name}", receiver.hook, methods=["POST"])])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await start_group_at_end(kafka, producer, REQUESTS, name)
        async with (
            app.router.lifespan_context(app),
            serving(app, http_sock) as base_url,
            serving(hooks, hook_sock) as receiver_url,
        ):
            yield Platform(base_url, kafka, producer, mailbox, receiver, receiver_url)
    finally:
        await producer.stop()
        smtp.close()
        await smtp.wait_closed()


def assignment_request(**overrides: Any) -> NotificationRequested:
    case_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "case_id": case_id,
        "notification_id": f"N-{uuid.uuid4().hex[:12]}",
        "recipient_id": "S-104",
        "recipient_role": "specialist",
        "template": "specialist.assigned",
        "summary": f"New case {case_id[:8]} at TEST_FACILITY: please confirm you can mentor this patient",
        "link": f"/cases/{case_id}",
        "channels": (NotificationChannel.EMAIL,),
        "needs_acknowledgement": True,
        "respond_by": datetime.now(UTC) + timedelta(hours=2),
        "related_id": f"A-{uuid.uuid4().hex[:8]}",
        "contact": NotificationContact(email="s-104@peers.test"),
    }
    values.update(overrides)
    return NotificationRequested(**values)


async def settled(platform: Platform, request: NotificationRequested, kind: type[Event], **match: Any) -> Any:
    """The first event of `kind` about this notification whose fields match, once it is on notification.events."""

    async def find() -> Any:
        return next(
            (
                e
                for e in await platform.events_of(request.case_id)
                if isinstance(e, kind)
                and getattr(e, "notification_id", None) == request.notification_id
                and all(getattr(e, k) == v for k, v in match.items())
            ),
            None,
        )

    return await eventually(find)


async def emailed(platform: Platform, request: NotificationRequested) -> tuple[list[str], EmailMessage]:
    found = await eventually(lambda: platform.mailbox.for_notification(request.notification_id))
    return found[0]


def ack_link(message: EmailMessage, answer: str) -> str:
    body = message.get_content()
    match = re.search(rf"(http://\S+/v1/ack/[A-Za-z0-9_-]+\?answer={answer})", body)
    assert match, f"no {answer} link in:\n{body}"
    return match.group(1)


async def test_an_email_reaches_the_smtp_server_and_its_link_records_the_acceptance(platform: Platform) -> None:
    request = assignment_request()
    await platform.request(request)

    to, message = await emailed(platform, request)
    assert to == ["s-104@peers.test"] and message["To"] == "s-104@peers.test"
    assert message["Subject"] == f"New peer support assignment (case {request.case_id[:8]})"
    body = message.get_content()
    assert request.summary in body
    assert f"https://dashboard.test/cases/{request.case_id}" in body
    assert not [fact for fact in PATIENT_FACTS if fact in body + str(message["Subject"])]
    await settled(platform, request, NotificationDelivered, channel=NotificationChannel.EMAIL)

    accept = ack_link(message, "accept")
    async with httpx.AsyncClient() as client:
        page = await client.get(accept)  # what a mail scanner or the recipient's first click does: changes nothing
        assert page.status_code == 200 and 'action="?answer=accept"' in page.text
        assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        answered = await client.post(accept)  # the page's button: no API key, the token is the credential
        assert answered.status_code == 200 and "you accepted" in answered.text

        acknowledged = await settled(platform, request, NotificationAcknowledged)
        assert acknowledged.accepted is True
        assert acknowledged.related_id == request.related_id
        assert acknowledged.recipient_id == "S-104"

        again = await client.post(ack_link(message, "decline"))
        assert again.status_code == 409 and "already used" in again.text and "(accepted)" in again.text
        assert (await client.get(accept)).status_code == 409
        unknown = await client.post(accept.replace("/v1/ack/", "/v1/ack/x"))
        assert unknown.status_code == 404
    events = await platform.events_of(request.case_id)
    assert sum(isinstance(e, NotificationAcknowledged) for e in events) == 1


async def test_the_decline_link_records_a_decline_in_the_recipients_language(platform: Platform) -> None:
    request = assignment_request(language="es", template="specialist.reassigned")
    await platform.request(request)
    _, message = await emailed(platform, request)
    assert str(message["Subject"]).startswith("Asignación de apoyo entre pares transferida")
    async with httpx.AsyncClient() as client:
        answered = await client.post(ack_link(message, "decline"))
    assert answered.status_code == 200 and "ha rechazado" in answered.text
    acknowledged = await settled(platform, request, NotificationAcknowledged)
    assert acknowledged.accepted is False and acknowledged.related_id == request.related_id


async def test_a_link_past_its_deadline_answers_410_and_emits_nothing(platform: Platform) -> None:
    request = assignment_request(respond_by=datetime.now(UTC) - timedelta(minutes=1))
    await platform.request(request)
    _, message = await emailed(platform, request)
    async with httpx.AsyncClient() as client:
        assert (await client.get(ack_link(message, "accept"))).status_code == 410
        expired = await client.post(ack_link(message, "accept"))
    assert expired.status_code == 410 and "expired" in expired.text
    await settled(platform, request, NotificationDelivered)
    assert not [e for e in await platform.events_of(request.case_id) if isinstance(e, NotificationAcknowledged)]


async def test_a_signed_webhook_is_delivered_and_verified_by_its_receiver(platform: Platform) -> None:
    request = assignment_request(
        channels=(NotificationChannel.WEBHOOK,),
        contact=NotificationContact(webhook_url=f"{platform.receiver_url}/hooks/ok"),
        priority=Priority.URGENT,
    )
    await platform.request(request)
    await settled(platform, request, NotificationDelivered, channel=NotificationChannel.WEBHOOK)
    [call] = platform.receiver.for_notification(request.notification_id)
    assert call.signature_valid and call.attempt == 1
    assert call.body["notification_id"] == request.notification_id and call.body["related_id"] == request.related_id
    assert call.body["subject"].startswith("[URGENT] New peer support assignment")
    assert call.body["link"] == f"https://dashboard.test/cases/{request.case_id}"
    assert call.body["acknowledgement"]["accept_url"].startswith(f"{platform.base_url}/v1/ack/")
    assert not [fact for fact in PATIENT_FACTS if fact in json.dumps(call.body)]


async def test_a_receiver_that_fails_twice_gets_the_delivery_on_the_third_attempt(platform: Platform) -> None:
    request = assignment_request(
        channels=(NotificationChannel.WEBHOOK,),
        contact=NotificationContact(webhook_url=f"{platform.receiver_url}/hooks/flaky"),
    )
    await platform.request(request)
    delivered = await settled(platform, request, NotificationDelivered, channel=NotificationChannel.WEBHOOK)
    calls = platform.receiver.for_notification(request.notification_id)
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert all(c.signature_valid for c in calls)
    assert delivered.recipient_id == "S-104"
    assert not [e for e in await platform.events_of(request.case_id) if isinstance(e, NotificationFailed)]


async def test_channels_that_keep_failing_end_in_notification_failed_with_the_reason(platform: Platform) -> None:
    request = assignment_request(
        channels=(NotificationChannel.WEBHOOK, NotificationChannel.EMAIL, NotificationChannel.INBOX),
        contact=NotificationContact(email="nobody@peers.test", webhook_url=f"{platform.receiver_url}/hooks/down"),
    )
    await platform.request(request)
    webhook = await settled(platform, request, NotificationFailed, channel=NotificationChannel.WEBHOOK)
    assert (webhook.reason, webhook.attempts, webhook.detail) == ("webhook_rejected", MAX_ATTEMPTS, "HTTP 500")
    assert len(platform.receiver.for_notification(request.notification_id)) == MAX_ATTEMPTS
    mail = await settled(platform, request, NotificationFailed, channel=NotificationChannel.EMAIL)
    assert (mail.reason, mail.attempts) == ("smtp_rejected", 1)  # a 5yz reply is permanent: not retried
    assert mail.detail and mail.detail.startswith("550")
    await settled(platform, request, NotificationDelivered, channel=NotificationChannel.INBOX)

    no_address = assignment_request(contact=None)
    await platform.request(no_address)
    failed = await settled(platform, no_address, NotificationFailed)
    assert (failed.channel, failed.reason) == (NotificationChannel.EMAIL, "no_email_address")


async def test_a_notification_requested_twice_is_sent_once(platform: Platform) -> None:
    request = assignment_request(needs_acknowledgement=False, respond_by=None)
    await platform.request(request)
    await platform.request(request, event_id=str(uuid.uuid4()))  # the same notification, a new ce_id
    marker = assignment_request(case_id=request.case_id, needs_acknowledgement=False, respond_by=None)
    await platform.request(marker)  # same key, so consumed after both copies
    await emailed(platform, marker)
    await settled(platform, marker, NotificationDelivered)
    assert len(platform.mailbox.for_notification(request.notification_id)) == 1
    delivered = Counter(
        e.notification_id for e in await platform.events_of(request.case_id) if isinstance(e, NotificationDelivered)
    )
    assert delivered[request.notification_id] == 1
    _, message = platform.mailbox.for_notification(request.notification_id)[0]
    assert "/v1/ack/" not in message.get_content()  # no answer asked, no link to answer


async def test_a_summary_that_looks_like_phi_is_refused_and_nothing_is_sent(platform: Platform) -> None:
    request = assignment_request(summary="Ana Rivera, DOB 1980-04-02, F32.9: please mentor")
    await platform.request(request)
    failed = await settled(platform, request, NotificationFailed)
    assert failed.reason == "phi_suspected" and failed.detail == "looks like diagnosis_code, birth_date"
    assert "Ana" not in (failed.detail or "")
    assert platform.mailbox.for_notification(request.notification_id) == []


async def test_the_in_app_inbox_marks_read_and_takes_an_answer_behind_the_api_key(platform: Platform) -> None:
    recipient = f"S-{uuid.uuid4().hex[:6]}"
    request = assignment_request(recipient_id=recipient, channels=(NotificationChannel.INBOX,), contact=None)
    await platform.request(request)
    await settled(platform, request, NotificationDelivered, channel=NotificationChannel.INBOX)
    auth = {"Authorization": f"Bearer {API_KEY.split(':', 1)[1]}"}
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        assert (await client.get(f"/v1/inbox/{recipient}")).status_code == 401
        [entry] = (await client.get(f"/v1/inbox/{recipient}", headers=auth)).json()["messages"]
        assert entry["needs_acknowledgement"] is True and entry["read_at"] is None and entry["answered_at"] is None

        read = await client.post(f"/v1/inbox/{recipient}/{request.notification_id}/read", headers=auth)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        assert (await client.post(f"/v1/inbox/other/{request.notification_id}/read", headers=auth)).status_code == 404

        path = f"/v1/notifications/{request.notification_id}/acknowledge"
        assert (await client.post(path, json={"accepted": True})).status_code == 401
        answered = await client.post(path, json={"accepted": True}, headers=auth)
        assert answered.status_code == 200 and answered.json()["related_id"] == request.related_id
        assert (await client.post(path, json={"accepted": False}, headers=auth)).status_code == 409
        assert (
            await client.post("/v1/notifications/N-none/acknowledge", json={"accepted": True}, headers=auth)
        ).status_code == 404

        status_page = (await client.get(f"/v1/notifications/{request.notification_id}", headers=auth)).json()
        assert status_page["answered_via"] == "in_app" and status_page["accepted"] is True
    acknowledged = await settled(platform, request, NotificationAcknowledged)
    assert acknowledged.accepted is True and acknowledged.related_id == request.related_id
