"""The plan read from a case's timeline: one state per step, where referrals and notifications are many items each."""

from __future__ import annotations

from typing import Any

import pytest

from services.coordinator.domain import PLAN_STEPS, StepState, derive_plan

pytestmark = pytest.mark.unit


def referral(kind: str, referral_id: str, **data: Any) -> tuple[str, dict[str, Any]]:
    return (f"referral.{kind}.v1", {"referral_id": referral_id, **data})


def notification(kind: str, notification_id: str, **data: Any) -> tuple[str, dict[str, Any]]:
    return (f"notification.{kind}.v1", {"notification_id": notification_id, **data})


def test_every_step_starts_pending() -> None:
    plan = derive_plan([])
    assert list(plan) == list(PLAN_STEPS)
    assert {step.state for step in plan.values()} == {StepState.PENDING}


@pytest.mark.parametrize(
    ("events", "state"),
    [
        ([referral("created", "a"), referral("completed", "a")], StepState.DONE),
        # One closed, one still open: the step is not done while an organisation has yet to answer.
        ([referral("created", "a"), referral("created", "b"), referral("completed", "a")], StepState.IN_PROGRESS),
        ([referral("created", "a"), referral("declined", "a")], StepState.AT_RISK),
        # A declined referral replaced by one that closed: the need was met.
        ([referral("declined", "a"), referral("created", "b"), referral("completed", "b")], StepState.DONE),
        ([referral("created", "a"), referral("status-changed", "a", status="cancelled")], StepState.AT_RISK),
        ([referral("created", "a"), referral("status-changed", "a", status="on-hold")], StepState.IN_PROGRESS),
    ],
)
def test_the_referrals_step_reads_every_referral(events: list[tuple[str, dict[str, Any]]], state: StepState) -> None:
    assert derive_plan(events)["referrals"].state == state


def test_a_failed_notification_shows_until_it_is_delivered_after_all() -> None:
    failed = [notification("delivered", "n1"), notification("failed", "n2", reason="no_webhook_secret")]
    step = derive_plan(failed)["notifications"]
    assert step.state == StepState.FAILED
    assert step.details == {"notifications": 2, "failed": {"n2": "no_webhook_secret"}}
    later = derive_plan([*failed, notification("delivered", "n2")])["notifications"]
    assert (later.state, later.details) == (StepState.DONE, {"notifications": 2})


def test_a_cancelled_discharge_needs_no_step_any_more() -> None:
    events = [referral("created", "a"), notification("failed", "n1", reason="x"), ("discharge.cancelled.v1", {})]
    assert {step.state for step in derive_plan(events).values()} == {StepState.NOT_NEEDED}
