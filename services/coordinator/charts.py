"""Small inline SVG bar charts for the reports page: no plotting library, no JavaScript, prints well."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, percent: bool = False) -> str:
    width, bar_h, gap, left = 520, 22, 8, 170
    height = 30 + len(labels) * (bar_h + gap)
    top = max([*values, 1.0 if percent else 0.0]) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 28 + i * (bar_h + gap)
        length = (width - left - 60) * (value / top)
        shown = f"{value:.0%}" if percent else f"{value:g}"
        parts += [
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>',
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="#3b6ea5"/>',
            f'<text x="{left + length + 6:.1f}" y="{y + 15}" font-size="12">{shown}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)
