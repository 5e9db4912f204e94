"""A minimal SVG scatter/line chart for benchmark output: no plotting library needed."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def line_chart(title: str, points: Sequence[tuple[float, float]], x_label: str, y_label: str) -> str:
    width, height, pad = 640, 320, 48
    xs = [p[0] for p in points] or [0.0]
    ys = [p[1] for p in points] or [0.0]
    x_max, y_max = max(xs) or 1.0, max(ys) or 1.0

    def place(x: float, y: float) -> tuple[float, float]:
        return pad + (width - 2 * pad) * x / x_max, height - pad - (height - 2 * pad) * y / y_max

    dots = "".join(
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2" fill="#3b6ea5"/>' for cx, cy in (place(x, y) for x, y in points)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="{pad}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">{escape(x_label)} '
        f"(max {x_max:.1f})</text>"
        f'<text x="4" y="{pad - 8}" font-size="11">{escape(y_label)} (max {y_max:.0f})</text>{dots}</svg>'
    )


COLOURS = ("#3b6ea5", "#c0504d", "#9bbb59", "#8064a2")


def lines_chart(title: str, series: dict[str, Sequence[tuple[float, float]]], x_label: str, y_label: str) -> str:
    """Several named series as lines with their points marked, on axes from zero (throughput against offered rate)."""
    width, height, pad = 640, 320, 48
    points = [p for line in series.values() for p in line] or [(0.0, 0.0)]
    x_max, y_max = max(p[0] for p in points) or 1.0, max(p[1] for p in points) or 1.0

    def place(x: float, y: float) -> tuple[float, float]:
        return pad + (width - 2 * pad) * x / x_max, height - pad - (height - 2 * pad) * y / y_max

    drawn = []
    for n, (label, line) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        placed = [place(x, y) for x, y in sorted(line)]
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in placed)
        drawn.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        drawn += [f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>' for cx, cy in placed]
        drawn.append(
            f'<text x="{width - pad}" y="{pad + 14 * n}" font-size="11" text-anchor="end" fill="{colour}">'
            f"{escape(label)}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="{pad}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">{escape(x_label)} '
        f"(max {x_max:.1f})</text>"
        f'<text x="4" y="{pad - 8}" font-size="11">{escape(y_label)} (max {y_max:.1f})</text>{"".join(drawn)}</svg>'
    )
