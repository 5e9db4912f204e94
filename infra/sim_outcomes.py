"""What the platform achieved for patients in one simulated month, from the run's events alone (pure).

Each discharge's plan is read as it stood at the moment the patient left: the specialist acknowledged, the ride home
confirmed, a follow-up visit booked within 7 days. A discharge is served when every step it needs stood done; every
other discharge must have had each missing step flagged at risk, with a reason, by then (a flag raised afterwards
does not count). Shares are fractions of all discharges.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.case_id import case_id_for
from shared.events import (
    DischargeRegistered,
    FollowupAtRisk,
    FollowupAttended,
    FollowupCancelled,
    FollowupScheduled,
    PatientReadmitted,
    ReferralCompleted,
    ReferralCreated,
    ReferralDeclined,
    RideAtRisk,
    RideFailed,
    RideStatusChanged,
    SpecialistAcknowledged,
    SpecialistAssigned,
    SpecialistAtRisk,
    SpecialistReassigned,
    SpecialistReleased,
    SpecialistUnmatched,
)
from shared.events.assignment import UnmatchedReason
from shared.events.transport import Leg, RideStatus

from .event_log import Logged
from .scenario import LOCAL_ZONE, Scenario, Stay

if TYPE_CHECKING:
    from .simulate import ArmRun

CONFIRMED = (RideStatus.ACCEPTED, RideStatus.DRIVER_ASSIGNED, RideStatus.PICKED_UP, RideStatus.COMPLETED)
STEPS = ("specialist", "ride_home", "followup")
KEYS = (
    "discharges",
    "specialist_ack_before_discharge",
    "ride_confirmed_before_discharge",
    "followup_booked_7d",
    "followup_attended_7d",
    "followup_attended_30d",
    "served_before_discharge",
    "flagged_at_risk_before_discharge",
    "unflagged_failures",
    "caseload_max_over_mean",
    "ack_minutes_p50",
    "ack_minutes_p90",
)


@dataclass
class CaseFacts:
    """One case's events, in log order."""

    events: list[Logged] = field(default_factory=list)

    def before(self, moment: datetime) -> Iterable[Logged]:
        return (e for e in self.events if e.time <= moment)


@dataclass(frozen=True)
class Verdict:
    """One discharge at the moment the patient left."""

    facility: str
    discharged_at: datetime
    served: dict[str, bool]  # step → done (steps not needed are left out)
    flags: dict[str, str]  # step → the reason it was flagged at risk by then
    acknowledged_at: datetime | None
    booked_7d: bool
    attended_7d: bool
    attended_30d: bool
    declined_peer_support: bool

    @property
    def is_served(self) -> bool:
        return all(self.served.values())

    @property
    def is_flagged(self) -> bool:
        return not self.is_served and all(step in self.flags for step, done in self.served.items() if not done)


def by_case(events: Iterable[Logged]) -> dict[str, CaseFacts]:
    cases: dict[str, CaseFacts] = defaultdict(CaseFacts)
    for logged in events:
        cases[logged.case_id].events.append(logged)
    return cases


def judge(stay: Stay, facts: CaseFacts) -> Verdict:
    assert stay.discharge_at is not None
    left = stay.discharge_at
    specialist_state, specialist_flag, declined = None, None, False
    ride_state, ride_flag = None, None
    booked: dict[str, datetime] = {}
    followup_flag = None
    for logged in facts.before(left):
        event = logged.event
        if isinstance(event, SpecialistAssigned | SpecialistReassigned):
            specialist_state = "offered"
        elif isinstance(event, SpecialistAcknowledged):
            specialist_state = "acknowledged"
        elif isinstance(event, SpecialistReleased):
            specialist_state = None
        elif isinstance(event, SpecialistUnmatched):
            specialist_state = None
            declined = UnmatchedReason.NO_CONSENT in event.reasons
            specialist_flag = ", ".join(str(r) for r in event.reasons)
        elif isinstance(event, RideStatusChanged) and event.leg is Leg.HOME:
            ride_state = event.status
            if event.status in (RideStatus.FAILED, RideStatus.CANCELLED, RideStatus.NO_SHOW):
                ride_flag = event.detail or str(event.status)
        elif isinstance(event, SpecialistAtRisk):
            specialist_flag = event.reason
        elif isinstance(event, RideFailed | RideAtRisk) and event.leg is Leg.HOME:
            ride_flag = event.reason
        elif isinstance(event, FollowupScheduled):
            booked[event.appointment_id] = event.starts_at
        elif isinstance(event, FollowupCancelled):
            booked.pop(event.appointment_id, None)
        elif isinstance(event, FollowupAtRisk):
            followup_flag = event.reason
    served: dict[str, bool] = {
        "ride_home": ride_state in CONFIRMED,
        "followup": any(_within_days(left, starts, 7) for starts in booked.values()),
    }
    if not declined:
        served["specialist"] = specialist_state == "acknowledged"
    flags = {
        step: reason
        for step, reason in (("specialist", specialist_flag), ("ride_home", ride_flag), ("followup", followup_flag))
        if reason
    }
    acknowledged = next((e.time for e in facts.events if isinstance(e.event, SpecialistAcknowledged)), None)
    attended = [e.event for e in facts.events if isinstance(e.event, FollowupAttended)]
    return Verdict(
        facility=stay.facility.id,
        discharged_at=left,
        served=served,
        flags=flags,
        acknowledged_at=acknowledged,
        booked_7d=any(
            _within_days(left, e.event.starts_at, 7) for e in facts.events if isinstance(e.event, FollowupScheduled)
        ),
        attended_7d=any(a.within_7_days for a in attended),
        attended_30d=any(a.within_30_days for a in attended),
        declined_peer_support=declined,
    )


