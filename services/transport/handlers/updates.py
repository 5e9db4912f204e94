"""What vendors say about their rides, on transport.ride-updates or by signed webhook: one state machine for both."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.envelope import DecodeError, Envelope, decode
from shared.events import RideDriverAssigned
from shared.events.transport import RideStatus, RideUpdate
from shared.inbox import Delivery, InboxRecord
from shared.runtime import ServiceRuntime

from ..db import Ride, TransportCase, Vendor
from ..domain import FINAL, vendor_answer
from ..settings import settings_of
from ..signatures import verify
from .rides import LEG_WORDS, Context, announce, notify_specialist, offer_next

log = logging.getLogger(__name__)
WEBHOOK_TOPIC = "webhook:/v1/vendors/ride-updates"  # where the inbox records a webhook delivery came from


class UnknownVendor(LookupError):
    pass


class UnknownRide(LookupError):
    pass


class NotYourRide(PermissionError):
    """The update names another vendor, or a ride this vendor does not hold."""


async def record_vendor_update(update: RideUpdate, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """Move the ride by the state machine; a vendor leaving it passes the offer to the next eligible vendor."""
    session, now = delivery.session, runtime.clock.now()
    ride = await session.get(Ride, update.ride_id, with_for_update=True)
    if ride is None or ride.case_id != update.case_id:
        # Another deployment's ride, or one this database never held: nothing here to move. Vendors posting by
        # webhook get a 404 for it instead.
        log.info("ignoring %s for unknown ride %s", update.ce_type, update.ride_id)
        return
    if update.vendor_id != ride.vendor_id:
        log.info(
            "ignoring %s for ride %s from %s, which no longer holds it", update.ce_type, ride.ride_id, update.vendor_id
        )
        return
    move = vendor_answer(ride.ride_status, update)
    ctx = Context(session, now, settings_of(runtime))
    if move.kind == "ignore":
        log.info("ignoring %s for ride %s: %s", update.ce_type, ride.ride_id, move.why)
        return
    ride.offer_deadline = None
    if move.kind == "reoffer":
        announce(ctx, ride, RideStatus.REJECTED, move.why)
        case = await session.get(TransportCase, ride.case_id, with_for_update=True)
        if case is None:
            raise LookupError(f"ride {ride.ride_id} belongs to no case")
        await offer_next(ctx, case, ride, detail=f"offered to the next vendor after {move.why}")
        return
    status = move.status or ride.ride_status
    if isinstance(update, RideDriverAssigned):
        ride.eta = update.eta
    if status is not RideStatus.ACCEPTED:
        ride.pickup_deadline = None  # a driver is on it (or it is over): no missed-pickup check any more
    announce(ctx, ride, status, _detail(update))
    if status is RideStatus.NO_SHOW:
        await notify_specialist(
            ctx,
            ride,
            "ride.no-show",
            f"The rider was not at the pickup for the {LEG_WORDS[ride.ride_leg]} ({ride.ride_id}). "
            f"Rebook it from the case page (POST /v1/rides/{ride.ride_id}/rebook).",
        )
    if status in FINAL:
        ride.offer_deadline = ride.pickup_deadline = None


def _detail(update: RideUpdate) -> str | None:
    if isinstance(update, RideDriverAssigned):
        parts = [p for p in (update.driver_name, update.vehicle) if p]
        return f"driver assigned: {', '.join(parts)}" if parts else "driver assigned"
    return None


class StructuredCloudEvent(BaseModel):
    """CloudEvents 1.0 JSON (structured content mode): what a vendor posts to the webhook."""

    model_config = ConfigDict(extra="ignore")

    specversion: str
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    type: str
    time: str
    subject: str = Field(description="The case id, as in the ride request.")
    datacontenttype: str = "application/json"
    data: dict[str, object]


def decode_structured(body: bytes) -> tuple[Envelope, RideUpdate]:
    """The webhook body as the envelope and typed ride update, validated as the Kafka path validates them."""
    try:
        event = StructuredCloudEvent.model_validate_json(body)
    except ValidationError as error:
        raise DecodeError("invalid_envelope", str(error.errors(include_url=False)[:3])) from error
    headers = {
        "ce_specversion": event.specversion,
        "ce_id": event.id,
        "ce_source": event.source,
        "ce_type": event.type,
        "ce_time": event.time,
        "ce_subject": event.subject,
        "content-type": event.datacontenttype,
    }
    envelope, update = decode(headers, json.dumps(event.data).encode())
    if not isinstance(update, RideUpdate):
        raise DecodeError("unknown_event_type", f"{event.type} is not a ride update a vendor sends")
    return envelope, update


async def accept_signed_update(
    runtime: ServiceRuntime, vendor_id: str, timestamp: str | None, signature: str | None, body: bytes
) -> Ride:
    """A vendor's webhook: verify its signature, then apply the update once per ce id (the inbox, as on Kafka)."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.sessions() as session:
        vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise UnknownVendor(vendor_id)
    verify(vendor.webhook_secret, timestamp, signature, body, now=now, window_s=settings.webhook_replay_window_s)
    envelope, update = decode_structured(body)
    if update.vendor_id != vendor_id:
        raise NotYourRide(f"the update is signed by {vendor_id} but names {update.vendor_id}")
    async with runtime.db.transaction() as session:
        ride = await session.get(Ride, update.ride_id)
        if ride is None or ride.case_id != update.case_id:
            raise UnknownRide(update.ride_id)
        if vendor_id not in ride.tried_vendors:
            raise NotYourRide(f"ride {update.ride_id} was never offered to {vendor_id}")
        if await session.get(InboxRecord, envelope.id) is None:
            await record_vendor_update(update, Delivery(envelope=envelope, session=session), runtime=runtime)
            session.add(
                InboxRecord(
                    event_id=envelope.id,
                    ce_type=envelope.type,
                    topic=WEBHOOK_TOPIC,
                    partition=0,
                    offset=0,
                    processed_at=datetime.now(UTC),
                )
            )
    runtime.relay.wake()
    return ride
