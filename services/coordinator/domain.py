"""How a case's plan reads from its timeline: one state per step, derived from the events seen so far."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    AT_RISK = "at_risk"
    FAILED = "failed"
    NOT_NEEDED = "not_needed"


@dataclass
class Step:
    state: StepState = StepState.PENDING
    details: dict[str, Any] = field(default_factory=dict)


STEP_OF_TYPE: dict[str, tuple[str, StepState]] = {
    "specialist.assigned": ("specialist", StepState.IN_PROGRESS),
    "specialist.reassigned": ("specialist", StepState.IN_PROGRESS),
    "specialist.acknowledged": ("specialist", StepState.DONE),
    "specialist.unmatched": ("specialist", StepState.FAILED),  # shown red, with its reasons
    "specialist.at-risk": ("specialist", StepState.AT_RISK),  # nobody has accepted and the discharge is near
    "specialist.released": ("specialist", StepState.NOT_NEEDED),
    "ride.failed": ("ride_home", StepState.FAILED),
    "ride.at-risk": ("ride_home", StepState.AT_RISK),
    "followup.scheduled": ("followup", StepState.IN_PROGRESS),
    "followup.attended": ("followup", StepState.DONE),
    "followup.missed": ("followup", StepState.AT_RISK),
    "followup.at-risk": ("followup", StepState.AT_RISK),
    "followup.cancelled": ("followup", StepState.PENDING),
}

PLAN_STEPS = ("specialist", "ride_home", "followup", "referrals", "notifications")

# Each referral, and each notification, has a state of its own; the step reads all of them (`_aggregate`).
REFERRAL_STATE = {
    "referral.created": StepState.IN_PROGRESS,
    "referral.accepted": StepState.IN_PROGRESS,
    "referral.completed": StepState.DONE,
    "referral.declined": StepState.AT_RISK,
}
REFERRAL_STATUS_STATE = {
    "rejected": StepState.AT_RISK,
    "cancelled": StepState.AT_RISK,
    "failed": StepState.AT_RISK,
    "completed": StepState.DONE,
}
NOTIFICATION_STATE = {
    "notification.delivered": StepState.DONE,
    "notification.acknowledged": StepState.DONE,
    "notification.failed": StepState.FAILED,  # nobody was told: staff must step in
}

RIDE_STATE = {
    "requested": StepState.IN_PROGRESS,
    "accepted": StepState.IN_PROGRESS,
    "driver_assigned": StepState.IN_PROGRESS,
    "picked_up": StepState.IN_PROGRESS,
    "completed": StepState.DONE,
    "cancelled": StepState.AT_RISK,
    "no_show": StepState.AT_RISK,
    "rejected": StepState.IN_PROGRESS,
    "failed": StepState.FAILED,
}

CASE_STATUS_OF_TYPE = {
    "discharge.pending": "pending",
    "discharge.registered": "discharged",
    "discharge.cancelled": "cancelled",
    "patient.readmitted": "readmitted",
}


def unversioned(ce_type: str) -> str:
    return ce_type.rsplit(".v", 1)[0]


def derive_plan(timeline: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Step]:
    """Replay (ce_type, data) pairs in order into the plan's steps."""
    plan = {name: Step() for name in PLAN_STEPS}
    referrals: dict[str, StepState] = {}
    notifications: dict[str, StepState] = {}
    failed_reasons: dict[str, str] = {}
    for ce_type, data in timeline:
        kind = unversioned(ce_type)
        if kind in REFERRAL_STATE or kind == "referral.status-changed":
            state = REFERRAL_STATE.get(kind) or REFERRAL_STATUS_STATE.get(data.get("status", ""))
            referrals[data.get("referral_id", "")] = state or StepState.IN_PROGRESS
        elif kind in NOTIFICATION_STATE:
            notification_id = data.get("notification_id", "")
            notifications[notification_id] = NOTIFICATION_STATE[kind]
            if kind == "notification.failed":
                failed_reasons[notification_id] = str(data.get("reason"))
            else:
                failed_reasons.pop(notification_id, None)
        elif kind == "ride.status-changed" and data.get("leg") == "home":
            plan["ride_home"] = Step(
                RIDE_STATE.get(data.get("status", ""), StepState.IN_PROGRESS),
                {"ride_id": data.get("ride_id"), "status": data.get("status")},
            )
        elif kind in STEP_OF_TYPE:
            name, state = STEP_OF_TYPE[kind]
            detail_keys = ("specialist", "reasons", "appointment_id", "starts_at", "referral_id", "reason")
            plan[name] = Step(state, {k: data[k] for k in detail_keys if k in data})
        elif kind == "discharge.cancelled":
            plan = {name: Step(StepState.NOT_NEEDED) for name in plan}
            referrals.clear()
            notifications.clear()
    if referrals:
        # An open referral is still being worked; one closed is a need met; only declined ones leave it at risk.
        states = set(referrals.values())
        state = next((s for s in (StepState.IN_PROGRESS, StepState.DONE) if s in states), StepState.AT_RISK)
        counts = {s.value: list(referrals.values()).count(s) for s in states}
        plan["referrals"] = Step(state, {"referrals": counts})
    if notifications:
        details: dict[str, Any] = {"notifications": len(notifications)}
        if failed_reasons:
            details["failed"] = failed_reasons
        state = StepState.FAILED if failed_reasons else StepState.DONE
        plan["notifications"] = Step(state, details)
    return plan


def case_status(current: str, ce_type: str) -> str:
    return CASE_STATUS_OF_TYPE.get(unversioned(ce_type), current)


def patient_display(family_name: str | None, given_name: str | None) -> str | None:
    """What the board shows of a name: family name and initial, enough to find the person, no more."""
    if not family_name and not given_name:
        return None
    initial = f"{given_name[0]}." if given_name else ""
    return f"{family_name or '?'}, {initial}".strip().rstrip(",")
