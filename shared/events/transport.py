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
    """Who rides: a name and a phone, nothing more (minimum necessary)."""

    first_name: str = Field(examples=["Ana"], description="The rider's first name, for the driver.")
    last_name: str = Field(examples=["Rivera"], description="The rider's last name, for the driver.")
    phone: str | None = Field(None, description="For the driver to call on arrival.", examples=["+1-217-555-0142"])
    language: str | None = Field(None, description="ISO 639-1, so the vendor can prepare.", examples=["es"])


class RidePayer(Value):
    """Who pays for the ride, for the vendor's billing."""

    kind: str = Field(description="The kind of payer.", examples=["medicaid_nemt", "other"])
    member_id: str | None = Field(None, description="The rider's member id with that payer.", examples=["MCD1234567"])


class RideRequested(Event):
    """Offered to one NEMT vendor. Minimum necessary: nothing clinical, no DOB, no MRN, no unit."""

    ce_type = "ride.requested.v1"
    topic = "transport.ride-requests"
    ride_id: str = Field(description="The ride's id; every update about the ride carries it.", examples=["R-8a2c"])
    vendor_id: str = Field(description="The NEMT vendor offered the ride.", examples=["V-ACME"])
    leg: Leg = Field(description="Home from the facility, or to or from a follow-up visit.", examples=["home"])
    pickup: Place = Field(description="Where to pick up: the facility's discharge entrance, or an address.")
    dropoff: Place = Field(description="Where to drop off.")
    earliest_pickup: datetime | None = Field(
        None, description="Not before this time.", examples=["2026-03-14T15:30:00Z"]
    )
    latest_arrival: datetime | None = Field(
        None, description="Arrive by this time, e.g. the visit's start.", examples=["2026-03-14T15:30:00Z"]
    )
    will_call: bool = Field(False, description="The rider calls when ready: no fixed pickup time.", examples=[False])
    round_trip: bool = Field(False, description="A return ride is included.", examples=[False])
    service_level: ServiceLevel = Field(
        ServiceLevel.AMBULATORY, description="The vehicle and help the rider needs.", examples=["ambulatory"]
    )
    escort_count: int = Field(0, ge=0, le=4, description="Escorts riding along.", examples=[1])
    equipment_notes: str | None = Field(
        None, max_length=200, description="Equipment the rider brings.", examples=["walker, portable oxygen"]
    )
    rider: Rider = Field(description="Who rides.")
    payer: RidePayer | None = Field(None, description="Who pays.")
    notify_contact_phone: str | None = Field(
        None, description="The peer specialist's phone.", examples=["+1-217-555-0104"]
    )
    idempotency_key: str = Field(
        description="The same key means the same ride: a request received twice books one ride.",
        examples=["R-8a2c:1"],
    )


class RideCancelRequested(Event):
    """The platform asks the vendor to cancel a ride it requested."""

    ce_type = "ride.cancel-requested.v1"
    topic = "transport.ride-requests"
    ride_id: str = Field(description="The ride to cancel.", examples=["R-8a2c"])
    vendor_id: str = Field(description="The vendor holding the ride.", examples=["V-ACME"])
    reason: str = Field(description="Why it is cancelled.", examples=["discharge_cancelled", "rescheduled"])


class RideUpdate(Event):
    """Base of what vendors send back on transport.ride-updates."""

    topic = "transport.ride-updates"
    ride_id: str = Field(description="The ride_id of the ride request.", examples=["R-8a2c"])
    vendor_id: str = Field(description="The vendor sending the update.", examples=["V-ACME"])
    at: datetime = Field(description="When it happened.", examples=["2026-03-14T15:30:00Z"])


class RideAccepted(RideUpdate):
    """The vendor accepted the ride."""

    ce_type = "ride.accepted.v1"


class RideDriverAssigned(RideUpdate):
    """A driver and vehicle are on the ride."""

    ce_type = "ride.driver-assigned.v1"
    driver_name: str | None = Field(None, description="The name the rider will be told.", examples=["Sam"])
    vehicle: str | None = Field(None, description="How to recognise the vehicle.", examples=["white van, ABC-1234"])
    eta: datetime | None = Field(None, description="Expected pickup time.", examples=["2026-03-14T15:30:00Z"])


class RidePickedUp(RideUpdate):
    """The rider was picked up."""

    ce_type = "ride.picked-up.v1"


class RideCompleted(RideUpdate):
    """The rider was dropped off."""

    ce_type = "ride.completed.v1"


class RideCancelled(RideUpdate):
    """The vendor cancelled the ride."""

    ce_type = "ride.cancelled.v1"
    reason: str | None = Field(None, description="The vendor's reason.", examples=["no_driver_available"])


class RideNoShow(RideUpdate):
    """The rider was not at the pickup."""

    ce_type = "ride.no-show.v1"


class RideRejected(RideUpdate):
    """The vendor declined the ride request."""

    ce_type = "ride.rejected.v1"
    reason: str | None = Field(None, description="The vendor's reason.", examples=["outside_service_area"])


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
    ride_id: str = Field(description="The ride's id.", examples=["R-8a2c"])
    leg: Leg = Field(description="Home from the facility, or to or from a follow-up visit.", examples=["home"])
    vendor_id: str | None = Field(None, description="The vendor serving the ride, once one is.", examples=["V-ACME"])
    status: RideStatus = Field(description="The ride's status now.", examples=["requested"])
    appointment_id: str | None = Field(
        None, description="The follow-up visit the ride serves, for visit legs.", examples=["APT-5b1e"]
    )
    detail: str | None = Field(
        None, description="More on the status, e.g. the vendor's reason.", examples=["offered to V-SPRINGFIELD-NEMT"]
    )
    eta: datetime | None = Field(
        None,
        description="The driver's expected pickup time, once a driver is assigned.",
        examples=["2026-03-14T15:30:00Z"],
    )


class RideFailed(Event):
    """No ride could be arranged, or it fell through: staff must step in."""

    ce_type = "ride.failed.v1"
    topic = "transport.events"
    ride_id: str = Field(description="The ride's id.", examples=["R-8a2c"])
    leg: Leg = Field(description="Home from the facility, or to or from a follow-up visit.", examples=["home"])
    reason: str = Field(description="Why.", examples=["no_vendor", "missed_pickup", "all_vendors_rejected"])
    appointment_id: str | None = Field(
        None, description="The follow-up visit the ride served, for visit legs.", examples=["APT-5b1e"]
    )


class RideAtRisk(Event):
    """The ride home is not confirmed by a vendor as the discharge comes close: staff should step in."""

    ce_type = "ride.at-risk.v1"
    topic = "transport.events"
    ride_id: str = Field(description="The ride's id.", examples=["R-8a2c"])
    leg: Leg = Field(description="The leg at risk (the ride home).", examples=["home"])
    reason: str = Field(description="Where the ride stands.", examples=["not_accepted", "no_driver_assigned"])
    earliest_pickup: datetime | None = Field(
        None, description="When the pickup window opens.", examples=["2026-03-14T15:30:00Z"]
    )
