"""Transport's HTTP API: the vendor registry, a case's rides, rebooking (API key); and vendors' signed ride updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from shared.envelope import DecodeError
from shared.events.transport import Leg, RideStatus
from shared.runtime import ServiceRuntime

from .db import Ride, Vendor
from .eligibility import VendorProfile
from .handlers.registry import (
    RebookRefused,
    VendorRegistry,
    deactivate_vendor,
    find_vendor,
    issue_webhook_secret,
    list_vendors,
    rebook,
    register_vendors,
    rides_of_case,
)
from .handlers.updates import NotYourRide, UnknownRide, UnknownVendor, accept_signed_update
from .signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureRefused

WEBHOOK_MEDIA_TYPE = "application/cloudevents+json"


class VendorOut(VendorProfile):
    has_webhook_secret: bool = Field(description="Whether signed updates can be verified for this vendor.")


class ImportResult(BaseModel):
    imported: int


class WebhookSecret(BaseModel):
    vendor_id: str
    secret: str = Field(description="Shown once. Sign updates: HMAC-SHA256 over '<unix time>.<body>', hex.")
    timestamp_header: str = TIMESTAMP_HEADER
    signature_header: str = SIGNATURE_HEADER


class RideOut(BaseModel):
    ride_id: str
    case_id: str
    leg: Leg
    appointment_id: str | None
    status: RideStatus
    vendor_id: str | None
    tried_vendors: list[str]
    earliest_pickup: datetime | None
    latest_arrival: datetime | None
    pickup_deadline: datetime | None
    will_call: bool | None
    eta: datetime | None
    detail: str | None
    updated_at: datetime


class RebookIn(BaseModel):
    earliest_pickup: datetime | None = Field(None, description="Pick up from this time; none books a will-call ride.")


def build_router(runtime: ServiceRuntime) -> APIRouter:
    """Routes behind the service API key (build_http_app guards them)."""
    router = APIRouter()

    @router.get("/v1/vendors", tags=["vendors"], summary="The vendor registry, in offer order")
    async def get_vendors() -> list[VendorOut]:
        return [_vendor_out(v) for v in await list_vendors(runtime)]

    @router.get("/v1/vendors/{vendor_id}", tags=["vendors"], summary="One vendor")
    async def get_vendor(vendor_id: str) -> VendorOut:
        try:
            return _vendor_out(await find_vendor(runtime, vendor_id))
        except UnknownVendor as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vendor {vendor_id}") from error

    @router.put("/v1/vendors/{vendor_id}", tags=["vendors"], summary="Register or replace a vendor")
    async def put_vendor(vendor_id: str, body: VendorProfile) -> VendorOut:
        if body.vendor_id != vendor_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "vendor_id in the body differs from the path")
        (row,) = await register_vendors(runtime, [body])
        return _vendor_out(row)

    @router.delete(
        "/v1/vendors/{vendor_id}",
        tags=["vendors"],
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Deactivate a vendor: no new offers (kept for the rides it served)",
    )
    async def delete_vendor(vendor_id: str) -> Response:
        try:
            await deactivate_vendor(runtime, vendor_id)
        except UnknownVendor as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vendor {vendor_id}") from error
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/v1/vendors/import", tags=["vendors"], summary="Register or replace vendors from a JSON registry")
    async def import_vendors(body: VendorRegistry) -> ImportResult:
        return ImportResult(imported=len(await register_vendors(runtime, body.vendors)))

    @router.put(
        "/v1/vendors/{vendor_id}/webhook-secret",
        tags=["vendors"],
        summary="Issue the vendor's secret for signing ride updates (replaces the old one)",
    )
    async def put_webhook_secret(vendor_id: str) -> WebhookSecret:
        try:
            secret = await issue_webhook_secret(runtime, vendor_id)
        except UnknownVendor as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vendor {vendor_id}") from error
        return WebhookSecret(vendor_id=vendor_id, secret=secret)

    @router.get("/v1/cases/{case_id}/rides", tags=["rides"], summary="A case's rides and where each stands")
    async def get_rides(case_id: str) -> list[RideOut]:
        return [_ride_out(r) for r in await rides_of_case(runtime, case_id)]

    @router.post(
        "/v1/rides/{ride_id}/rebook",
        tags=["rides"],
        status_code=status.HTTP_201_CREATED,
        summary="Book the leg again after a no-show, a failure or a cancellation",
        responses={409: {"description": "the ride is not over, was already rebooked, or its case is closed"}},
    )
    async def post_rebook(ride_id: str, body: RebookIn | None = None) -> RideOut:
        try:
            ride = await rebook(runtime, ride_id, body.earliest_pickup if body else None)
        except UnknownRide as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ride {ride_id}") from error
        except RebookRefused as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        return _ride_out(ride)

    return router


def build_webhook_router(runtime: ServiceRuntime) -> APIRouter:
    """Vendors' signed ride updates. Mounted outside the API-key guard: the signature is the credential."""
    router = APIRouter(tags=["vendors"])

    @router.post(
        "/v1/vendors/{vendor_id}/ride-updates",
        summary="A vendor's ride update, signed (CloudEvents structured JSON; see docs/transport.md)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {WEBHOOK_MEDIA_TYPE: {"schema": {"type": "object"}}, "application/json": {}},
            }
        },
        responses={
            401: {"description": "missing, malformed, stale or wrong signature"},
            403: {"description": "the update names another vendor, or a ride never offered to this one"},
            404: {"description": "no such vendor or ride"},
            422: {"description": "not a CloudEvent carrying a ride update"},
        },
    )
    async def post_ride_update(vendor_id: str, request: Request) -> RideOut:
        try:
            ride = await accept_signed_update(
                runtime,
                vendor_id,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                await request.body(),
            )
        except SignatureRefused as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, {"error": error.reason}) from error
        except NotYourRide as error:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
        except (UnknownVendor, UnknownRide) as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown {error}") from error
        except DecodeError as error:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, {"error": error.reason, "detail": error.detail}
            ) from error
        return _ride_out(ride)

    return router


def _vendor_out(vendor: Vendor) -> VendorOut:
    return VendorOut(**vendor.vendor_profile.model_dump(), has_webhook_secret=vendor.webhook_secret is not None)


def _ride_out(ride: Ride) -> RideOut:
    spec = ride.spec
    fields: dict[str, Any] = {
        "earliest_pickup": spec.earliest_pickup if spec else None,
        "latest_arrival": spec.latest_arrival if spec else None,
        "will_call": spec.will_call if spec else None,
    }
    return RideOut(
        ride_id=ride.ride_id,
        case_id=ride.case_id,
        leg=ride.ride_leg,
        appointment_id=ride.appointment_id,
        status=ride.ride_status,
        vendor_id=ride.vendor_id,
        tried_vendors=list(ride.tried_vendors),
        pickup_deadline=ride.pickup_deadline,
        eta=ride.eta,
        detail=ride.detail,
        updated_at=ride.updated_at,
        **fields,
    )
