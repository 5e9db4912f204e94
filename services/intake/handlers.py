"""Intake's use cases: archive the raw input and stage the resulting event, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from shared import outbox
from shared.events import Event
from shared.runtime import ServiceRuntime

from .db import ReceivedMessage
from .domain import content_digest


@dataclass(frozen=True)
class Accepted:
    case_id: str
    event_id: str | None
    event_type: str
    duplicate: bool


async def accept(
    runtime: ServiceRuntime,
    *,
    event: Event,
    channel: str,
    sender: str,
    message_id: str,
    raw: bytes,
    content_type: str,
) -> Accepted:
    """Archive `raw` and stage `event`; a resend (same sender, id and content) is archived but emits nothing."""
    digest = content_digest(raw)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        earlier = (
            await session.exec(
                select(ReceivedMessage).where(
                    col(ReceivedMessage.channel) == channel,
                    col(ReceivedMessage.sender) == sender,
                    col(ReceivedMessage.message_id) == message_id,
                    col(ReceivedMessage.outcome) == "accepted",
                    col(ReceivedMessage.content_sha256) == digest,
                )
            )
        ).first()
        duplicate = earlier is not None
        event_id = None
        if not duplicate:
            event_id = outbox.add(session, event, source=f"/{runtime.name}", now=now).event_id
        session.add(
            ReceivedMessage(
                received_at=now,
                channel=channel,
                sender=sender,
                message_id=message_id,
                content_sha256=digest,
                content_type=content_type,
                raw=raw,
                outcome="duplicate" if duplicate else "accepted",
                case_id=event.case_id,
                event_type=type(event).ce_type,
            )
        )
    if not duplicate:
        runtime.relay.wake()
    return Accepted(case_id=event.case_id, event_id=event_id, event_type=type(event).ce_type, duplicate=duplicate)