def _within_days(discharged: datetime, starts: datetime, days: int) -> bool:
    # Calendar days in the region's time zone, as the HEDIS follow-up measures count them.
    gap = (starts.astimezone(LOCAL_ZONE).date() - discharged.astimezone(LOCAL_ZONE).date()).days
    return 0 <= gap <= days


def summarise(verdicts: list[Verdict], caseload_ratio: float | None) -> dict[str, Any]:
    total = len(verdicts)

    def share(count: int) -> float:
        return round(count / total, 4) if total else 0.0

    # Negative minutes: acknowledged before the patient left, which is what early planning is for.
    ack_minutes = sorted(
        (v.acknowledged_at - v.discharged_at).total_seconds() / 60 for v in verdicts if v.acknowledged_at
    )
    served = sum(v.is_served for v in verdicts)
    flagged = sum(v.is_flagged for v in verdicts)
    return {
        "discharges": total,
        "specialist_ack_before_discharge": share(sum(v.served.get("specialist", False) for v in verdicts)),
        "ride_confirmed_before_discharge": share(sum(v.served["ride_home"] for v in verdicts)),
        "followup_booked_7d": share(sum(v.booked_7d for v in verdicts)),
        "followup_attended_7d": share(sum(v.attended_7d for v in verdicts)),
        "followup_attended_30d": share(sum(v.attended_30d for v in verdicts)),
        "served_before_discharge": share(served),
        "flagged_at_risk_before_discharge": share(flagged),
        "unflagged_failures": total - served - flagged,
        "declined_peer_support": share(sum(v.declined_peer_support for v in verdicts)),
        "caseload_max_over_mean": caseload_ratio,
        "ack_minutes_p50": _percentile(ack_minutes, 0.5),
        "ack_minutes_p90": _percentile(ack_minutes, 0.9),
        "flag_reasons": dict(
            sorted(Counter(f"{step}: {reason}" for v in verdicts for step, reason in v.flags.items()).most_common(12))
        ),
        "unflagged_steps": dict(
            Counter(
                step
                for v in verdicts
                if not v.is_served and not v.is_flagged
                for step, done in v.served.items()
                if not done and step not in v.flags
            )
        ),
    }


def _percentile(values: list[float], q: float) -> float | None:
    if len(values) < 2:
        return round(values[0], 1) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 1)


def caseload_ratio(events: Iterable[Logged], specialists: Iterable[str], at: datetime) -> float | None:
    """Max ÷ mean active cases per specialist on the roster at `at` (1.0 is perfectly even)."""
    current: dict[str, str] = {}
    for logged in events:
        if logged.time > at:
            continue
        event = logged.event
        if isinstance(event, SpecialistAssigned | SpecialistReassigned):
            current[event.case_id] = event.specialist.specialist_id
        elif isinstance(event, SpecialistReleased | SpecialistUnmatched):
            current.pop(event.case_id, None)
    loads = Counter(current.values())
    roster = list(specialists)
    mean = sum(loads[s] for s in roster) / len(roster) if roster else 0
    return round(max(loads[s] for s in roster) / mean, 3) if mean else None


def outcomes_of(scenario: Scenario, run: ArmRun, specialists: Iterable[str]) -> dict[str, Any]:
    cases = by_case(run.events)
    verdicts = [
        judge(stay, cases.get(case_id_for(stay.facility.id, stay.visit_number), CaseFacts()))
        for stay in scenario.discharges
    ]
    ratio = caseload_ratio(run.events, specialists, scenario.config.end)
    result = summarise(verdicts, ratio)
    result["by_facility"] = {
        facility.id: summarise([v for v in verdicts if v.facility == facility.id], None)
        for facility in scenario.facilities
    }
    result.update(_loop_and_readmissions(scenario, run.events))
    result["run"] = {
        "steps": run.steps,
        "events": len(run.events),
        "dead_letters": run.dead_letters,
        "simulated_until": run.end.isoformat() if run.end else None,
        "wall_seconds": round(run.wall_s, 1),
        **{k: v for k, v in run.stats.items() if not k.startswith("_")},
    }
    return result


def _loop_and_readmissions(scenario: Scenario, events: list[Logged]) -> dict[str, Any]:
    created = {e.event.referral_id for e in events if isinstance(e.event, ReferralCreated)}
    completed = {e.event.referral_id for e in events if isinstance(e.event, ReferralCompleted)}
    declined = {e.event.referral_id for e in events if isinstance(e.event, ReferralDeclined)}
    registered = {e.case_id for e in events if isinstance(e.event, DischargeRegistered)}
    expected_readmissions = sum(
        1
        for stay in scenario.stays
        if stay.readmission_of
        and any(
            prior.discharge_at and timedelta(0) <= stay.admitted_at - prior.discharge_at <= timedelta(days=30)
            for prior in scenario.stays
            if prior.visit_number == stay.readmission_of
        )
    )
    return {
        "discharges_registered_by_intake": len(registered),
        "referrals_created": len(created),
        "referrals_completed": len(completed & created),
        "referrals_declined": len(declined & created),
        "referrals_closed": round(len((completed | declined) & created) / len(created), 4) if created else 0.0,
        "readmissions_30d_expected": expected_readmissions,
        "readmissions_30d_seen": len({e.case_id for e in events if isinstance(e.event, PatientReadmitted)}),
    }
