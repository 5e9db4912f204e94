"""The repeat check compares what the patients got, not how fast the machine was."""

from __future__ import annotations

from infra.sim_repeat import differences, outcome_figures


def result(ack: float, wall: float, polls: int) -> dict:
    return {
        "specialist_ack_before_discharge": ack,
        "wall_seconds": wall,
        "arms": {
            "a03_only": {"specialist_ack_before_discharge": ack / 2, "run": {"steps": 9, "quiescence_polls": polls}}
        },
    }


def test_runs_that_differ_only_in_speed_are_identical() -> None:
    assert differences(outcome_figures(result(0.8, 100.0, 40)), outcome_figures(result(0.8, 130.0, 55))) == []


def test_every_differing_figure_is_named_by_its_path() -> None:
    found = differences(outcome_figures(result(0.8, 100.0, 40)), outcome_figures(result(0.6, 100.0, 40)))
    assert found == [
        "arms.a03_only.specialist_ack_before_discharge: 0.4 then 0.3",
        "specialist_ack_before_discharge: 0.8 then 0.6",
    ]


def test_a_figure_only_one_run_has_is_a_difference() -> None:
    second = outcome_figures(result(0.8, 100.0, 40)) | {"unflagged_failures": 0}
    assert differences(outcome_figures(result(0.8, 100.0, 40)), second) == ["unflagged_failures: only in run 2"]
