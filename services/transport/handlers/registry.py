"""The vendor registry (HTTP API and JSON import), the rides of a case, and rebooking a ride that did not happen."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlmodel import col, select

from shared.events.transport import RideStatus
from shared.runtime import ServiceRuntime

from ..db import Ride, TransportCase, Vendor
from ..domain import FINAL
from ..eligibility import VendorProfile
from ..settings import settings_of
from ..signatures import new_secret
from .rides import Context, latest_ride, new_ride
from .updates import UnknownRide, UnknownVendor

log = logging.getLogger(__name__)


class VendorRegistry(BaseModel):
    """The JSON import format: `{"vendors": [...]}` (TRANSPORT_VENDORS_FILE, POST /v1/vendors/import)."""

    vendors: list[VendorProfile] = Field(min_length=1)


class RebookRefused(ValueError):
    pass


async def register_vendors(runtime: ServiceRuntime, profiles: list[VendorProfile]) -> list[Vendor]:
    """Add or replace vendors by id; a vendor's webhook secret survives a re-registration."""
    now = runtime.clock.now()
    rows = []
    async with runtime.db.transaction() as session:
        for profile in profiles:
            row = await session.get(Vendor, profile.vendor_id) or Vendor(
                vendor_id=profile.vendor_id, profile={}, created_at=now, updated_at=now
            )
            row.profile = profile.model_dump(mode="json")
            row.active = profile.active
            row.priority = profile.priority
            row.updated_at = now
            session.add(row)
            rows.append(row)
    return rows


async def import_vendors_file(runtime: ServiceRuntime, path: Path) -> int:
    registry = VendorRegistry.model_validate_json(await asyncio.to_thread(path.read_bytes))
    await register_vendors(runtime, registry.vendors)
    log.info("imported %d vendors from %s", len(registry.vendors), path)
    return len(registry.vendors)


async def list_vendors(runtime: ServiceRuntime) -> list[Vendor]:
    async with runtime.db.sessions() as session:
        query = select(Vendor).order_by(col(Vendor.priority), col(Vendor.vendor_id))
        return list((await session.exec(query)).all())


async def find_vendor(runtime: ServiceRuntime, vendor_id: str) -> Vendor:
    async with runtime.db.sessions() as session:
        vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise UnknownVendor(vendor_id)
    return vendor


async def deactivate_vendor(runtime: ServiceRuntime, vendor_id: str) -> Vendor:
    """Kept, not deleted: rides it served still name it. It gets no new offers."""
    async with runtime.db.transaction() as session:
        vendor = await session.get(Vendor, vendor_id)
        if vendor is None:
            raise UnknownVendor(vendor_id)
        vendor.active = False
        vendor.profile = {**vendor.profile, "active": False}
        vendor.updated_at = runtime.clock.now()
        session.add(vendor)
    return vendor


async def issue_webhook_secret(runtime: ServiceRuntime, vendor_id: str) -> str:
    """A new secret for the vendor's signed updates; the old one stops working at once."""
    secret = new_secret()
    async with runtime.db.transaction() as session:
        vendor = await session.get(Vendor, vendor_id)
        if vendor is None:
            raise UnknownVendor(vendor_id)
        vendor.webhook_secret = secret
        vendor.updated_at = runtime.clock.now()
        session.add(vendor)
    return secret


async def rides_of_case(runtime: ServiceRuntime, case_id: str) -> list[Ride]:
    async with runtime.db.sessions() as session:
        query = select(Ride).where(col(Ride.case_id) == case_id).order_by(col(Ride.created_at), col(Ride.generation))
        return list((await session.exec(query)).all())


async def rebook(runtime: ServiceRuntime, ride_id: str, earliest_pickup: datetime | None) -> Ride:
    """A new ride for a leg that did not happen (no-show, failed, cancelled): will-call, or from a given time."""
    settings, now = settings_of(runtime), runtime.clock.now()
    rules = settings.window_rules
    async with runtime.db.transaction() as session:
        ride = await session.get(Ride, ride_id, with_for_update=True)
        if ride is None:
            raise UnknownRide(ride_id)
        case = await session.get(TransportCase, ride.case_id, with_for_update=True)
        spec = ride.spec
        if ride.ride_status not in FINAL or ride.ride_status is RideStatus.COMPLETED:
            raise RebookRefused(
                f"ride {ride_id} is {ride.status}: only a no-show, failed or cancelled ride is rebooked"
            )
        if case is None or case.status != "open" or spec is None:
            raise RebookRefused(f"ride {ride_id} has no open case or no places to rebook with")
        latest = await latest_ride(session, ride.case_id, ride.ride_leg, ride.appointment_id)
        if latest is not None and latest.ride_id != ride_id:
            raise RebookRefused(f"ride {ride_id} was already followed by ride {latest.ride_id}")
        if earliest_pickup is None:
            plan = spec.model_copy(
                update={"earliest_pickup": now, "latest_arrival": None, "pickup_deadline": None, "will_call": True}
            )
        else:
            start = max(earliest_pickup, now)
            deadline = start + rules.pickup_window
            plan = spec.model_copy(
                update={
                    "earliest_pickup": start,
                    "pickup_deadline": deadline,
                    "latest_arrival": deadline + rules.travel_allowance,
                    "will_call": False,
                }
            )
        rebooked = await new_ride(Context(session, now, settings), case, ride.ride_leg, ride.appointment_id, plan)
    runtime.relay.wake()
    return rebooked
