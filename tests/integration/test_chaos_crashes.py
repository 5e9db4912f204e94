"""Process crashes at CI size: services killed with SIGKILL at random moments while discharges flow, each started
again; every discharge ends with exactly one specialist answer, one ride home, one follow-up answer and one match per
need: counted from the topics and from the services' own databases. Their logs hold none of the seeded PHI."""

from __future__ import annotations

import pytest

from infra.chaos_scenarios import process_crashes
from infra.chaos_security import scan_logs
from infra.stack import Stack

pytestmark = pytest.mark.integration


async def test_killed_and_restarted_services_leave_exactly_one_plan_per_discharge(
    chaos_stack: Stack, chaos_figures: dict[str, int]
) -> None:
    outcome = await process_crashes(
        chaos_stack, chaos_stack.bootstrap_servers, discharges=30, rate_per_s=2.0, kills=3, seed=5, settle_s=150
    )
    for name, value in (
        ("discharges_sent", len(outcome.discharges)),
        ("plans_complete", outcome.verdict.complete),
        ("duplicates", outcome.verdict.duplicates),
        ("lost", outcome.verdict.lost),
        ("kills", len(outcome.kills)),
    ):
        chaos_figures[name] = chaos_figures.get(name, 0) + value
    print(outcome.summary())

    assert len(outcome.kills) == 3
    assert outcome.verdict.problems == []
    assert outcome.verdict.complete == len(outcome.discharges)
    assert [str(p) for p in outcome.database_problems] == []

    leaks = scan_logs([chaos_stack.state_dir / "log"], [m for d in outcome.discharges for m in d.phi])
    chaos_figures["phi_in_logs"] = chaos_figures.get("phi_in_logs", 0) + len(leaks)
    assert [str(leak) for leak in leaks] == []
