"""Answers heard back through the notification service: a specialist accepting or declining, a crisis acknowledged."""

from __future__ import annotations

from shared.events import NotificationAcknowledged
from shared.inbox import Delivery

from ..db import CrisisRecord, SupervisorRecord
from .context import AssignmentContext
from .crises import acknowledge_crisis
from .offers import answer_offer, offer_awaiting


async def answer_notification(event: NotificationAcknowledged, delivery: Delivery, *, ctx: AssignmentContext) -> None:
    """An answer to a crisis alert acknowledges the crisis; an answer to an offer accepts or declines it.

    Late answers (the offer already timed out or went to someone else) change nothing: the case has moved on.
    """
    session = delivery.session
    crisis = await session.get(CrisisRecord, event.related_id, with_for_update=True) if event.related_id else None
    if crisis is not None:
        # Declining a crisis alert ("I cannot take it") must not stop the alerts: only an acceptance does.
        if event.accepted:
            supervisor = await session.get(SupervisorRecord, event.recipient_id)
            role = "supervisor" if supervisor is not None else "specialist"
            await acknowledge_crisis(session, ctx, crisis, f"{role}:{event.recipient_id}")
        return
    awaiting = await offer_awaiting(session, event.notification_id)
    if awaiting is not None and awaiting[1].specialist_id == event.recipient_id:
        assignment, offer = awaiting
        await answer_offer(session, ctx, assignment, offer, event.accepted)
