"""Which vendors are offered a ride, and in which order: area, level of service, hours, payer, priority."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from services.transport.domain import RideSpec
from services.transport.eligibility import (
    OpeningHours,
    Point,
    ServiceArea,
    VendorHours,
    VendorProfile,
    Weekday,
    covers,
    distance_km,
    eligible_vendors,
    open_at,
)
from shared.events.common import Address, GeoPoint, Place
from shared.events.transport import ServiceLevel

pytestmark = pytest.mark.unit
SPRINGFIELD = Point(lat=39.7817, lon=-89.6501)
HOSPITAL = Place(
    address=Address(lines=("1 Hospital Way",), postal_code="62701"), location=GeoPoint(lat=39.80, lon=-89.65)
)
HOME = Place(address=Address(lines=("12 Elm St",), postal_code="62702-1234"), location=GeoPoint(lat=39.76, lon=-89.66))
MONDAY_NOON = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 12:00 in Chicago (CST)


def vendor(vendor_id: str, **overrides: Any) -> VendorProfile:
    values: dict[str, Any] = {
        "vendor_id": vendor_id,
        "name": f"Vendor {vendor_id}",
        "service_area": ServiceArea(center=SPRINGFIELD, radius_km=30),
        "service_levels": [ServiceLevel.AMBULATORY, ServiceLevel.WHEELCHAIR],
        "payer_contracts": ["medicaid_nemt", "other"],
    }
    values.update(overrides)
    return VendorProfile(**values)


def ride(**overrides: Any) -> RideSpec:
    values: dict[str, Any] = {"pickup": HOSPITAL, "dropoff": HOME, "earliest_pickup": MONDAY_NOON}
    values.update(overrides)
    return RideSpec(**values)


def offered(
    vendors: list[VendorProfile], spec: RideSpec | None = None, payer: str = "medicaid_nemt", **kw: Any
) -> list[str]:
    return [c.vendor.vendor_id for c in eligible_vendors(vendors, spec or ride(), payer, MONDAY_NOON, **kw)]


def test_the_haversine_distance_between_two_points_in_town_is_a_few_km() -> None:
    assert distance_km(SPRINGFIELD, 39.80, -89.65) == pytest.approx(2.05, abs=0.05)


def test_an_area_covers_by_radius_or_by_postal_code_and_says_when_it_cannot_tell() -> None:
    assert covers(ServiceArea(center=SPRINGFIELD, radius_km=5), HOSPITAL) is True
    assert covers(ServiceArea(center=Point(lat=41.88, lon=-87.63), radius_km=50), HOSPITAL) is False  # Chicago
    assert covers(ServiceArea(postal_codes=["62702"]), HOME) is True  # ZIP+4 matches its ZIP
    assert covers(ServiceArea(postal_codes=["62702"]), HOSPITAL) is False
    assert covers(ServiceArea(center=SPRINGFIELD, radius_km=5), Place(address=Address(lines=("x",)))) is None


def test_an_area_needs_center_and_radius_together_or_postal_codes() -> None:
    with pytest.raises(ValidationError):
        ServiceArea(center=SPRINGFIELD)
    with pytest.raises(ValidationError):
        ServiceArea()


def test_hours_are_read_in_the_vendors_time_zone_and_may_run_past_midnight() -> None:
    weekdays = VendorHours(
        timezone="America/Chicago",
        weekly=[OpeningHours(days=[Weekday.MON, Weekday.TUE], opens=time(6), closes=time(20))],
    )
    assert open_at(weekdays, MONDAY_NOON)
    assert not open_at(weekdays, datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # Sunday 21:00 in Chicago
    night = VendorHours(weekly=[OpeningHours(days=[Weekday.MON], opens=time(22), closes=time(4))])
    assert open_at(night, datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # Monday 23:00
    assert open_at(night, datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # Tuesday 03:00, Monday's shift
    assert not open_at(night, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))  # Tuesday 23:00
    assert open_at(None, MONDAY_NOON)


def test_an_unknown_time_zone_is_refused_at_registration() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        VendorHours(timezone="Mars/Olympus", weekly=[OpeningHours(days=[Weekday.MON], opens=time(6), closes=time(20))])


def test_vendors_that_cannot_serve_the_ride_are_left_out() -> None:
    vendors = [
        vendor("OK"),
        vendor("FAR", service_area=ServiceArea(center=Point(lat=41.88, lon=-87.63), radius_km=50)),
        vendor("NO-WHEELCHAIR", service_levels=[ServiceLevel.AMBULATORY]),
        vendor("NO-MEDICAID", payer_contracts=["other"]),
        vendor("CLOSED", hours=VendorHours(weekly=[OpeningHours(days=[Weekday.SUN], opens=time(0), closes=time(23))])),
        vendor("INACTIVE", active=False),
        vendor("TRIED"),
    ]
    assert offered(vendors, ride(service_level=ServiceLevel.WHEELCHAIR), exclude=frozenset({"TRIED"})) == ["OK"]


def test_offers_go_by_priority_then_confirmed_area_then_distance_then_id() -> None:
    far_center = Point(lat=39.60, lon=-89.65)
    vendors = [
        vendor("B-NEAR"),
        vendor("A-NEAR"),
        vendor("FARTHER", service_area=ServiceArea(center=far_center, radius_km=60)),
        vendor("POSTAL-ONLY", service_area=ServiceArea(postal_codes=["62701", "62702"])),
        vendor("PREFERRED", priority=1, service_area=ServiceArea(center=far_center, radius_km=60)),
    ]
    assert offered(vendors) == ["PREFERRED", "A-NEAR", "B-NEAR", "FARTHER", "POSTAL-ONLY"]


def test_a_place_no_rule_can_place_ranks_the_vendor_after_those_known_to_cover_it() -> None:
    no_coordinates = Place(address=Address(lines=("3 Pine St",), postal_code="62701"))
    vendors = [vendor("RADIUS"), vendor("POSTAL", service_area=ServiceArea(postal_codes=["62701"]))]
    candidates = eligible_vendors(vendors, ride(dropoff=no_coordinates), "medicaid_nemt", MONDAY_NOON)
    assert [(c.vendor.vendor_id, c.area_confirmed) for c in candidates] == [("POSTAL", True), ("RADIUS", False)]


def test_a_ride_without_payer_needs_a_vendor_billing_other_payers() -> None:
    vendors = [vendor("MEDICAID-ONLY", payer_contracts=["medicaid_nemt"]), vendor("ANY")]
    assert offered(vendors, payer="other") == ["ANY"]
