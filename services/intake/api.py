"""Intake's JSON API: POST a discharge (registered, pending, update, cancel) → 202 with its case id."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from shared.http import json_body_schema, read_json_body
from shared.runtime import ServiceRuntime

from .domain import CancelRequest, DischargeRequest, Submission, cancel_event, discharge_event
from .handlers import accept
from .senders import SenderRefused


class AcceptedResponse(BaseModel):
    case_id: str
    event_type: str | None = None  # None: kept, but nothing to act on (an admit that is no readmission, a transfer)
    duplicate: bool
    event_id: str | None = None


@contextmanager
def refused_as_403() -> Iterator[None]:
    """A key bound to other facilities gets 403 naming the field, as a validation error names its field."""
    try:
        yield
    except SenderRefused as refused:
        raise HTTPException(status.HTTP_403_FORBIDDEN, [{"field": "facility.id", "message": str(refused)}]) from None


def build_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/discharges", tags=["discharges"])
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    async def submit(request: Request, principal: str, kind: Submission) -> AcceptedResponse:
        raw = await request.body()
        body = await read_json_body(request, DischargeRequest)
        with refused_as_403():
            result = await accept(
                runtime,
                event=discharge_event(body, kind),
                channel="json",
                sender=principal,
                message_id=body.request_id,
                raw=raw,
                content_type="application/json",
            )
        return AcceptedResponse(**result.__dict__)

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        openapi_extra=json_body_schema(DischargeRequest),
        summary="The patient was discharged (like HL7 A03)",
    )
    async def post_discharge(request: Request, principal: Principal) -> AcceptedResponse:
        return await submit(request, principal, Submission.REGISTERED)

    @router.post(
        "/pending",
        status_code=status.HTTP_202_ACCEPTED,
        openapi_extra=json_body_schema(DischargeRequest),
        summary="A discharge is planned (like HL7 A16)",
    )
    async def post_pending(request: Request, principal: Principal) -> AcceptedResponse:
        return await submit(request, principal, Submission.PENDING)

    @router.post(
        "/update",
        status_code=status.HTTP_202_ACCEPTED,
        openapi_extra=json_body_schema(DischargeRequest),
        summary="Details changed (like HL7 A08)",
    )
    async def post_update(request: Request, principal: Principal) -> AcceptedResponse:
        return await submit(request, principal, Submission.UPDATED)

    @router.post(
        "/cancel",
        status_code=status.HTTP_202_ACCEPTED,
        openapi_extra=json_body_schema(CancelRequest),
        summary="The discharge (A13) or pending discharge (A25) is cancelled",
    )
    async def post_cancel(request: Request, principal: Principal) -> AcceptedResponse:
        raw = await request.body()
        body = await read_json_body(request, CancelRequest)
        with refused_as_403():
            result = await accept(
                runtime,
                event=cancel_event(body),
                channel="json",
                sender=principal,
                message_id=body.request_id,
                raw=raw,
                content_type="application/json",
            )
        return AcceptedResponse(**result.__dict__)

    return router
