"""Transport's decisions: ride windows, places (never the unit), level of service, reschedules, and the fields a
vendor may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.transport.domain import (
    LEVEL_OF_MOBILITY,
    RideProfile,
    RideSpec,
    WindowRules,
    discharge_time,
    home_ride,
    home_window,
    needs_reschedule,
    reoffered_after_missed_pickup,
    ride_profile,
    visit_rides,
)
from services.transport.minimum_necessary import (
    ALLOWED_RIDE_REQUEST_FIELDS,
    BeyondMinimumNecessary,
    check_minimum_necessary,
    fields_beyond_minimum,
)
from shared.events import (
    RideRequested,
)
from shared.events.common import Address, GeoPoint, Place
from shared.events.discharge import Destination, Facility, Identifier, Mobility, Patient, Payer, PlanningNeeds
from shared.events.transport import Leg, ServiceLevel
from tests.factories import discharge_details, discharge_pending, discharge_registered, unique

pytestmark = pytest.mark.unit
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = WindowRules()
ENTRANCE = Place(
    name="Springfield Behavioral Health, north entrance",
    address=Address(lines=("1 Hospital Way",), city="Springfield", state="IL", postal_code="62701"),
    location=GeoPoint(lat=39.80, lon=-89.65),
)
HOME = Place(name="Hope Recovery House", address=Address(lines=("12 Elm St",), city="Springfield", postal_code="62702"))


def stay(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "facility": Facility(id="SPRINGFIELD_PSY", name="Springfield", unit="DETOX-2", discharge_entrance=ENTRANCE),
        "patient": Patient(
            identifiers=(Identifier(value="MRN-1", type="MR"),),
            given_name="Ana",
            family_name="Rivera",
            birth_date=datetime(1980, 4, 2).date(),
            phone="+1-217-555-0142",
            language="es",
        ),
        "payer": Payer(name="Illinois Medicaid", member_id="MCD1234567", is_medicaid=True),
        "planning": PlanningNeeds(
            destination=Destination.RESIDENTIAL_TREATMENT,
            destination_place=HOME,
            mobility=Mobility.WHEELCHAIR,
            escort_count=1,
        ),
    }
    values.update(overrides)
    return discharge_details(**values)


def profile(**overrides: Any) -> RideProfile:
    return ride_profile(stay(**overrides), NOON)


def test_the_ride_home_runs_from_lead_before_the_discharge_to_the_end_of_the_pickup_window() -> None:
    window = home_window(NOON, NOON - timedelta(hours=3), RULES)
    assert window.earliest_pickup == NOON - timedelta(minutes=15)
    assert window.pickup_deadline == NOON + timedelta(minutes=60)
    assert window.latest_arrival == NOON + timedelta(minutes=150)
    assert not window.will_call


def test_a_discharge_learned_late_gets_a_window_from_now_not_from_the_past() -> None:
    now = NOON + timedelta(hours=2)
    window = home_window(NOON, now, RULES)
    assert window.earliest_pickup == now
    assert window.pickup_deadline == now + timedelta(minutes=60)


def test_without_a_discharge_time_the_ride_home_is_will_call() -> None:
    window = home_window(None, NOON, RULES)
    assert window.will_call and window.earliest_pickup is None and window.pickup_deadline is None


def test_the_discharge_time_is_the_actual_one_when_known_else_the_expected_one() -> None:
    expected = NOON + timedelta(hours=4)
    pending = discharge_pending(expected_discharge_at=expected)
    assert discharge_time(pending, NOON) == expected
    assert discharge_time(discharge_pending(expected_discharge_at=None), NOON) is None
    registered = discharge_registered(expected_discharge_at=None)
    assert discharge_time(registered, NOON) == registered.discharge.discharged_at


def test_rides_home_pick_up_at_the_discharge_entrance_never_the_unit() -> None:
    spec = home_ride(profile(), NOON, RULES)
    assert isinstance(spec, RideSpec)
    assert spec.pickup == ENTRANCE
    assert "DETOX" not in spec.model_dump_json()


def test_an_entrance_named_after_the_unit_loses_its_name() -> None:
    named = ENTRANCE.model_copy(update={"name": "Detox-2 side door"})
    facility = Facility(id="F", unit="DETOX-2", discharge_entrance=named)
    spec = home_ride(profile(facility=facility), NOON, RULES)
    assert isinstance(spec, RideSpec)
    assert spec.pickup.name is None
    assert spec.pickup.address == ENTRANCE.address


def test_a_drop_off_goes_without_its_name_which_could_tell_the_treatment() -> None:
    spec = home_ride(profile(), NOON, RULES)
    assert isinstance(spec, RideSpec)
    assert spec.dropoff.name is None
    assert spec.dropoff.address == HOME.address


def test_going_home_without_a_destination_place_drops_off_at_the_home_address() -> None:
    address = Address(lines=("9 Oak Ave",), city="Springfield", postal_code="62703")
    patient = Patient(identifiers=(Identifier(value="MRN-2"),), given_name="Bo", address=address)
    spec = home_ride(profile(patient=patient, planning=PlanningNeeds(destination=Destination.HOME)), NOON, RULES)
    assert isinstance(spec, RideSpec)
    assert spec.dropoff == Place(address=address)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"facility": Facility(id="F", unit="PSY-1")}, "no_pickup_place"),
        ({"planning": PlanningNeeds(destination=Destination.SHELTER)}, "no_dropoff_place"),
    ],
)
def test_a_ride_without_a_pickup_or_drop_off_says_which_is_missing(overrides: dict[str, Any], reason: str) -> None:
    assert home_ride(profile(**overrides), NOON, RULES) == reason


def test_every_mobility_maps_to_a_level_of_service() -> None:
    assert set(LEVEL_OF_MOBILITY) == set(Mobility)
    assert profile().service_level is ServiceLevel.WHEELCHAIR


def test_the_profile_keeps_name_phone_language_payer_and_escort_and_nothing_clinical() -> None:
    kept = profile()
    assert (kept.rider.first_name, kept.rider.last_name, kept.rider.phone, kept.rider.language) == (
        "Ana",
        "Rivera",
        "+1-217-555-0142",
        "es",
    )
    assert kept.payer is not None and (kept.payer.kind, kept.payer.member_id) == ("medicaid_nemt", "MCD1234567")
    assert kept.escort_count == 1
    text = kept.model_dump_json()
    for secret in ("MRN-1", "1980-04-02", "DETOX-2", "residential_treatment", "Hope Recovery"):
        assert secret not in text


def test_a_visit_gets_a_round_trip_arriving_early_and_a_will_call_ride_back() -> None:
    starts = NOON + timedelta(days=3)
    clinic = Place(name="Springfield Methadone Clinic", address=Address(lines=("5 Main St",), postal_code="62704"))
    legs = visit_rides(profile(), starts, clinic, NOON, RULES)
    there, back = legs[Leg.TO_APPOINTMENT], legs[Leg.FROM_APPOINTMENT]
    assert isinstance(there, RideSpec) and isinstance(back, RideSpec)
    assert there.latest_arrival == starts - timedelta(minutes=15)
    assert there.earliest_pickup == starts - timedelta(minutes=105)
    assert there.dropoff == Place(address=clinic.address)  # no clinic name
    assert there.round_trip and back.round_trip
    assert back.will_call and back.earliest_pickup == starts + timedelta(minutes=60)
    assert back.pickup == there.dropoff and back.dropoff == there.pickup


def test_a_visit_too_soon_to_reach_is_reported_not_booked() -> None:
    clinic = Place(address=Address(lines=("5 Main St",)))
    legs = visit_rides(profile(), NOON + timedelta(minutes=10), clinic, NOON, RULES)
    assert set(legs.values()) == {"too_late"}


def booked(at: datetime = NOON, **changes: Any) -> RideSpec:
    spec = home_ride(ride_profile(stay(), at), at - timedelta(hours=3), RULES)
    assert isinstance(spec, RideSpec)
    return spec.model_copy(update=changes)


def test_a_discharge_a_few_minutes_off_keeps_the_booked_ride() -> None:
    assert not needs_reschedule(booked(), booked(NOON + timedelta(minutes=10)), RULES)


def test_a_new_time_beyond_the_tolerance_or_a_new_place_reschedules() -> None:
    assert needs_reschedule(booked(), booked(NOON + timedelta(hours=2)), RULES)
    assert needs_reschedule(booked(), booked(dropoff=Place(address=Address(lines=("1 New Rd",)))), RULES)
    assert needs_reschedule(booked(), booked(service_level=ServiceLevel.STRETCHER), RULES)
    will_call = booked(earliest_pickup=None, latest_arrival=None, pickup_deadline=None, will_call=True)
    assert needs_reschedule(will_call, booked(), RULES)


def test_after_a_missed_pickup_the_alternate_vendor_gets_a_fresh_window_from_now() -> None:
    late = NOON + timedelta(hours=1, minutes=5)
    spec = reoffered_after_missed_pickup(booked(), late, RULES)
    assert spec.earliest_pickup == late
    assert spec.pickup_deadline == late + timedelta(minutes=60)
    assert spec.latest_arrival is not None and spec.latest_arrival >= spec.pickup_deadline


def ride_request(spec: RideSpec, kept: RideProfile) -> RideRequested:
    return RideRequested(
        case_id=unique("case"),
        ride_id="R-1",
        vendor_id="V1",
        leg=Leg.HOME,
        pickup=spec.pickup,
        dropoff=spec.dropoff,
        earliest_pickup=spec.earliest_pickup,
        latest_arrival=spec.latest_arrival,
        will_call=spec.will_call,
        service_level=spec.service_level,
        escort_count=spec.escort_count,
        rider=kept.rider,
        payer=kept.payer,
        notify_contact_phone="+1-217-555-0199",
        idempotency_key="R-1:1",
    )


def test_a_full_ride_request_carries_only_allowed_fields() -> None:
    kept = profile()
    spec = home_ride(kept, NOON, RULES)
    assert isinstance(spec, RideSpec)
    request = check_minimum_necessary(ride_request(spec, kept))
    assert fields_beyond_minimum(request.model_dump(mode="json")) == []


def schema_paths(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> set[str]:
    """Every leaf path a JSON Schema allows, following $ref, anyOf and arrays."""
    if "$ref" in schema:
        return schema_paths(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, prefix)
    if "anyOf" in schema:
        return set().union(*(schema_paths(option, defs, prefix) for option in schema["anyOf"]))
    if schema.get("type") == "array":
        return schema_paths(schema.get("items", {}), defs, prefix)
    if schema.get("type") == "null":
        return set()
    if "properties" in schema:
        return set().union(*(schema_paths(sub, defs, f"{prefix}{name}.") for name, sub in schema["properties"].items()))
    return {prefix.rstrip(".")}


def test_every_field_the_ride_request_model_allows_is_in_the_allowed_set() -> None:
    # Walks the published schema, nested models included: a field added anywhere in RideRequested fails here
    # until someone decides vendors may see it.
    schema = RideRequested.model_json_schema()
    assert schema_paths(schema, schema.get("$defs", {})) == ALLOWED_RIDE_REQUEST_FIELDS


def test_a_field_outside_the_set_is_caught_and_refused() -> None:
    payload = {"ride_id": "R-1", "rider": {"first_name": "Ana", "birth_date": "1980-04-02"}, "diagnosis": "F10.2"}
    assert fields_beyond_minimum(payload) == ["diagnosis", "rider.birth_date"]

    class LeakyRequest(RideRequested):
        mrn: str = "MRN-1"

    kept = profile()
    spec = home_ride(kept, NOON, RULES)
    assert isinstance(spec, RideSpec)
    leaky = LeakyRequest(**ride_request(spec, kept).model_dump())
    with pytest.raises(BeyondMinimumNecessary, match="mrn"):
        check_minimum_necessary(leaky)
