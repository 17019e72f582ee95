"""The plan's chart: daily dose over time as inline SVG, drawn on the server.

SVG attributes are allowed by the strict CSP (`style-src 'self'`), `style=` attributes are
not: every colour and line style comes from classes in `static/plan.css`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from cds_service.clinical.profile import Language
from cds_service.clinical.titration import PlanDay, fmt

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 120, 14, 34
MONTHS: dict[Language, tuple[str, ...]] = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


@dataclass(frozen=True)
class Line:
    """A horizontal reference line (a dose threshold)."""

    mg: float
    label: str
    css: str


def short_date(day: date, lang: Language) -> str:
    month = MONTHS[lang][day.month - 1]
    return f"{day.day} {month}" if lang == "fr" else f"{month} {day.day}"


def _nice_ceiling(value: float) -> tuple[float, float]:
    """An axis top at or above `value` and a tick step giving at most 6 ticks."""
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500):
        top = math.ceil(value / step) * step
        if top / step <= 6:
            return float(top), float(step)
    return float(math.ceil(value / 1000) * 1000), 1000.0


def axis_top(days: Sequence[PlanDay], lines: Sequence[Line]) -> float:
    """High enough for every dose and for a threshold close above the plan (so it shows)."""
    peak = max((d.mg_per_day for d in days), default=10.0)
    near = [line.mg for line in lines if peak < line.mg <= peak * 1.6]
    return max([peak * 1.15, 10.0, *[mg * 1.08 for mg in near]])


def render_chart(days: Sequence[PlanDay], lines: Sequence[Line], review: date | None, *, title: str,
                 label: str, lang: Language) -> str:
    """The SVG element (a string of markup) for `days`; empty when there is nothing to draw."""
    if not days:
        return ""
    top, step = _nice_ceiling(axis_top(days, lines))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    column = plot_w / len(days)

    def x(index: int) -> float:
        return LEFT + index * column

    def y(mg: float) -> float:
        return TOP + plot_h * (1 - mg / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(label)}</desc>',
    ]
    tick = 0.0
    while tick <= top + 1e-9:
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>')
        parts.append(f'<text class="chart-tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{fmt(tick)}</text>')
        tick += step
    every = max(1, math.ceil(len(days) / 7))
    for index in range(0, len(days), every):
        parts.append(f'<text class="chart-tick" x="{x(index) + column / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                     f'text-anchor="middle">{escape(short_date(days[index].day, lang))}</text>')
    for line in lines:
        if line.mg <= top:
            parts.append(f'<line class="chart-threshold {line.css}" x1="{LEFT}" x2="{LEFT + plot_w}" '
                         f'y1="{y(line.mg):.1f}" y2="{y(line.mg):.1f}"/>')
            parts.append(f'<text class="chart-threshold-label {line.css}" x="{LEFT + plot_w + 6}" '
                         f'y="{y(line.mg) + 4:.1f}">{escape(line.label)}</text>')
    review_index = next((i for i, d in enumerate(days) if d.day == review), None)
    if review_index is not None:
        left = x(review_index)
        parts.append(f'<line class="chart-review" x1="{left:.1f}" x2="{left:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    path = [f"M{x(0):.1f},{y(days[0].mg_per_day):.1f}", f"H{x(1):.1f}"]
    for index, day in enumerate(days[1:], start=1):
        path.append(f"V{y(day.mg_per_day):.1f}H{x(index + 1):.1f}")
    parts.append(f'<path class="chart-dose" d="{"".join(path)}"/>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" '
                 f'y2="{TOP + plot_h}"/>')
    parts.append("</svg>")
    return "".join(parts)
