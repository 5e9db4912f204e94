"""Transport's own tables: cases (only what rides need), specialists, visits, rides with their deadlines, vendors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime
from shared.events.transport import Leg, RideStatus

from .domain import RideProfile, RideSpec
from .eligibility import VendorProfile


class TransportCase(SQLModel, table=True):
    """A discharge case as transport knows it: the ride profile, never the stay's clinical details."""

    __tablename__ = "transport_case"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32, description="open or cancelled")
    profile_json: str = Field(sa_type=Text, description="RideProfile as JSON")
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)

    @property
    def profile(self) -> RideProfile:
        return RideProfile.model_validate_json(self.profile_json)


class CaseSpecialist(SQLModel, table=True):
    """The case's peer specialist (assignment.events): told at once when a ride fails, is missed or is a no-show."""

    __tablename__ = "transport_case_specialist"

    case_id: str = Field(primary_key=True, max_length=64)
    specialist_id: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Visit(SQLModel, table=True):
    """A follow-up visit that needs a round trip (appointment.events); its legs are booked once the case is known."""

    __tablename__ = "transport_visit"

    appointment_id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True)
    starts_at: datetime = Field(sa_type=UtcDateTime)
    location_json: str | None = Field(default=None, sa_type=Text)
    needs_ride: bool = True
    cancelled: bool = False
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Ride(SQLModel, table=True):
    """One ride (a leg), the vendor it is offered to, and the deadlines the scheduler watches."""

    __tablename__ = "transport_ride"
    __table_args__ = (
        Index("ix_transport_ride_offer_due", "status", "offer_deadline"),
        Index("ix_transport_ride_pickup_due", "status", "pickup_deadline"),
    )

    ride_id: str = Field(primary_key=True, max_length=40)
    case_id: str = Field(max_length=64, index=True)
    # Plain strings (the enums' values): SQLAlchemy's Enum type would store the member names instead.
    leg: str = Field(max_length=20)
    appointment_id: str | None = Field(default=None, max_length=64, index=True)
    generation: int = Field(default=1, description="1 for a leg's first ride, then one more per rebooking")
    status: str = Field(max_length=20)
    vendor_id: str | None = Field(default=None, max_length=64)
    offer_no: int = 0
    tried_vendors: list[str] = Field(default_factory=list, sa_type=JSON)
    spec_json: str | None = Field(default=None, sa_type=Text, description="RideSpec as JSON; None if never offerable")
    offer_deadline: datetime | None = Field(default=None, sa_type=UtcDateTime)
    pickup_deadline: datetime | None = Field(default=None, sa_type=UtcDateTime)
    eta: datetime | None = Field(default=None, sa_type=UtcDateTime)
    detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)

    @property
    def ride_status(self) -> RideStatus:
        return RideStatus(self.status)

    @property
    def ride_leg(self) -> Leg:
        return Leg(self.leg)

    @property
    def spec(self) -> RideSpec | None:
        return RideSpec.model_validate_json(self.spec_json) if self.spec_json else None

    def set_spec(self, spec: RideSpec) -> None:
        self.spec_json = spec.model_dump_json()
        self.pickup_deadline = spec.pickup_deadline


class Vendor(SQLModel, table=True):
    """An NEMT vendor in the registry; `profile` is the VendorProfile it was registered with."""

    __tablename__ = "transport_vendor"

    vendor_id: str = Field(primary_key=True, max_length=64)
    active: bool = True
    priority: int = 100
    profile: dict[str, Any] = Field(sa_type=JSON)
    # Kept as issued: HMAC needs the secret itself. Encrypt the column at rest where the database offers it.
    webhook_secret: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)

    @property
    def vendor_profile(self) -> VendorProfile:
        return VendorProfile.model_validate(self.profile)


class RideReadinessFlag(SQLModel, table=True):
    """A ride home flagged at risk because no vendor had confirmed it as the discharge came close (once per ride)."""

    __tablename__ = "transport_ride_readiness_flag"

    ride_id: str = Field(primary_key=True, max_length=40)
    flagged_at: datetime = Field(sa_type=UtcDateTime)


TABLES = (TransportCase, CaseSpecialist, Visit, Ride, Vendor, RideReadinessFlag)
