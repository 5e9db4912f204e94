"""The simulation's report: var/sim/result.json (the figures) and var/sim/report.html (readable, inline SVG plots)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .scenario import Scenario

if TYPE_CHECKING:
    from .simulate import Arm

SHARES = (
    ("specialist_ack_before_discharge", "specialist acknowledged before the patient left"),
    ("ride_confirmed_before_discharge", "ride home confirmed before the discharge time"),
    ("followup_booked_7d", "follow-up booked within 7 days"),
    ("followup_attended_7d", "follow-up attended within 7 days"),
    ("followup_attended_30d", "follow-up attended within 30 days"),
    ("served_before_discharge", "every step done before the patient left"),
    ("flagged_at_risk_before_discharge", "each missing step flagged at risk, with a reason, before"),
)
OTHER_FIGURES = (
    ("unflagged_failures", "discharges neither served nor flagged in time"),
    ("caseload_max_over_mean", "caseload fairness: max ÷ mean active cases (1 is even)"),
    ("ack_minutes_p50", "minutes from discharge to acknowledgement, median (negative: before)"),
    ("ack_minutes_p90", "minutes from discharge to acknowledgement, 90th percentile"),
    ("referrals_created", "referrals made to community services"),
    ("referrals_closed", "share of referrals whose loop closed (completed or declined)"),
    ("readmissions_30d_seen", "30-day readmissions the platform recognised"),
    ("readmissions_30d_expected", "30-day readmissions in the scenario"),
)
COLOURS = ("#3b6ea5", "#e08a2e", "#6aa84f", "#9b59b6")


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    config = scenario.config
    return {
        "seed": config.seed,
        "days": config.days,
        "start": config.start.isoformat(),
        "facilities": [{"id": f.id, "kind": f.kind.value, "channel": f.channel.value} for f in scenario.facilities],
        "discharges": len(scenario.discharges),
        "discharges_per_day": config.discharges_per_day,
        "specialists": config.specialists,
        "slots_per_weekday": config.slots_per_day,
        "vendor_acceptance": config.vendor_acceptance,
        "no_answer_share": config.no_answer_share,
        "step_minutes": config.step_minutes,
        "announced_share": config.announced_share,
        "readmitted_share": config.readmitted_share,
    }


def write_report(
    scenario: Scenario, arms: Sequence[Arm], results: dict[str, dict[str, Any]], out: Path, *, wall_s: float
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    main, *others = arms
    document = {
        **results[main.name],
        "arm": main.name,
        "arms": {arm.name: results[arm.name] for arm in others},
        "scenario": scenario_summary(scenario),
        "wall_seconds": round(wall_s, 1),
    }
    result_path = out / "result.json"
    result_path.write_text(json.dumps(document, indent=2, default=str))
    report_path = out / "report.html"
    report_path.write_text(render(scenario, arms, results, wall_s))
    return [result_path, report_path]


def render(scenario: Scenario, arms: Sequence[Arm], results: dict[str, dict[str, Any]], wall_s: float) -> str:
    summary = scenario_summary(scenario)
    main = results[arms[0].name]
    rows = "".join(
        f"<tr><th>{escape(label)}</th>"
        + "".join(f"<td>{_shown(results[arm.name].get(key))}</td>" for arm in arms)
        + "</tr>"
        for key, label in (*SHARES, *OTHER_FIGURES)
    )
    facility_rows = "".join(
        f"<tr><th>{escape(fid)}</th><td>{f['discharges']}</td>"
        + "".join(f"<td>{_shown(f[key])}</td>" for key, _ in SHARES)
        + f"<td>{f['unflagged_failures']}</td></tr>"
        for fid, f in main["by_facility"].items()
    )
    reasons = "".join(f"<li>{escape(reason)}: {count}</li>" for reason, count in main["flag_reasons"].items())
    shares_chart = grouped_bars(
        "Outcomes by arm (share of all discharges)",
        [label for _, label in SHARES],
        [(arm.name, [results[arm.name][key] or 0.0 for key, _ in SHARES]) for arm in arms],
    )
    facility_chart = stacked_bars(
        f"How each discharge ended ({arms[0].name})",
        list(main["by_facility"]),
        [
            ("served", [f["served_before_discharge"] for f in main["by_facility"].values()]),
            ("flagged at risk", [f["flagged_at_risk_before_discharge"] for f in main["by_facility"].values()]),
            (
                "neither",
                [
                    f["unflagged_failures"] / f["discharges"] if f["discharges"] else 0
                    for f in main["by_facility"].values()
                ],
            ),
        ],
    )
    facilities = ", ".join(f"{f['id']} ({f['kind']}, {f['channel']})" for f in summary["facilities"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A simulated month of discharges</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}}
th{{text-align:left;font-weight:normal}}thead th{{font-weight:bold}}small{{color:#666}}</style></head><body>
<h1>A simulated month of discharges</h1>
<p>Seed {summary["seed"]}: {summary["discharges"]} discharges over {summary["days"]} days from {escape(facilities)};
{summary["specialists"]} peer specialists ({summary["no_answer_share"]:.0%} never answer),
{summary["slots_per_weekday"]} follow-up slots a weekday, vendor acceptance {summary["vendor_acceptance"]:.0%}.
Every service ran as its own process on simulated time, in steps of {summary["step_minutes"]} minutes;
the whole run took {wall_s / 60:.1f} minutes.</p>
<h2>Outcomes</h2>
<table><thead><tr><th></th>{"".join(f"<th>{escape(arm.name)}</th>" for arm in arms)}</tr></thead>{rows}</table>
<p><small>{"; ".join(f"<b>{escape(arm.name)}</b>: {escape(arm.description)}" for arm in arms)}.</small></p>
{shares_chart}
<h2>By facility ({escape(arms[0].name)})</h2>
<table><thead><tr><th>facility</th><th>discharges</th>{"".join(f"<th>{escape(k)}</th>" for k, _ in SHARES)}
<th>unflagged</th></tr></thead>{facility_rows}</table>
{facility_chart}
<h2>Why discharges were flagged at risk ({escape(arms[0].name)}, most common)</h2><ul>{reasons}</ul>
<p><small>Definitions and the scenario's assumptions: docs/outcomes.md. Figures: result.json.</small></p>
</body></html>
"""


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and 0 <= value <= 1 and not isinstance(value, bool):
        return f"{value:.1%}"
    return escape(str(value))


