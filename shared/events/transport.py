"""transport.ride-requests (vendor-facing), transport.ride-updates (vendor-sent) and transport.events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Place, Value


class ServiceLevel(StrEnum):
    AMBULATORY = "ambulatory"
    WHEELCHAIR = "wheelchair"
    WHEELCHAIR_TRANSFER = "wheelchair_transfer"
    STRETCHER = "stretcher"
    BLS = "bls"
    ALS = "als"


class Leg(StrEnum):
    HOME = "home"
    TO_APPOINTMENT = "to_appointment"
    FROM_APPOINTMENT = "from_appointment"


class Rider(Value):
    first_name: str
    last_name: str
    phone: str | None = None
    language: str | None = None


class RidePayer(Value):
    kind: str = Field(examples=["medicaid_nemt", "other"])
    member_id: str | None = None


class RideRequested(Event):
    """Offered to one NEMT vendor. Minimum necessary: nothing clinical, no DOB, no MRN, no unit."""

    ce_type = "ride.requested.v1"
    topic = "transport.ride-requests"
    ride_id: str
    vendor_id: str
    leg: Leg
    pickup: Place
    dropoff: Place
    earliest_pickup: datetime | None = None
    latest_arrival: datetime | None = None
    will_call: bool = False
    round_trip: bool = False
    service_level: ServiceLevel = ServiceLevel.AMBULATORY
    escort_count: int = Field(0, ge=0, le=4)
    equipment_notes: str | None = Field(None, max_length=200)
    rider: Rider
    payer: RidePayer | None = None
    notify_contact_phone: str | None = Field(None, description="The peer specialist's phone.")
    idempotency_key: str


class RideCancelRequested(Event):
    ce_type = "ride.cancel-requested.v1"
    topic = "transport.ride-requests"
    ride_id: str
    vendor_id: str
    reason: str = Field(examples=["discharge_cancelled", "rescheduled"])


class RideUpdate(Event):
    """Base of what vendors send back on transport.ride-updates."""

    topic = "transport.ride-updates"
    ride_id: str
    vendor_id: str
    at: datetime


class RideAccepted(RideUpdate):
    ce_type = "ride.accepted.v1"


class RideDriverAssigned(RideUpdate):
    ce_type = "ride.driver-assigned.v1"
    driver_name: str | None = None
    vehicle: str | None = None
    eta: datetime | None = None


class RidePickedUp(RideUpdate):
    ce_type = "ride.picked-up.v1"


class RideCompleted(RideUpdate):
    ce_type = "ride.completed.v1"


class RideCancelled(RideUpdate):
    ce_type = "ride.cancelled.v1"
    reason: str | None = None


class RideNoShow(RideUpdate):
    ce_type = "ride.no-show.v1"


class RideRejected(RideUpdate):
    ce_type = "ride.rejected.v1"
    reason: str | None = None


class RideStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DRIVER_ASSIGNED = "driver_assigned"
    PICKED_UP = "picked_up"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    REJECTED = "rejected"
    FAILED = "failed"


class RideStatusChanged(Event):
    """The platform's own view of a ride, for the coordinator and appointment services."""

    ce_type = "ride.status-changed.v1"
    topic = "transport.events"
    ride_id: str
    leg: Leg
    vendor_id: str | None = None
    status: RideStatus
    appointment_id: str | None = None
    detail: str | None = None


class RideFailed(Event):
    ce_type = "ride.failed.v1"
    topic = "transport.events"
    ride_id: str
    leg: Leg
    reason: str = Field(examples=["no_vendor", "missed_pickup", "all_vendors_rejected"])
