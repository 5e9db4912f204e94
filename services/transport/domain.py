"""Transport's decisions: where a ride goes, when, at which level of service, and how a ride's status may move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from shared.events import (
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    RideAccepted,
    RideCancelled,
    RideCompleted,
    RideDriverAssigned,
    RideNoShow,
    RidePickedUp,
    RideRejected,
)
from shared.events.common import Place, Value
from shared.events.discharge import Destination, DischargeDetails, Facility, Mobility, Payer
from shared.events.transport import Leg, RidePayer, Rider, RideStatus, RideUpdate, ServiceLevel

FailureReason = Literal[
    "no_vendor", "all_vendors_rejected", "missed_pickup", "no_pickup_place", "no_dropoff_place", "too_late"
]
CancelReason = Literal[
    "discharge_cancelled", "rescheduled", "followup_cancelled", "ride_not_needed", "offer_expired", "missed_pickup"
]

MEDICAID_NEMT = "medicaid_nemt"
OTHER_PAYER = "other"

# A vendor holds these rides: a change of plan must be sent to it as a RideCancelRequested.
HELD_BY_VENDOR = frozenset({RideStatus.REQUESTED, RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED})
# Not yet on its way: the end of the pickup window without a driver is a missed pickup.
AWAITING_DRIVER = frozenset({RideStatus.REQUESTED, RideStatus.ACCEPTED})
FINAL = frozenset({RideStatus.COMPLETED, RideStatus.CANCELLED, RideStatus.NO_SHOW, RideStatus.FAILED})

LEVEL_OF_MOBILITY: dict[Mobility, ServiceLevel] = {
    Mobility.AMBULATORY: ServiceLevel.AMBULATORY,
    Mobility.WHEELCHAIR: ServiceLevel.WHEELCHAIR,
    Mobility.STRETCHER: ServiceLevel.STRETCHER,
}


class RideProfile(Value):
    """What transport keeps of a discharge: only what a ride request needs (no DOB, MRN, diagnosis or unit)."""

    rider: Rider
    payer: RidePayer | None = None
    service_level: ServiceLevel = ServiceLevel.AMBULATORY
    escort_count: int = Field(0, ge=0, le=4)
    equipment_notes: str | None = None
    entrance: Place | None = Field(None, description="The facility's discharge entrance: every ride home starts there.")
    home: Place | None = Field(None, description="Where the patient lives after discharge: drop-off, visit pickup.")
    discharge_at: datetime | None = Field(None, description="The discharge time the ride home is planned around.")


class RideSpec(Value):
    """One ride as offered to vendors: places, window and needs. A change to it is a reschedule."""

    pickup: Place
    dropoff: Place
    earliest_pickup: datetime | None = None
    latest_arrival: datetime | None = None
    pickup_deadline: datetime | None = Field(
        None, description="No driver assigned by then is a missed pickup; None for will-call rides."
    )
    will_call: bool = False
    round_trip: bool = False
    service_level: ServiceLevel = ServiceLevel.AMBULATORY
    escort_count: int = 0
    equipment_notes: str | None = None


@dataclass(frozen=True)
class WindowRules:
    """How ride windows are drawn around a discharge or a visit (from TransportSettings)."""

    lead: timedelta = timedelta(minutes=15)
    pickup_window: timedelta = timedelta(minutes=60)
    travel_allowance: timedelta = timedelta(minutes=90)
    arrive_before_visit: timedelta = timedelta(minutes=15)
    visit_duration: timedelta = timedelta(minutes=60)
    reschedule_tolerance: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Window:
    earliest_pickup: datetime | None
    latest_arrival: datetime | None
    pickup_deadline: datetime | None
    will_call: bool


def ride_profile(details: DischargeDetails, discharge_at: datetime | None) -> RideProfile:
    patient, planning = details.patient, details.planning
    return RideProfile(
        rider=Rider(
            first_name=patient.given_name or "",
            last_name=patient.family_name or "",
            phone=patient.phone,
            language=patient.language,
        ),
        payer=ride_payer(details.payer),
        service_level=LEVEL_OF_MOBILITY[planning.mobility],
        escort_count=planning.escort_count,
        entrance=discharge_entrance(details.facility),
        home=home_place(details),
        discharge_at=discharge_at,
    )


def ride_payer(payer: Payer | None) -> RidePayer | None:
    if payer is None:
        return None
    # Medicaid covers non-emergency medical transport (42 CFR 431.53); any other coverage is the vendor's contract.
    return RidePayer(kind=MEDICAID_NEMT if payer.is_medicaid else OTHER_PAYER, member_id=payer.member_id)


def discharge_entrance(facility: Facility) -> Place | None:
    """The pickup for rides home: the facility's discharge entrance, never the unit.

    A psychiatric or detox unit's name discloses a diagnosis, so an entrance name that repeats the unit is dropped.
    """
    entrance = facility.discharge_entrance
    if entrance is None or (entrance.address is None and entrance.location is None):
        return None
    name = entrance.name
    if name and facility.unit and facility.unit.strip().lower() in name.lower():
        name = None
    return Place(name=name, address=entrance.address, location=entrance.location)


def home_place(details: DischargeDetails) -> Place | None:
    """Where the patient goes: the planned destination, else the home address when they go home."""
    destination = details.planning.destination_place
    if destination is not None and (destination.address or destination.location):
        return unnamed(destination)
    if details.planning.destination is Destination.HOME and details.patient.address is not None:
        return Place(address=details.patient.address)
    return None


def unnamed(place: Place) -> Place:
    # Drop-offs and visit places go without their name: "… Recovery House" or "… Methadone Clinic" tells a
    # driver the rider's treatment, and the address alone finds the door.
    return Place(address=place.address, location=place.location)


def discharge_time(event: DischargePending | DischargeRegistered | DischargeUpdated, now: datetime) -> datetime | None:
    """The time the ride home is planned around; None means will-call (no time known yet)."""
    details = event.discharge
    if isinstance(event, DischargeRegistered):
        return details.discharged_at or details.expected_discharge_at or now
    return details.discharged_at or details.expected_discharge_at


def home_window(discharge_at: datetime | None, now: datetime, rules: WindowRules) -> Window:
    """Pickup from `lead` before the discharge time until `pickup_window` after it (never in the past)."""
    if discharge_at is None:
        return Window(earliest_pickup=None, latest_arrival=None, pickup_deadline=None, will_call=True)
    earliest = max(discharge_at - rules.lead, now)
    deadline = max(discharge_at, now) + rules.pickup_window
    return Window(earliest, deadline + rules.travel_allowance, deadline, will_call=False)


def visit_windows(starts_at: datetime, rules: WindowRules) -> tuple[Window, Window]:
    """To the visit: arrive `arrive_before_visit` early. Back: will-call once the visit is likely over."""
    arrive_by = starts_at - rules.arrive_before_visit
    leave_from = arrive_by - rules.travel_allowance
    there = Window(leave_from, arrive_by, min(leave_from + rules.pickup_window, arrive_by), will_call=False)
    back = Window(starts_at + rules.visit_duration, None, None, will_call=True)
    return there, back


def home_ride(profile: RideProfile, now: datetime, rules: WindowRules) -> RideSpec | FailureReason:
    if profile.entrance is None:
        return "no_pickup_place"
    if profile.home is None:
        return "no_dropoff_place"
    return _spec(profile, profile.entrance, profile.home, home_window(profile.discharge_at, now, rules), False)


def visit_rides(
    profile: RideProfile, starts_at: datetime, location: Place | None, now: datetime, rules: WindowRules
) -> dict[Leg, RideSpec | FailureReason]:
    """The two legs of a round trip to a follow-up visit, or why a leg cannot be booked."""
    there, back = visit_windows(starts_at, rules)
    if profile.home is None:
        return {Leg.TO_APPOINTMENT: "no_pickup_place", Leg.FROM_APPOINTMENT: "no_dropoff_place"}
    if location is None or (location.address is None and location.location is None):
        return {Leg.TO_APPOINTMENT: "no_dropoff_place", Leg.FROM_APPOINTMENT: "no_pickup_place"}
    clinic = unnamed(location)
    if there.latest_arrival is not None and there.latest_arrival <= now:
        return {Leg.TO_APPOINTMENT: "too_late", Leg.FROM_APPOINTMENT: "too_late"}
    return {
        Leg.TO_APPOINTMENT: _spec(profile, profile.home, clinic, there, True),
        Leg.FROM_APPOINTMENT: _spec(profile, clinic, profile.home, back, True),
    }


def _spec(profile: RideProfile, pickup: Place, dropoff: Place, window: Window, round_trip: bool) -> RideSpec:
    return RideSpec(
        pickup=pickup,
        dropoff=dropoff,
        earliest_pickup=window.earliest_pickup,
        latest_arrival=window.latest_arrival,
        pickup_deadline=window.pickup_deadline,
        will_call=window.will_call,
        round_trip=round_trip,
        service_level=profile.service_level,
        escort_count=profile.escort_count,
        equipment_notes=profile.equipment_notes,
    )


_TIMES = {"earliest_pickup": None, "latest_arrival": None, "pickup_deadline": None}


def needs_reschedule(current: RideSpec, wanted: RideSpec, rules: WindowRules) -> bool:
    """A booked ride stands unless the places, the needs or the time change beyond the tolerance.

    The tolerance keeps a ride booked for the expected discharge (A16) when the actual one (A03) is a few minutes off.
    """
    if current.model_copy(update=_TIMES) != wanted.model_copy(update=_TIMES):
        return True
    if current.will_call:
        return False
    return _moved(current.pickup_deadline, wanted.pickup_deadline, rules.reschedule_tolerance) or _moved(
        current.latest_arrival, wanted.latest_arrival, rules.reschedule_tolerance
    )


def _moved(before: datetime | None, after: datetime | None, tolerance: timedelta) -> bool:
    if before is None or after is None:
        return before != after
    return abs(after - before) > tolerance


def reoffered_after_missed_pickup(spec: RideSpec, now: datetime, rules: WindowRules) -> RideSpec:
    """The window an alternate vendor is offered after a missed pickup: from now, as long as the original one."""
    deadline = now + rules.pickup_window
    arrival = spec.latest_arrival
    if arrival is None or arrival < deadline:
        arrival = deadline + rules.travel_allowance
    return spec.model_copy(update={"earliest_pickup": now, "pickup_deadline": deadline, "latest_arrival": arrival})


@dataclass(frozen=True)
class Move:
    """What a vendor's update does to a ride: advance its status, pass it to the next vendor, or nothing."""

    kind: Literal["advance", "reoffer", "ignore"]
    status: RideStatus | None = None
    why: str = ""


