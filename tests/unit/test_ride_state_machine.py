"""The ride state machine: how each vendor update moves a ride, passes it to the next vendor, or changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.transport.domain import vendor_answer
from shared.events import (
    RideAccepted,
    RideCancelled,
    RideCompleted,
    RideDriverAssigned,
    RideNoShow,
    RidePickedUp,
    RideRejected,
)
from shared.events.transport import RideStatus

pytestmark = pytest.mark.unit
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def update(kind: type, **fields: Any) -> Any:
    return kind(case_id="c", ride_id="R-1", vendor_id="V1", at=NOON, **fields)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (RideStatus.REQUESTED, RideAccepted, RideStatus.ACCEPTED),
        (RideStatus.ACCEPTED, RideDriverAssigned, RideStatus.DRIVER_ASSIGNED),
        (RideStatus.DRIVER_ASSIGNED, RideDriverAssigned, RideStatus.DRIVER_ASSIGNED),  # a new ETA
        (RideStatus.REQUESTED, RideDriverAssigned, RideStatus.DRIVER_ASSIGNED),  # acceptance implied
        (RideStatus.DRIVER_ASSIGNED, RidePickedUp, RideStatus.PICKED_UP),
        (RideStatus.PICKED_UP, RideCompleted, RideStatus.COMPLETED),
        (RideStatus.DRIVER_ASSIGNED, RideNoShow, RideStatus.NO_SHOW),
    ],
)
def test_vendor_updates_move_a_ride_forward(status: RideStatus, kind: type, expected: RideStatus) -> None:
    move = vendor_answer(status, update(kind))
    assert (move.kind, move.status) == ("advance", expected)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (RideStatus.REQUESTED, RideRejected),
        (RideStatus.ACCEPTED, RideCancelled),
        (RideStatus.DRIVER_ASSIGNED, RideCancelled),
    ],
)
def test_a_vendor_leaving_a_ride_passes_it_on(status: RideStatus, kind: type) -> None:
    move = vendor_answer(status, update(kind, reason="no_capacity"))
    assert (move.kind, move.status) == ("reoffer", RideStatus.REJECTED)
    assert "V1" in move.why and "no_capacity" in move.why


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (RideStatus.COMPLETED, RideAccepted),  # late
        (RideStatus.DRIVER_ASSIGNED, RideAccepted),  # out of order
        (RideStatus.CANCELLED, RideCancelled),  # the vendor confirming our cancellation
        (RideStatus.ACCEPTED, RideRejected),  # after accepting, a vendor cancels instead
        (RideStatus.PICKED_UP, RideCancelled),  # the rider is in the vehicle
        (RideStatus.REQUESTED, RideCompleted),
        (RideStatus.REQUESTED, RideNoShow),
        (RideStatus.FAILED, RidePickedUp),
        (RideStatus.NO_SHOW, RideCompleted),
    ],
)
def test_late_or_out_of_order_updates_change_nothing(status: RideStatus, kind: type) -> None:
    assert vendor_answer(status, update(kind)).kind == "ignore"
