"""Minimal SVG charts for benchmark output (a scatter, and named lines): no plotting library needed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, HEIGHT, PAD = 640, 320, 48
COLOURS = ("#3b6ea5", "#c0504d", "#9bbb59", "#8064a2")
Placer = Callable[[float, float], tuple[float, float]]


def line_chart(title: str, points: Sequence[tuple[float, float]], x_label: str, y_label: str) -> str:
    """One series as dots (latency of each discharge by when it arrived)."""
    place, x_max, y_max = _scale(points)
    placed = (place(x, y) for x, y in points)
    dots = "".join(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2" fill="{COLOURS[0]}"/>' for cx, cy in placed)
    return _frame(title, dots, f"{escape(x_label)} (max {x_max:.1f})", f"{escape(y_label)} (max {y_max:.0f})")


def lines_chart(title: str, series: dict[str, Sequence[tuple[float, float]]], x_label: str, y_label: str) -> str:
    """Several named series as lines with their points marked (throughput against offered rate)."""
    place, x_max, y_max = _scale([p for line in series.values() for p in line])
    drawn = []
    for n, (label, line) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        placed = [place(x, y) for x, y in sorted(line)]
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in placed)
        drawn.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        drawn += [f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>' for cx, cy in placed]
        drawn.append(
            f'<text x="{WIDTH - PAD}" y="{PAD + 14 * n}" font-size="11" text-anchor="end" fill="{colour}">'
            f"{escape(label)}</text>"
        )
    return _frame(title, "".join(drawn), f"{escape(x_label)} (max {x_max:.1f})", f"{escape(y_label)} (max {y_max:.1f})")


def _scale(points: Sequence[tuple[float, float]]) -> tuple[Placer, float, float]:
    """Axes from zero to the largest value: where a point goes, and the two maxima."""
    x_max = max((p[0] for p in points), default=0.0) or 1.0
    y_max = max((p[1] for p in points), default=0.0) or 1.0

    def place(x: float, y: float) -> tuple[float, float]:
        return PAD + (WIDTH - 2 * PAD) * x / x_max, HEIGHT - PAD - (HEIGHT - 2 * PAD) * y / y_max

    return place, x_max, y_max


def _frame(title: str, drawn: str, x_caption: str, y_caption: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<text x="{PAD}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" font-size="11" text-anchor="end">{x_caption}</text>'
        f'<text x="4" y="{PAD - 8}" font-size="11">{y_caption}</text>{drawn}</svg>'
    )
