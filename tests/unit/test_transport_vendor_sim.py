"""The reference vendor's answers: decided by the seed and the offer alone, so runs repeat."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.transport.vendor_sim import Answer, VendorBehaviour, plan_answers
from services.transport.vendor_sim.behaviour import answer_event
from shared.events import RideDriverAssigned, RideRejected, RideRequested
from shared.events.common import Address, Place
from shared.events.transport import Leg, Rider

pytestmark = pytest.mark.unit
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def offer(n: int) -> RideRequested:
    place = Place(address=Address(lines=("1 Main St",)))
    return RideRequested(
        case_id=f"case-{n}",
        ride_id=f"R-{n}",
        vendor_id="V1",
        leg=Leg.HOME,
        pickup=place,
        dropoff=place,
        earliest_pickup=NOON,
        rider=Rider(first_name="Ana", last_name="Rivera"),
        idempotency_key=f"R-{n}:1",
    )


def test_the_same_seed_answers_the_same_offers_the_same_way() -> None:
    behaviour = VendorBehaviour(accept_rate=0.5, no_show_rate=0.3, seed=7)
    first = [plan_answers(offer(n), behaviour) for n in range(50)]
    again = [plan_answers(offer(n), behaviour) for n in reversed(range(50))][::-1]
    assert first == again
    other_seed = [plan_answers(offer(n), VendorBehaviour(accept_rate=0.5, no_show_rate=0.3, seed=8)) for n in range(50)]
    assert first != other_seed


def test_rates_shape_the_answers() -> None:
    behaviour = VendorBehaviour(accept_rate=0.8, no_show_rate=0.25, seed=1)
    endings = Counter(plan_answers(offer(n), behaviour)[-1][1] for n in range(2000))
    assert endings[Answer.REJECTED] / 2000 == pytest.approx(0.2, abs=0.03)
    assert endings[Answer.NO_SHOW] / 2000 == pytest.approx(0.8 * 0.25, abs=0.03)
    assert endings[Answer.COMPLETED] / 2000 == pytest.approx(0.8 * 0.75, abs=0.03)


def test_an_accepted_ride_goes_through_every_state_with_the_configured_delays() -> None:
    plan = plan_answers(offer(1), VendorBehaviour(accept_rate=1, delay_s=2, progress_delay_s=0.5))
    assert plan == [
        (2, Answer.ACCEPTED),
        (0.5, Answer.DRIVER_ASSIGNED),
        (0.5, Answer.PICKED_UP),
        (0.5, Answer.COMPLETED),
    ]
    assert plan_answers(offer(1), VendorBehaviour(accept_rate=0)) == [(1.0, Answer.REJECTED)]


def test_answers_echo_the_offer_and_a_driver_comes_with_an_eta() -> None:
    request = offer(3)
    behaviour = VendorBehaviour()
    assigned = answer_event(Answer.DRIVER_ASSIGNED, request, NOON, behaviour)
    assert isinstance(assigned, RideDriverAssigned)
    assert (assigned.case_id, assigned.ride_id, assigned.vendor_id) == ("case-3", "R-3", "V1")
    assert assigned.eta is not None and assigned.eta >= NOON
    assert isinstance(answer_event(Answer.REJECTED, request, NOON, behaviour), RideRejected)


def test_impossible_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="probabilities"):
        VendorBehaviour(accept_rate=1.5)
