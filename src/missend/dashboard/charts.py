"""Charts as inline SVG drawn on the server: no script, no CDN, readable in any browser offline.

Every chart says what it shows in its `aria-label` and each bar carries a `<title>` with its exact
number, so hovering (or a screen reader) gives the figure behind the shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH = 760
HEIGHT = 280
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 16, 58


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def nice_ceiling(value: float) -> int:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least the value (and at least 1)."""
    if value <= 1:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * power
        if top >= value:
            return math.ceil(top)
    return math.ceil(value)


def _frame(label: str, body: list[str], height: int = HEIGHT) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def _y_axis(top: int, plot_h: float, suffix: str = "") -> list[str]:
    out = []
    for i in range(5):
        value = top * i / 4
        y = _TOP + plot_h - plot_h * i / 4
        text = f"{value:g}{suffix}"
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    return out


def stacked_columns(
    label: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[int]],
) -> Markup:
    """One column per category, one coloured segment per series, bottom to top in series order."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(categories))]
    top = 4 * nice_ceiling(max(totals, default=0) / 4)  # whole numbers on every gridline
    plot_h = HEIGHT - _TOP - _BOTTOM
    plot_w = WIDTH - _LEFT - _RIGHT
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.7
    body = _y_axis(top, plot_h)
    for i, category in enumerate(categories):
        x = _LEFT + slot * i + (slot - bar) / 2
        base: float = _TOP + plot_h
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            body.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour(j)}"><title>{escape(category)}: {escape(name)} {value}</title></rect>'
            )
        if totals[i]:
            body.append(
                f'<text class="value" x="{x + bar / 2:.1f}" y="{base - 3:.1f}" '
                f'text-anchor="middle">{totals[i]}</text>'
            )
        body.append(
            f'<text class="tick" x="{x + bar / 2:.1f}" y="{_TOP + plot_h + 16:.1f}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    body.extend(_legend(names, HEIGHT - 16))
    return _frame(label, body)


def _legend(names: Sequence[str], y: float) -> list[str]:
    out = []
    x = float(_LEFT)
    for j, name in enumerate(names):
        out.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour(j)}"/>'
            f'<text class="legend" x="{x + 16:.1f}" y="{y:.1f}">{escape(name)}</text>'
        )
        x += 28 + 7.5 * len(name)
    return out


def horizontal_bars(
    label: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[str],
) -> Markup:
    """One bar per row (e.g. a sender), split into segments (e.g. caught / overridden)."""
    row_h = 26
    label_w = 260
    height = _TOP + row_h * max(len(rows), 1) + 40
    top = max(nice_ceiling(max((sum(v) for _, v in rows), default=0)), 1)
    plot_w = WIDTH - label_w - _RIGHT - 30
    body: list[str] = []
    for i, (name, values) in enumerate(rows):
        y = _TOP + row_h * i
        shown = name if len(name) <= 38 else name[:36] + "…"
        body.append(
            f'<text class="tick" x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(shown)}</text>"
        )
        x = float(label_w)
        for j, value in enumerate(values):
            if not value:
                continue
            w = plot_w * value / top
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{colour(j)}"><title>{escape(name)}: {escape(segments[j])} {value}</title></rect>'
            )
            x += w
        body.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 17}">{sum(values)}</text>')
    body.extend(_legend(segments, height - 12))
    return _frame(label, body, height)


def rate_columns(
    label: str,
    categories: Sequence[str],
    part: Sequence[int],
    whole: Sequence[int],
) -> Markup:
    """Per category the share part/whole as a column from 0 to 100 %, labelled `part/whole`."""
    plot_h = HEIGHT - _TOP - _BOTTOM
    plot_w = WIDTH - _LEFT - _RIGHT
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.7
    body = _y_axis(100, plot_h, "%")
    for i, category in enumerate(categories):
        x = _LEFT + slot * i + (slot - bar) / 2
        if whole[i]:
            share = part[i] / whole[i]
            h = plot_h * share
            y = _TOP + plot_h - h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour(3)}"><title>{escape(category)}: {part[i]} of {whole[i]} '
                f"overridden ({share:.0%})</title></rect>"
                f'<text class="value" x="{x + bar / 2:.1f}" y="{y - 3:.1f}" '
                f'text-anchor="middle">{part[i]}/{whole[i]}</text>'
            )
        body.append(
            f'<text class="tick" x="{x + bar / 2:.1f}" y="{_TOP + plot_h + 16:.1f}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    return _frame(label, body)
