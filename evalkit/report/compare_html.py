"""HTML for a comparison: ranked tables, a pairwise p-value heatmap and a CI plot per metric, as inline SVG.

Geometry is computed here (every rectangle and dot is a number a test can check); the templates only
draw it, with Jinja2 autoescaping, on the shared page frame of :mod:`evalkit.report.html` (strict CSP,
no external resource). Colours are SVG presentation attributes from fixed palettes, never data.
``render_section`` gives the section alone, for embedding in another evalkit page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup

from evalkit.comparison import Comparison
from evalkit.report.charts import Label, clip

# Holm-corrected p-value bands, darkest = most significant.
P_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.001, "#08306b", "p < 0.001"),
    (0.01, "#2171b5", "p < 0.01"),
    (0.05, "#6baed6", "p < 0.05"),
    (math.inf, "#eef3f8", "not significant"),
)
DIAGONAL = "#d0d7de"
UNTESTED = "#ffffff"
CLUSTER_SHADES = ("#f6f8fa", "#ffffff")
CI_LINE = "#57606a"
DOT = "#0969da"


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    size: float
    fill: str
    tip: str


@dataclass
class Heatmap:
    title: str
    width: float
    height: float
    cells: list[Cell] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (fill, label)


@dataclass(frozen=True)
class Interval:
    y: float
    x_low: float
    x_high: float
    x_score: float
    tip: str


@dataclass(frozen=True)
class Band:
    y: float
    height: float
    fill: str


@dataclass
class CIPlot:
    title: str
    width: float
    height: float
    intervals: list[Interval] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    axis_y: float = 0.0
    plot_left: float = 0.0
    plot_right: float = 0.0


def p_fill(p: float) -> str:
    for limit, colour, _ in P_BANDS:
        if p < limit:
            return colour
    return P_BANDS[-1][1]


def heatmap(c: Comparison, metric: str, test: str, *, cell: float = 20.0, label_width: float = 150.0) -> Heatmap:
    """Holm-corrected p-values of every tested pair, systems in rank order on both axes."""
    names, mat = c.p_matrix(metric, test, corrected=True)
    s = len(names)
    d = c.decimals(metric)
    top = label_width * 0.75
    hm = Heatmap(f"{c.metrics[metric].display}: pairwise p-values ({test}, Holm)",
                 label_width * 1.5 + s * cell, top + s * cell + 8,
                 legend=[(colour, label) for _, colour, label in P_BANDS])
    for i, a in enumerate(names):
        y = top + i * cell
        hm.labels.append(Label(label_width - 6, y + cell * 0.7, clip(a, 22), "end"))
        x = label_width + i * cell + cell * 0.65
        hm.labels.append(Label(x, top - 6, clip(a, 22), "start", -60.0))
        for j, b in enumerate(names):
            x0 = label_width + j * cell
            if i == j:
                hm.cells.append(Cell(x0, y, cell, DIAGONAL, a))
                continue
            p = mat[i, j]
            if math.isnan(p):
                hm.cells.append(Cell(x0, y, cell, UNTESTED, f"{a} vs {b}: not tested"))
                continue
            q = c.pair(a, b, metric, test)
            tip = f"{a} vs {b}: Δ {q.delta:+.{d}f}, p = {q.p_value:.4f}, Holm p = {q.p_corrected:.4f}"
            hm.cells.append(Cell(x0, y, cell, p_fill(p), tip))
    return hm


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def ci_plot(c: Comparison, metric: str, *, width: float = 520.0, row: float = 18.0,
            label_width: float = 150.0) -> CIPlot:
    """Score (dot) and 95% bootstrap interval (line) per system in rank order; shading alternates by cluster."""
    ranked = c.ranked(metric)
    lows = [s.metrics[metric].ci[0] for s in ranked] + [s.metrics[metric].score for s in ranked]
    highs = [s.metrics[metric].ci[1] for s in ranked] + [s.metrics[metric].score for s in ranked]
    lo, hi = min(lows), max(highs)
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    left, right = label_width, width - 12
    top = 6.0
    plot = CIPlot(f"{c.metrics[metric].display}: score and 95% CI", width, top + len(ranked) * row + 30,
                  plot_left=left, plot_right=right)

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    shade = 0
    previous = None
    for r, s in enumerate(ranked):
        m = s.metrics[metric]
        y = top + r * row
        if previous is not None and m.cluster != previous:
            shade = 1 - shade
        previous = m.cluster
        if m.cluster is not None:
            plot.bands.append(Band(y, row, CLUSTER_SHADES[shade]))
        cluster = f", cluster {m.cluster}" if m.cluster is not None else ""
        d = c.decimals(metric)
        tip = f"{s.name}: {m.score:.{d}f} (95% CI {m.ci[0]:.{d}f}–{m.ci[1]:.{d}f}{cluster})"
        plot.intervals.append(Interval(y + row / 2, sx(m.ci[0]), sx(m.ci[1]), sx(m.score), tip))
        plot.labels.append(Label(left - 6, y + row * 0.7, clip(s.name, 22), "end"))
    plot.axis_y = top + len(ranked) * row + 2
    plot.ticks = [(sx(t), f"{t:g}") for t in _ticks(lo, hi)]
    return plot


def _views(c: Comparison) -> list[dict[str, object]]:
    views = []
    cluster_test = c.settings.get("cluster_test") or c.tests[0]
    for key, info in c.metrics.items():
        views.append({
            "key": key,
            "fmt": f"%.{c.decimals(key)}f",
            "info": info,
            "ranked": c.ranked(key),
            "clusters": c.cluster_set(key),
            "heatmap": heatmap(c, key, cluster_test),
            "ci": ci_plot(c, key),
        })
    return views


def context(c: Comparison) -> dict[str, object]:
    return {"c": c, "views": _views(c), "alpha": c.settings["alpha"]}


def render_section(c: Comparison) -> Markup:
    """The comparison as one ``<section>``, for embedding in another evalkit page."""
    from evalkit.report.html import environment

    template = environment().get_template("_compare.html.j2")
    return Markup(template.module.compare_section(**context(c)))  # type: ignore[attr-defined]


def render_page(c: Comparison, title: str = "evalkit compare") -> str:
    """A self-contained HTML page with the comparison."""
    from evalkit.report.html import render_page as frame

    return frame("compare.html.j2", title=title, **context(c))