def grouped_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    """Horizontal bars, one group per label, one bar per series; values are shares (0 to 1)."""
    bar, gap, left, width = 12, 10, 330, 900
    group = bar * len(series) + gap
    height = 50 + group * len(labels) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (name, _) in enumerate(series):
        x = left + n * 150
        parts.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{COLOURS[n % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 16}" y="36" font-size="12">{escape(name)}</text>')
    for i, label in enumerate(labels):
        y0 = 50 + i * group
        parts.append(f'<text x="0" y="{y0 + group / 2}" font-size="12">{escape(label)}</text>')
        for n, (_, values) in enumerate(series):
            length = (width - left - 60) * max(0.0, min(1.0, values[i]))
            y = y0 + n * bar
            parts.append(
                f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar - 2}" '
                f'fill="{COLOURS[n % len(COLOURS)]}"/>'
                f'<text x="{left + length + 4:.1f}" y="{y + bar - 3}" font-size="10">{values[i]:.0%}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(title: str, labels: Sequence[str], parts_of: Sequence[tuple[str, Sequence[float]]]) -> str:
    """One horizontal bar per label, split into the shares of `parts_of` (summing to at most 1)."""
    bar, gap, left, width = 22, 10, 200, 900
    height = 50 + (bar + gap) * len(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (name, _) in enumerate(parts_of):
        x = left + n * 150
        parts.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{COLOURS[n % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 16}" y="36" font-size="12">{escape(name)}</text>')
    span = width - left - 40
    for i, label in enumerate(labels):
        y = 50 + i * (bar + gap)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>')
        x = float(left)
        for n, (_, values) in enumerate(parts_of):
            length = span * max(0.0, values[i])
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}" fill="{COLOURS[n % len(COLOURS)]}"/>'
            )
            if length > 30:
                parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="11" fill="#fff">{values[i]:.0%}</text>')
            x += length
    parts.append("</svg>")
    return "".join(parts)
