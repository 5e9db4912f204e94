"""Which NEMT vendors may be offered a ride, best first: service area, level of service, hours, payer, priority."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.events.common import Place
from shared.events.transport import ServiceLevel

from .domain import OTHER_PAYER, RideSpec

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEK = tuple(Weekday)


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90, examples=[39.7817])
    lon: float = Field(ge=-180, le=180, examples=[-89.6501])


class ServiceArea(BaseModel):
    """Where a vendor drives: within `radius_km` of `center`, or in one of `postal_codes` (either suffices)."""

    center: Point | None = None
    radius_km: float | None = Field(None, gt=0, examples=[40.0])
    postal_codes: list[str] = Field(default_factory=list, examples=[["62701", "62702"]])

    @model_validator(mode="after")
    def radius_needs_center(self) -> ServiceArea:
        if (self.center is None) != (self.radius_km is None):
            raise ValueError("a service area gives center and radius_km together")
        if self.center is None and not self.postal_codes:
            raise ValueError("a service area needs center and radius_km, or postal_codes")
        return self


class OpeningHours(BaseModel):
    """Hours on some weekdays, in the vendor's time zone; `closes` before `opens` runs past midnight."""

    days: list[Weekday] = Field(min_length=1, examples=[["mon", "tue", "wed", "thu", "fri"]])
    opens: time = Field(examples=["06:00"])
    closes: time = Field(examples=["20:00"])


class VendorHours(BaseModel):
    timezone: str = Field("UTC", examples=["America/Chicago"])
    weekly: list[OpeningHours] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value


class VendorProfile(BaseModel):
    """A vendor in the registry, as the HTTP API and the JSON import take it."""

    vendor_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["V-ACME"])
    name: str = Field(min_length=1, max_length=200, examples=["Acme Medical Transport"])
    active: bool = Field(True, description="Inactive vendors are never offered rides.")
    service_area: ServiceArea
    service_levels: list[ServiceLevel] = Field(min_length=1, examples=[["ambulatory", "wheelchair"]])
    hours: VendorHours | None = Field(None, description="When rides may start; none means around the clock.")
    payer_contracts: list[str] = Field(
        default_factory=lambda: [OTHER_PAYER],
        description="Payer kinds the vendor bills: medicaid_nemt, other.",
        examples=[["medicaid_nemt", "other"]],
    )
    priority: int = Field(100, ge=0, description="Lower is offered first.")


@dataclass(frozen=True)
class Candidate:
    vendor: VendorProfile
    area_confirmed: bool
    distance_km: float | None


def distance_km(a: Point, lat: float, lon: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(a.lat), math.radians(lat)
    dphi, dlambda = phi2 - phi1, math.radians(lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def covers(area: ServiceArea, place: Place) -> bool | None:
    """True or False when the place's coordinates or postal code settle it; None when nothing does."""
    answers: list[bool] = []
    if area.center is not None and area.radius_km is not None and place.location is not None:
        answers.append(distance_km(area.center, place.location.lat, place.location.lon) <= area.radius_km)
    postal = _postal(place)
    if area.postal_codes and postal:
        answers.append(postal in {_normal_postal(code) for code in area.postal_codes})
    return any(answers) if answers else None


def open_at(hours: VendorHours | None, moment: datetime) -> bool:
    if hours is None:
        return True
    local = moment.astimezone(ZoneInfo(hours.timezone))
    today, yesterday = WEEK[local.weekday()], WEEK[(local - timedelta(days=1)).weekday()]
    clock = local.time().replace(tzinfo=None)
    for slot in hours.weekly:
        if slot.opens < slot.closes:
            if today in slot.days and slot.opens <= clock < slot.closes:
                return True
        elif (today in slot.days and clock >= slot.opens) or (yesterday in slot.days and clock < slot.closes):
            return True
    return False


def eligible_vendors(
    vendors: list[VendorProfile],
    spec: RideSpec,
    payer_kind: str,
    now: datetime,
    *,
    exclude: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Vendors that may take the ride, in offer order: priority, then a confirmed area, then nearest, then id.

    A place whose position no area rule can settle (no coordinates, no postal code) does not exclude a vendor:
    the vendor is offered the ride after those known to cover it, and rejects it if it cannot drive there.
    """
    starts = spec.earliest_pickup or now
    found = []
    for vendor in vendors:
        if not vendor.active or vendor.vendor_id in exclude:
            continue
        if spec.service_level not in vendor.service_levels or payer_kind not in vendor.payer_contracts:
            continue
        if not open_at(vendor.hours, max(starts, now)):
            continue
        coverage = [covers(vendor.service_area, spec.pickup), covers(vendor.service_area, spec.dropoff)]
        if False in coverage:
            continue
        found.append(Candidate(vendor, None not in coverage, _distance_to_pickup(vendor.service_area, spec.pickup)))
    return sorted(
        found,
        key=lambda c: (
            c.vendor.priority,
            not c.area_confirmed,
            c.distance_km if c.distance_km is not None else math.inf,
            c.vendor.vendor_id,
        ),
    )


def _distance_to_pickup(area: ServiceArea, pickup: Place) -> float | None:
    if area.center is None or pickup.location is None:
        return None
    return distance_km(area.center, pickup.location.lat, pickup.location.lon)


def _postal(place: Place) -> str | None:
    code = place.address.postal_code if place.address else None
    return _normal_postal(code) if code else None


def _normal_postal(code: str) -> str:
    # ZIP+4 and ZIP match on the five-digit ZIP; other countries' codes compare without spaces and case.
    compact = code.replace(" ", "").upper()
    return compact[:5] if len(compact) == 10 and compact[5] == "-" and compact[:5].isdigit() else compact
