"""Operational reports per facility and period, computed from cases' timelines.

The follow-up rates are FUH/FUI/FUA-style operational proxies (numerator/denominator with the case list), not
certified HEDIS results: HEDIS FUH excludes a visit on the day of discharge; FUI and FUA count it.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.appointment import FollowupMeasure

from .domain import unversioned

SAME_DAY_EXCLUDED = {"FUH"}


@dataclass(frozen=True)
class CaseHistory:
    case_id: str
    facility_id: str | None
    events: Sequence[tuple[str, datetime, dict[str, Any]]]  # (ce_type, time, data), in order


@dataclass
class FacilityReport:
    facility_id: str
    discharges: list[str] = field(default_factory=list)
    followup_7d: list[str] = field(default_factory=list)
    followup_30d: list[str] = field(default_factory=list)
    rides_completed: int = 0
    rides_failed: int = 0
    rides_no_show: int = 0
    ack_minutes: list[float] = field(default_factory=list)
    referrals_created: int = 0
    referrals_closed: int = 0
    readmissions_30d: list[str] = field(default_factory=list)
    # Per measure (FUH, FUI, ...): the case lists of its denominator and of its 7- and 30-day numerators.
    measures: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def rate(self, numerator: list[str]) -> float | None:
        return len(numerator) / len(self.discharges) if self.discharges else None

    @property
    def ack_p50(self) -> float | None:
        return statistics.median(self.ack_minutes) if self.ack_minutes else None

    @property
    def ack_p90(self) -> float | None:
        if not self.ack_minutes:
            return None
        ordered = sorted(self.ack_minutes)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def discharge_time(history: CaseHistory) -> datetime | None:
    for ce_type, at, data in history.events:
        if unversioned(ce_type) == "discharge.registered":
            return _parse(data.get("discharge", {}).get("discharged_at")) or at
    return None


def readmitted_within_30_days(histories: Iterable[CaseHistory]) -> set[str]:
    """The earlier cases that a readmission points back to. patient.readmitted belongs to the new admission's case,
    but the readmission counts against the discharge it followed; an admission cancelled later (A11) does not count."""
    earlier: set[str] = set()
    for history in histories:
        if any(unversioned(t) == "admission.cancelled" for t, _, _ in history.events):
            continue
        for ce_type, _, data in history.events:
            if unversioned(ce_type) == "patient.readmitted" and data.get("days_since_discharge", 99) <= 30:
                earlier.add(str(data.get("previous_case_id")))
    return earlier


def build_reports(histories: Iterable[CaseHistory], start: datetime, end: datetime) -> dict[str, FacilityReport]:
    """Per facility: cases discharged in [start, end) and what followed them."""
    histories = list(histories)
    readmitted = readmitted_within_30_days(histories)
    reports: dict[str, FacilityReport] = {}
    for history in histories:
        discharged = discharge_time(history)
        cancelled = any(unversioned(t) == "discharge.cancelled" for t, _, _ in history.events)
        if discharged is None or cancelled or not (start <= discharged < end):
            continue
        report = reports.setdefault(history.facility_id or "?", FacilityReport(history.facility_id or "?"))
        report.discharges.append(history.case_id)
        measure = "FUH"
        ride_states: dict[str, str] = {}
        for ce_type, at, data in history.events:
            kind = unversioned(ce_type)
            if kind == "followup.scheduled" and data.get("measure"):
                measure = data["measure"]
            elif kind == "followup.attended":
                attended = _parse(data.get("attended_at")) or at
                days = (attended.date() - discharged.date()).days
                first_day = 1 if measure in SAME_DAY_EXCLUDED else 0
                if first_day <= days <= 7 and history.case_id not in report.followup_7d:
                    report.followup_7d.append(history.case_id)
                if first_day <= days <= 30 and history.case_id not in report.followup_30d:
                    report.followup_30d.append(history.case_id)
            elif kind == "ride.status-changed" and data.get("leg") == "home":
                ride_states[data.get("ride_id", "")] = data.get("status", "")
            elif kind == "ride.failed" and data.get("leg") == "home":
                ride_states[data.get("ride_id", "")] = "failed"
            elif kind == "specialist.acknowledged" and not any(
                unversioned(t) == "specialist.acknowledged" for t, a, _ in history.events if a < at
            ):
                acknowledged = _parse(data.get("acknowledged_at")) or at
                report.ack_minutes.append(max(0.0, (acknowledged - discharged).total_seconds() / 60))
            elif kind == "referral.created":
                report.referrals_created += 1
            elif kind == "referral.completed":
                report.referrals_closed += 1
        if history.case_id in readmitted:
            report.readmissions_30d.append(history.case_id)
        counted = report.measures.setdefault(measure, {"denominator": [], "7d": [], "30d": []})
        counted["denominator"].append(history.case_id)
        for window, numerator in (("7d", report.followup_7d), ("30d", report.followup_30d)):
            if history.case_id in numerator:
                counted[window].append(history.case_id)
        finals = list(ride_states.values())
        report.rides_completed += finals.count("completed")
        report.rides_failed += finals.count("failed")
        report.rides_no_show += finals.count("no_show")
    return dict(sorted(reports.items()))


CSV_COLUMNS = (
    "facility_id",
    "discharges",
    "followup_7d",
    "followup_7d_rate",
    "followup_30d",
    "followup_30d_rate",
    "rides_completed",
    "rides_failed",
    "rides_no_show",
    "ack_minutes_p50",
    "ack_minutes_p90",
    "referrals_created",
    "referrals_closed",
    "readmissions_30d",
    *(f"{m.value.lower()}_{part}" for m in FollowupMeasure for part in ("denominator", "7d", "30d")),
)


def as_rows(reports: dict[str, FacilityReport]) -> list[dict[str, Any]]:
    rows = []
    for report in reports.values():
        rate7, rate30 = report.rate(report.followup_7d), report.rate(report.followup_30d)
        rows.append(
            {
                "facility_id": report.facility_id,
                "discharges": len(report.discharges),
                "followup_7d": len(report.followup_7d),
                "followup_7d_rate": None if rate7 is None else round(rate7, 4),
                "followup_30d": len(report.followup_30d),
                "followup_30d_rate": None if rate30 is None else round(rate30, 4),
                "rides_completed": report.rides_completed,
                "rides_failed": report.rides_failed,
                "rides_no_show": report.rides_no_show,
                "ack_minutes_p50": report.ack_p50,
                "ack_minutes_p90": report.ack_p90,
                "referrals_created": report.referrals_created,
                "referrals_closed": report.referrals_closed,
                "readmissions_30d": len(report.readmissions_30d),
                **{
                    f"{m.value.lower()}_{part}": len(report.measures.get(m.value, {}).get(part, []))
                    for m in FollowupMeasure
                    for part in ("denominator", "7d", "30d")
                },
            }
        )
    return rows


def as_csv(reports: dict[str, FacilityReport]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(as_rows(reports))
    return buffer.getvalue()
