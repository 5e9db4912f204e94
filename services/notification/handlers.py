"""Notification's use cases."""

from __future__ import annotations

from shared import outbox
from shared.clock import Clock
from shared.events import NotificationDelivered, NotificationRequested
from shared.events.notification import NotificationChannel
from shared.inbox import Delivery

from .db import InboxMessage

SOURCE = "/notification"


async def deliver_to_inbox(event: NotificationRequested, delivery: Delivery, *, clock: Clock) -> None:
    """Put the notification in the recipient's in-app inbox and report it delivered."""
    session, now = delivery.session, clock.now()
    if await session.get(InboxMessage, event.notification_id) is not None:
        return  # the same notification requested again under a new event id: deliver once
    session.add(
        InboxMessage(
            notification_id=event.notification_id,
            recipient_id=event.recipient_id,
            case_id=event.case_id,
            template=event.template,
            priority=event.priority,
            summary=event.summary,
            link=event.link,
            delivered_at=now,
        )
    )
    outbox.add(
        session,
        NotificationDelivered(
            case_id=event.case_id,
            notification_id=event.notification_id,
            recipient_id=event.recipient_id,
            channel=NotificationChannel.INBOX,
            delivered_at=now,
        ),
        source=SOURCE,
        now=now,
    )
