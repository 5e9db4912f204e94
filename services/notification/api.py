"""Notification's HTTP API: the in-app inbox, delivery status and in-app answers (API key); acknowledgement links
(the one-time token is the credential).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from .db import InboxMessage, Notification, OutboundMessage
from .domain import AckRefusal
from .handlers import AnswerRefused, answer_by_token, answer_in_app, find_by_token, mark_read, refusal_of
from .templates import AckPage, ack_page

# An answer the rules refuse, as HTTP: 410 Gone for an expired link (RFC 9110 §15.5.11), 409 Conflict for one
# already answered or never asking.
REFUSAL_STATUS: dict[AckRefusal, int] = {
    "unknown": status.HTTP_404_NOT_FOUND,
    "not_asked": status.HTTP_409_CONFLICT,
    "answered": status.HTTP_409_CONFLICT,
    "expired": status.HTTP_410_GONE,
}
REFUSAL_TEXT: dict[AckRefusal, str] = {
    "unknown": "no such notification",
    "not_asked": "this notification does not ask for an answer",
    "answered": "this notification was already answered; the first answer counts",
    "expired": "the time to answer this notification has passed",
}
# The token is in the URL: keep it out of caches, search engines and the Referer of any link followed from the page
# (RFC 9111 §5.2.2.5 no-store; W3C Referrer Policy no-referrer).
LINK_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class InboxEntry(BaseModel):
    notification_id: str
    recipient_id: str
    case_id: str
    template: str
    priority: str
    summary: str
    link: str | None
    delivered_at: datetime
    read_at: datetime | None
    needs_acknowledgement: bool
    respond_by: datetime | None = Field(description="When the time to answer ends, if an answer is asked.")
    answered_at: datetime | None
    accepted: bool | None


class InboxPage(BaseModel):
    recipient_id: str
    messages: list[InboxEntry]


class ChannelStatus(BaseModel):
    channel: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_reason: str | None
    last_detail: str | None


class NotificationStatus(BaseModel):
    notification_id: str
    case_id: str
    recipient_id: str
    requested_at: datetime
    refused_reason: str | None
    outbound: list[ChannelStatus] = Field(description="Email and webhook deliveries; the inbox delivers at once.")
    needs_acknowledgement: bool
    respond_by: datetime | None
    answered_at: datetime | None
    accepted: bool | None
    answered_via: str | None


class AnswerIn(BaseModel):
    accepted: bool = Field(description="True to accept, false to decline.")


class AnswerOut(BaseModel):
    notification_id: str
    related_id: str | None
    accepted: bool
    responded_at: datetime


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["inbox"])

    @router.get("/inbox/{recipient_id}", summary="Notifications delivered to a recipient's in-app inbox, newest first")
    async def read_inbox(recipient_id: str, limit: int = 50) -> InboxPage:
        async with runtime.db.sessions() as session:
            rows = (
                await session.exec(
                    select(InboxMessage, Notification)
                    .join(Notification, col(Notification.notification_id) == col(InboxMessage.notification_id))
                    .where(col(InboxMessage.recipient_id) == recipient_id)
                    .order_by(col(InboxMessage.delivered_at).desc())
                    .limit(max(1, min(limit, 500)))
                )
            ).all()
        return InboxPage(recipient_id=recipient_id, messages=[_entry(message, about) for message, about in rows])

    @router.post(
        "/inbox/{recipient_id}/{notification_id}/read",
        summary="Mark an inbox message read (the first time counts)",
        responses={404: {"description": "No such message in this recipient's inbox"}},
    )
    async def read_message(recipient_id: str, notification_id: str) -> InboxEntry:
        message = await mark_read(runtime, recipient_id, notification_id)
        if message is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in this recipient's inbox")
        async with runtime.db.sessions() as session:
            about = await session.get(Notification, notification_id)
        if about is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such notification")
        return _entry(message, about)

    @router.get(
        "/notifications/{notification_id}",
        tags=["notifications"],
        summary="A notification's delivery per channel and its answer",
        responses={404: {"description": "No such notification"}},
    )
    async def notification_status(notification_id: str) -> NotificationStatus:
        async with runtime.db.sessions() as session:
            about = await session.get(Notification, notification_id)
            if about is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such notification")
            outbound = (
                await session.exec(
                    select(OutboundMessage).where(col(OutboundMessage.notification_id) == notification_id)
                )
            ).all()
        return NotificationStatus(
            notification_id=about.notification_id,
            case_id=about.case_id,
            recipient_id=about.recipient_id,
            requested_at=about.requested_at,
            refused_reason=about.refused_reason,
            outbound=[
                ChannelStatus.model_validate(message, from_attributes=True)
                for message in sorted(outbound, key=lambda m: m.channel)
            ],
            needs_acknowledgement=about.needs_acknowledgement,
            respond_by=about.answer_by,
            answered_at=about.answered_at,
            accepted=about.accepted,
            answered_via=about.answered_via,
        )

    @router.post(
        "/notifications/{notification_id}/acknowledge",
        tags=["notifications"],
        summary="Answer a notification from the in-app inbox: emits notification.acknowledged",
        responses={
            404: {"description": "No such notification"},
            409: {"description": "Already answered, or no answer asked"},
            410: {"description": "The time to answer has passed"},
        },
    )
    async def acknowledge(notification_id: str, answer: AnswerIn) -> AnswerOut:
        try:
            answered = await answer_in_app(runtime, notification_id, accepted=answer.accepted)
        except AnswerRefused as refused:
            raise HTTPException(REFUSAL_STATUS[refused.refusal], REFUSAL_TEXT[refused.refusal]) from None
        return AnswerOut(
            notification_id=notification_id,
            related_id=answered.notification.related_id,
            accepted=answered.accepted,
            responded_at=answered.responded_at,
        )

    return router


def build_ack_router(runtime: ServiceRuntime) -> APIRouter:
    """The routes an acknowledgement link opens. Not behind the API key: the recipient follows the link from an
    email, and the link's one-time token (256 random bits, stored hashed, single use, expiring) is the credential.
    """
    router = APIRouter(prefix="/v1/ack", tags=["acknowledgement links"])

    @router.get(
        "/{token}",
        response_class=HTMLResponse,
        summary="The page an acknowledgement link opens: asks for the answer, changes nothing",
        responses={
            404: {"description": "Unknown link"},
            409: {"description": "Already used"},
            410: {"description": "Expired"},
        },
    )
    async def ask(token: str, answer: Literal["accept", "decline"] | None = None) -> HTMLResponse:
        notification = await find_by_token(runtime, token)
        refusal = refusal_of(notification, runtime.clock.now())
        if refusal is not None or notification is None:
            return _refusal_page(refusal or "unknown", notification)
        page = ack_page("ask", language=notification.language, title=notification.subject, answer=answer)
        return HTMLResponse(page, headers=LINK_PAGE_HEADERS)

    @router.post(
        "/{token}",
        response_class=HTMLResponse,
        summary="Record the answer (accept or decline) once: emits notification.acknowledged",
        responses={
            404: {"description": "Unknown link"},
            409: {"description": "Already used"},
            410: {"description": "Expired"},
        },
    )
    async def record_answer(token: str, answer: Literal["accept", "decline"]) -> HTMLResponse:
        try:
            answered = await answer_by_token(runtime, token, accepted=answer == "accept")
        except AnswerRefused as refused:
            return _refusal_page(refused.refusal, refused.notification)
        notification = answered.notification
        done: AckPage = "accepted" if answered.accepted else "declined"
        page = ack_page(done, language=notification.language, title=notification.subject)
        return HTMLResponse(page, headers=LINK_PAGE_HEADERS)

    return router


def _refusal_page(refusal: AckRefusal, notification: Notification | None) -> HTMLResponse:
    language = notification.language if notification else "en"
    title = notification.subject if notification else "Discharge coordination"
    when = None
    if notification is not None:
        when = notification.answered_at if refusal == "answered" else notification.answer_by
    accepted = notification.accepted if notification else None
    page = ack_page(refusal, language=language, title=title, accepted=accepted, when=when)
    return HTMLResponse(page, status_code=REFUSAL_STATUS[refusal], headers=LINK_PAGE_HEADERS)


def _entry(message: InboxMessage, about: Notification) -> InboxEntry:
    return InboxEntry(
        **message.model_dump(),
        needs_acknowledgement=about.needs_acknowledgement,
        respond_by=about.answer_by,
        answered_at=about.answered_at,
        accepted=about.accepted,
    )
