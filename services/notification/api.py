"""Notification's HTTP API: a recipient's in-app inbox."""

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from .db import InboxMessage


class InboxPage(BaseModel):
    recipient_id: str
    messages: list[InboxMessage]


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

    @router.get("/{recipient_id}", summary="Notifications delivered to a recipient's in-app inbox, newest first")
    async def read_inbox(recipient_id: str, limit: int = 50) -> InboxPage:
        async with runtime.db.sessions() as session:
            rows = (
                await session.exec(
                    select(InboxMessage)
                    .where(col(InboxMessage.recipient_id) == recipient_id)
                    .order_by(col(InboxMessage.delivered_at).desc())
                    .limit(min(limit, 500))
                )
            ).all()
        return InboxPage(recipient_id=recipient_id, messages=list(rows))

    return router
