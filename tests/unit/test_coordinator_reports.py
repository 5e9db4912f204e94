"""Reports: a seeded month of cases gives the follow-up rates that a hand count of the same seed gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.coordinator.reports import CaseHistory, as_csv, as_rows, build_reports

pytestmark = pytest.mark.unit
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def seeded_month(seed: int) -> tuple[list[CaseHistory], dict[str, dict[str, int]]]:
    """Cases with planned outcomes, and the hand count of those outcomes, computed from the plan itself."""
    rng = random.Random(seed)
    histories, hand = [], {}
    for n in range(300):
        facility = rng.choice(("PSY_A", "REHAB_B", "WM_C"))
        measure = {"PSY_A": "FUH", "REHAB_B": "FUI", "WM_C": "FUI"}[facility]
        discharged = START + timedelta(days=rng.randrange(0, 31), hours=rng.randrange(6, 20))
        attended_day = rng.choice((None, None, 0, 1, 3, 6, 7, 8, 12, 29, 30, 31, 45))
        cancelled = rng.random() < 0.05
        case_id = f"case-{seed}-{n}"
        events = [("discharge.registered.v1", discharged, {"discharge": {"discharged_at": discharged.isoformat()}})]
        events.append(("followup.scheduled.v1", discharged, {"measure": measure}))
        if attended_day is not None:
            at = discharged + timedelta(days=attended_day)
            events.append(("followup.attended.v1", at, {"attended_at": at.isoformat()}))
        if cancelled:
            events.append(("discharge.cancelled.v1", discharged, {}))
        histories.append(CaseHistory(case_id, facility, events))
        if cancelled:
            continue
        count = hand.setdefault(facility, {"den": 0, "7": 0, "30": 0})
        count["den"] += 1
        first = 1 if measure == "FUH" else 0  # HEDIS FUH: a visit on the day of discharge does not count
        if attended_day is not None and first <= attended_day <= 7:
            count["7"] += 1
        if attended_day is not None and first <= attended_day <= 30:
            count["30"] += 1
    return histories, hand


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_followup_rates_match_a_hand_count(seed: int) -> None:
    histories, hand = seeded_month(seed)
    reports = build_reports(histories, START, END)
    assert set(reports) == set(hand)
    for facility, count in hand.items():
        report = reports[facility]
        assert len(report.discharges) == count["den"]
        assert len(report.followup_7d) == count["7"]
        assert len(report.followup_30d) == count["30"]
        assert report.rate(report.followup_7d) == pytest.approx(count["7"] / count["den"])


def test_same_day_visit_counts_for_fui_but_not_fuh() -> None:
    day = datetime(2026, 10, 10, 9, tzinfo=UTC)
    same_day = [("discharge.registered.v1", day, {}), ("followup.attended.v1", day + timedelta(hours=5), {})]
    fuh = CaseHistory("a", "PSY", [*same_day[:1], ("followup.scheduled.v1", day, {"measure": "FUH"}), same_day[1]])
    fui = CaseHistory("b", "WM", [*same_day[:1], ("followup.scheduled.v1", day, {"measure": "FUI"}), same_day[1]])
    reports = build_reports([fuh, fui], START, END)
    assert reports["PSY"].followup_7d == []
    assert reports["WM"].followup_7d == ["b"]


def test_csv_has_one_row_per_facility() -> None:
    histories, hand = seeded_month(4)
    lines = as_csv(build_reports(histories, START, END)).strip().splitlines()
    assert lines[0].startswith("facility_id,discharges,followup_7d")
    assert len(lines) == 1 + len(hand)


def test_a_readmission_counts_against_the_discharge_it_followed_unless_the_admission_was_cancelled() -> None:
    discharged = START + timedelta(days=3)

    def stay(case_id: str) -> CaseHistory:
        return CaseHistory(
            case_id,
            "PSY_A",
            [("discharge.registered.v1", discharged, {"discharge": {"discharged_at": discharged.isoformat()}})],
        )

    def admission(case_id: str, previous: str, days: int, *, cancelled: bool = False) -> CaseHistory:
        at = discharged + timedelta(days=days)
        events = [("patient.readmitted.v1", at, {"previous_case_id": previous, "days_since_discharge": days})]
        if cancelled:
            events.append(("admission.cancelled.v1", at, {}))
        return CaseHistory(case_id, "PSY_A", events)

    histories = [
        stay("back-in-12-days"),
        stay("cancelled-admit"),
        stay("stayed-out"),
        admission("new-1", "back-in-12-days", 12),
        admission("new-2", "cancelled-admit", 5, cancelled=True),
    ]
    (report,) = build_reports(histories, START, END).values()
    assert sorted(report.discharges) == ["back-in-12-days", "cancelled-admit", "stayed-out"]
    assert report.readmissions_30d == ["back-in-12-days"]


@pytest.mark.parametrize("seed", [5, 6])
def test_each_measure_has_its_own_numerators_and_denominator(seed: int) -> None:
    histories, _ = seeded_month(seed)
    reports = build_reports(histories, START, END)
    for report in reports.values():
        counted = report.measures
        assert sum(len(c["denominator"]) for c in counted.values()) == len(report.discharges)
        assert sorted(case for c in counted.values() for case in c["7d"]) == sorted(report.followup_7d)
        assert sorted(case for c in counted.values() for case in c["30d"]) == sorted(report.followup_30d)
    # The seeded month plans FUH at the psychiatric unit and FUI at the other two.
    assert set(reports["PSY_A"].measures) == {"FUH"} and set(reports["WM_C"].measures) == {"FUI"}
    (row,) = [r for r in as_rows(reports) if r["facility_id"] == "PSY_A"]
    assert (row["fuh_denominator"], row["fuh_7d"], row["fui_denominator"]) == (
        len(reports["PSY_A"].discharges),
        len(reports["PSY_A"].followup_7d),
        0,
    )
