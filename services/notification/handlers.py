"""Notification's use cases: take a request (inbox now, email and webhook as due work), take an answer, mark read."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import NotificationAcknowledged, NotificationDelivered, NotificationFailed, NotificationRequested
from shared.events.common import Priority
from shared.events.notification import NotificationChannel, NotificationFailureReason
from shared.inbox import Delivery
from shared.runtime import ServiceRuntime

from .db import InboxMessage, Notification, OutboundMessage
from .domain import (
    AckRefusal,
    AnswerState,
    ack_expiry,
    ack_refusal,
    case_ref,
    hash_ack_token,
    new_ack_token,
    phi_findings,
)
from .settings import NotificationSettings, settings_of
from .templates import MessageFacts, RenderedMessage, render, supported_language

SOURCE = "/notification"
log = logging.getLogger(__name__)


async def take_request(event: NotificationRequested, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """Deliver to the in-app inbox at once; queue email and webhook messages for the delivery tick."""
    settings, session, now = settings_of(runtime), delivery.session, runtime.clock.now()
    if await session.get(Notification, event.notification_id) is not None:
        return  # the same notification requested again under a new event id: deliver once
    channels = tuple(dict.fromkeys(event.channels))
    record = Notification(
        notification_id=event.notification_id,
        case_id=event.case_id,
        recipient_id=event.recipient_id,
        recipient_role=event.recipient_role,
        template=event.template,
        language=supported_language(event.language),
        subject="",
        related_id=event.related_id,
        needs_acknowledgement=event.needs_acknowledgement,
        requested_at=now,
    )
    findings = phi_findings(event.summary, event.link)
    if findings:
        # Ids and the kinds found only: the summary itself may be the PHI.
        log.warning("notification %s refused: looks like %s", event.notification_id, ", ".join(findings))
        record.refused_reason = "phi_suspected"
        session.add(record)
        for channel in channels:
            _fail(session, event, channel, "phi_suspected", f"looks like {', '.join(findings)}", now)
        return
    token = None
    if event.needs_acknowledgement:
        record.answer_by = ack_expiry(event.respond_by, now, settings.ack_default_ttl)
        if {NotificationChannel.EMAIL, NotificationChannel.WEBHOOK} & set(channels):
            token, record.ack_token_hash = new_ack_token()
    facts = _facts(event, settings, token, record.answer_by)
    message = render(facts)
    record.subject = message.subject
    session.add(record)
    for channel in channels:
        if channel is NotificationChannel.INBOX:
            _deliver_to_inbox(session, event, now)
            continue
        address, problem = _address(event, channel, settings)
        if problem is not None:
            _fail(session, event, channel, problem, None, now)
            continue
        content = message.text if channel is NotificationChannel.EMAIL else _webhook_document(event, message, facts)
        session.add(
            OutboundMessage(
                notification_id=event.notification_id,
                case_id=event.case_id,
                recipient_id=event.recipient_id,
                channel=channel.value,
                address=address,
                subject=message.subject,
                content=content,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _facts(
    event: NotificationRequested, settings: NotificationSettings, token: str | None, answer_by: datetime | None
) -> MessageFacts:
    ack_url = f"{settings.ack_base_url}/v1/ack/{token}" if token else None
    return MessageFacts(
        template=event.template,
        language=event.language,
        case_ref=case_ref(event.case_id),
        summary=event.summary,
        urgent=event.priority is Priority.URGENT,
        dashboard_url=dashboard_url(settings, event.case_id, event.link),
        accept_url=f"{ack_url}?answer=accept" if ack_url else None,
        decline_url=f"{ack_url}?answer=decline" if ack_url else None,
        respond_by=answer_by,
    )


def dashboard_url(settings: NotificationSettings, case_id: str, link: str | None) -> str:
    """The request's link on the dashboard (a path joins the dashboard's base), else the case's page."""
    return urljoin(settings.dashboard_base_url.rstrip("/") + "/", (link or f"/cases/{case_id}").lstrip("/"))


def _address(
    event: NotificationRequested, channel: NotificationChannel, settings: NotificationSettings
) -> tuple[str, NotificationFailureReason | None]:
    contact = event.contact
    if channel is NotificationChannel.EMAIL:
        if contact is None or not contact.email:
            return "", "no_email_address"
        return contact.email, None if settings.smtp_host else "email_not_configured"
    if contact is None or not contact.webhook_url:
        return "", "no_webhook_url"
    # Nothing unsigned leaves: a receiver could not tell it from a forgery.
    return contact.webhook_url, None if settings.webhook_secret_for(event.recipient_id) else "no_webhook_secret"


