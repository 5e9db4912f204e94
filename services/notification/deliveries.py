"""Due work: send the outbound messages whose time has come, then record each as delivered, retried or failed.

Sending happens outside any transaction and never in the Kafka consumer: a slow SMTP server or webhook holds up
neither the partition nor the database. A claimed message is leased; if the process dies mid-send, the lease
runs out and the message is tried again (at-least-once; receivers dedupe by notification id and Message-ID).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
from sqlmodel import col, select

from shared import outbox
from shared.events import NotificationDelivered, NotificationFailed
from shared.events.notification import NotificationChannel
from shared.runtime import ServiceRuntime

from .channels import email_message, post_webhook, send_email
from .db import OutboundMessage
from .domain import Outcome, retry_delay, settle
from .handlers import SOURCE
from .settings import NotificationSettings, settings_of

BATCH = 50


async def deliver_due(runtime: ServiceRuntime) -> int:
    """One scheduler tick: attempt every due message (up to BATCH); returns how many were attempted."""
    settings, now = settings_of(runtime), runtime.clock.now()
    due = await _claim_due(runtime, settings, now)
    if not due:
        return 0
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_s) as client:
        outcomes = await asyncio.gather(*(_attempt(message, settings, client, now) for message in due))
    async with runtime.db.transaction() as session:
        finished = runtime.clock.now()
        for claimed, outcome in zip(due, outcomes, strict=True):
            message = await session.get(OutboundMessage, claimed.id)
            if message is None or message.status != "pending":
                continue
            verdict = settle(outcome, message.attempts, settings.delivery_max_attempts)
            message.last_reason, message.last_detail = outcome.reason, outcome.detail
            if verdict == "retry":
                message.next_attempt_at = finished + retry_delay(
                    message.attempts, settings.retry_base_s, settings.retry_max_s
                )
            else:
                message.status, message.settled_at, message.next_attempt_at = verdict, finished, None
                message.content = None  # the acknowledgement token leaves the database with the delivery
                outbox.add(session, _settled_event(message, outcome, finished), source=SOURCE, now=finished)
            session.add(message)
    return len(due)


async def _claim_due(runtime: ServiceRuntime, settings: NotificationSettings, now: datetime) -> list[OutboundMessage]:
    # Longer than one attempt can take, so a lease only runs out when its sender is gone.
    lease = timedelta(seconds=2 * max(settings.smtp_timeout_s, settings.webhook_timeout_s) + 5)
    async with runtime.db.transaction() as session:
        due = list(
            (
                await session.exec(
                    select(OutboundMessage)
                    .where(col(OutboundMessage.status) == "pending", col(OutboundMessage.next_attempt_at) <= now)
                    .order_by(col(OutboundMessage.next_attempt_at))
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)  # several instances: each message is claimed by one
                )
            ).all()
        )
        for message in due:
            message.attempts += 1
            message.next_attempt_at = now + lease
            session.add(message)
    return due


async def _attempt(
    message: OutboundMessage, settings: NotificationSettings, client: httpx.AsyncClient, now: datetime
) -> Outcome:
    content = message.content or ""
    if message.channel == NotificationChannel.EMAIL.value:
        email = email_message(
            settings, to=message.address, subject=message.subject, text=content, notification_id=message.notification_id
        )
        return await send_email(settings, email)
    secret = settings.webhook_secret_for(message.recipient_id)
    if secret is None:  # the secret was removed from the settings since the message was queued
        return Outcome(False, "no_webhook_secret", permanent=True)
    return await post_webhook(
        client,
        url=message.address,
        body=content.encode(),
        secret=secret.get_secret_value(),
        notification_id=message.notification_id,
        attempt=message.attempts,
        now=int(now.timestamp()),
    )


def _settled_event(
    message: OutboundMessage, outcome: Outcome, now: datetime
) -> NotificationDelivered | NotificationFailed:
    channel = NotificationChannel(message.channel)
    if outcome.reason is None:  # an Outcome without a reason is a delivery (Outcome.__post_init__)
        return NotificationDelivered(
            case_id=message.case_id,
            notification_id=message.notification_id,
            recipient_id=message.recipient_id,
            channel=channel,
            delivered_at=now,
        )
    return NotificationFailed(
        case_id=message.case_id,
        notification_id=message.notification_id,
        recipient_id=message.recipient_id,
        channel=channel,
        reason=outcome.reason,
        attempts=message.attempts,
        detail=outcome.detail,
    )
