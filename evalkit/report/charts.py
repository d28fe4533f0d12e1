"""Geometry of small inline-SVG charts; the templates only draw the rectangles computed here.

Kept in Python so every bar is a number a test can check, and so the HTML needs no charting library
(the page is self-contained and its Content-Security-Policy allows no external resource).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # a class token chosen by the caller (e.g. ``sev-major``), never data
    tip: str  # shown as the SVG <title>; escaped by the template


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    rotate: float = 0.0


@dataclass
class Chart:
    title: str
    width: float
    height: float
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css token, label)


def stacked_hbars(
    title: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    parts: Sequence[tuple[str, str]],
    *,
    width: float = 460,
    label_width: float = 130,
    bar_height: float = 18,
    gap: float = 6,
) -> Chart:
    """One horizontal bar per row, split into ``parts`` ((css token, name), same order as each row's counts)."""
    top = 4.0
    total_max = max((sum(counts) for _, counts in rows), default=0) or 1
    plot = width - label_width - 48
    chart = Chart(title, width, top + len(rows) * (bar_height + gap) + 4,
                  legend=[(css, name) for css, name in parts])
    for r, (name, counts) in enumerate(rows):
        y = top + r * (bar_height + gap)
        chart.labels.append(Label(label_width - 6, y + bar_height * 0.72, clip(name, 20), "end"))
        x = label_width
        for (css, part), n in zip(parts, counts):
            if n:
                w = plot * n / total_max
                chart.bars.append(Bar(x, y, w, bar_height, css, f"{name}, {part}: {n}"))
                x += w
        chart.labels.append(Label(x + 4, y + bar_height * 0.72, str(sum(counts))))
    return chart


def histogram(
    title: str,
    values: Sequence[float],
    *,
    bins: int = 10,
    css: str = "hist",
    width: float = 460,
    height: float = 140,
) -> Chart:
    """Counts of ``values`` in equal bins; percent-like scores (all in [0, 100]) get the bins 0-10, ..., 90-100."""
    vals = [v for v in values if not math.isnan(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 100.0)
    if 0 <= lo and hi <= 100:
        lo, hi = 0.0, 100.0
    if hi == lo:
        hi = lo + 1
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in vals:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    base, left = height - 18, 14.0
    plot_h, bw = base - 16, (width - left * 2) / bins
    chart = Chart(title, width, height)
    top = max(counts) or 1
    for i, n in enumerate(counts):
        a, b = lo + i * step, lo + (i + 1) * step
        h = plot_h * n / top
        x = left + i * bw
        chart.bars.append(Bar(x + 1, base - h, bw - 2, h, css, f"{_num(a)}–{_num(b)}: {n} segment{'' if n == 1 else 's'}"))
        if n:
            chart.labels.append(Label(x + bw / 2, base - h - 3, str(n), "middle"))
        chart.labels.append(Label(x, height - 4, _num(a), "middle"))
    chart.labels.append(Label(left + bins * bw, height - 4, _num(hi), "middle"))
    return chart


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