def _webhook_document(event: NotificationRequested, message: RenderedMessage, facts: MessageFacts) -> str:
    """The webhook's JSON body: the rendered message and its links, with ids for the receiver's deduplication."""
    return json.dumps(
        {
            "notification_id": event.notification_id,
            "case_id": event.case_id,
            "recipient_id": event.recipient_id,
            "recipient_role": event.recipient_role,
            "related_id": event.related_id,
            "template": message.template,
            "language": message.language,
            "priority": event.priority.value,
            "subject": message.subject,
            "text": message.text,
            "link": facts.dashboard_url,
            "acknowledgement": None
            if facts.accept_url is None
            else {
                "accept_url": facts.accept_url,
                "decline_url": facts.decline_url,
                "respond_by": facts.respond_by.isoformat() if facts.respond_by else None,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _deliver_to_inbox(session: AsyncSession, event: NotificationRequested, now: datetime) -> None:
    session.add(
        InboxMessage(
            notification_id=event.notification_id,
            recipient_id=event.recipient_id,
            case_id=event.case_id,
            template=event.template,
            priority=event.priority.value,
            summary=event.summary,
            link=event.link,
            delivered_at=now,
        )
    )
    delivered = NotificationDelivered(
        case_id=event.case_id,
        notification_id=event.notification_id,
        recipient_id=event.recipient_id,
        channel=NotificationChannel.INBOX,
        delivered_at=now,
    )
    outbox.add(session, delivered, source=SOURCE, now=now)


def _fail(
    session: AsyncSession,
    event: NotificationRequested,
    channel: NotificationChannel,
    reason: NotificationFailureReason,
    detail: str | None,
    now: datetime,
) -> None:
    failed = NotificationFailed(
        case_id=event.case_id,
        notification_id=event.notification_id,
        recipient_id=event.recipient_id,
        channel=channel,
        reason=reason,
        attempts=1,
        detail=detail,
    )
    outbox.add(session, failed, source=SOURCE, now=now)


class AnswerRefused(Exception):
    def __init__(self, refusal: AckRefusal, notification: Notification | None) -> None:
        super().__init__(refusal)
        self.refusal: AckRefusal = refusal
        self.notification = notification


@dataclass(frozen=True, slots=True)
class Answered:
    notification: Notification
    accepted: bool
    responded_at: datetime


async def find_by_token(runtime: ServiceRuntime, token: str) -> Notification | None:
    async with runtime.db.sessions() as session:
        query = select(Notification).where(col(Notification.ack_token_hash) == hash_ack_token(token))
        return (await session.exec(query)).first()


def refusal_of(notification: Notification | None, now: datetime) -> AckRefusal | None:
    state = None
    if notification is not None and notification.refused_reason is None:  # a refused one was never sent
        state = AnswerState(notification.needs_acknowledgement, notification.answer_by, notification.answered_at)
    return ack_refusal(state, now)


async def answer_by_token(runtime: ServiceRuntime, token: str, *, accepted: bool) -> Answered:
    """The recipient's answer from the link in their message; the token is the credential, good for one answer."""
    notification = await find_by_token(runtime, token)
    return await _answer(runtime, notification, accepted=accepted, via="link")


async def answer_in_app(runtime: ServiceRuntime, notification_id: str, *, accepted: bool) -> Answered:
    async with runtime.db.sessions() as session:
        notification = await session.get(Notification, notification_id)
    return await _answer(runtime, notification, accepted=accepted, via="in_app")


async def _answer(runtime: ServiceRuntime, notification: Notification | None, *, accepted: bool, via: str) -> Answered:
    now = runtime.clock.now()
    refusal = refusal_of(notification, now)
    if refusal is not None or notification is None:
        raise AnswerRefused(refusal or "unknown", notification)
    async with runtime.db.transaction() as session:
        # A conditional update, not read-then-write: of two answers racing, exactly one finds the row unanswered.
        taken = await session.exec(
            update(Notification)
            .where(
                col(Notification.notification_id) == notification.notification_id,
                col(Notification.answered_at).is_(None),
            )
            .values(answered_at=now, accepted=accepted, answered_via=via)
        )
        if taken.rowcount != 1:
            raise AnswerRefused("answered", await session.get(Notification, notification.notification_id))
        acknowledged = NotificationAcknowledged(
            case_id=notification.case_id,
            notification_id=notification.notification_id,
            recipient_id=notification.recipient_id,
            related_id=notification.related_id,
            accepted=accepted,
            responded_at=now,
        )
        outbox.add(session, acknowledged, source=SOURCE, now=now)
    runtime.relay.wake()
    return Answered(notification, accepted, now)


async def mark_read(runtime: ServiceRuntime, recipient_id: str, notification_id: str) -> InboxMessage | None:
    """Mark an inbox message read (the first time counts); None when the recipient has no such message."""
    async with runtime.db.transaction() as session:
        message = await session.get(InboxMessage, notification_id)
        if message is None or message.recipient_id != recipient_id:
            return None
        if message.read_at is None:
            message.read_at = runtime.clock.now()
            session.add(message)
    return message