ANSWERS: dict[type[RideUpdate], tuple[RideStatus, frozenset[RideStatus]]] = {
    # update → (the status it sets, the statuses it may follow). Vendors may skip steps (a driver assigned
    # without a separate acceptance); anything else is late or out of order and changes nothing.
    RideAccepted: (RideStatus.ACCEPTED, frozenset({RideStatus.REQUESTED})),
    RideDriverAssigned: (
        RideStatus.DRIVER_ASSIGNED,
        frozenset({RideStatus.REQUESTED, RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED}),
    ),
    RidePickedUp: (
        RideStatus.PICKED_UP,
        frozenset({RideStatus.REQUESTED, RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED}),
    ),
    RideCompleted: (
        RideStatus.COMPLETED,
        frozenset({RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED, RideStatus.PICKED_UP}),
    ),
    RideNoShow: (RideStatus.NO_SHOW, frozenset({RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED})),
}
# A vendor leaving a ride it was offered or had accepted: the next eligible vendor gets the offer.
LEAVES: dict[type[RideUpdate], frozenset[RideStatus]] = {
    RideRejected: frozenset({RideStatus.REQUESTED}),
    RideCancelled: HELD_BY_VENDOR,
}


def vendor_answer(status: RideStatus, update: RideUpdate) -> Move:
    """The ride state machine, applied to one vendor update on a ride in `status`."""
    kind = type(update)
    if kind in LEAVES:
        if status not in LEAVES[kind]:
            return Move("ignore", why=f"{update.ce_type} on a {status} ride")
        reason = getattr(update, "reason", None) or "no reason given"
        verb = "rejected" if kind is RideRejected else "cancelled"
        return Move("reoffer", RideStatus.REJECTED, f"{update.vendor_id} {verb}: {reason}")
    target, follows = ANSWERS[kind]
    if status not in follows:
        return Move("ignore", why=f"{update.ce_type} on a {status} ride")
    return Move("advance", target)
