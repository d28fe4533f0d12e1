"""Metric-versus-human scatter plots, one panel per (metric, language pair), as a self-contained SVG.

SVG needs no plotting library and opens in any browser; each point carries its system name as a
tooltip, and each panel its Pearson r and pairwise accuracy.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

from evalkit.metaeval.evaluate import Metaeval

PANEL_W, PANEL_H = 280, 210
PAD_L, PAD_R, PAD_T, PAD_B = 46, 12, 34, 34


def _ticks(lo: float, hi: float) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi == lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / 3))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= 5:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _panel(x: np.ndarray, y: np.ndarray, names: list[str], title: str, xlabel: str, ylabel: str, ox: int, oy: int) -> str:
    w, h = PANEL_W - PAD_L - PAD_R, PANEL_H - PAD_T - PAD_B

    def span(v: np.ndarray) -> tuple[float, float]:
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        margin = (hi - lo) * 0.06 or abs(lo) * 0.05 or 1.0
        return lo - margin, hi + margin

    (x0, x1), (y0, y1) = span(x), span(y)

    def px(v: float) -> float:
        return ox + PAD_L + (v - x0) / (x1 - x0) * w

    def py(v: float) -> float:
        return oy + PAD_T + h - (v - y0) / (y1 - y0) * h

    out = [f'<rect x="{ox + PAD_L}" y="{oy + PAD_T}" width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>',
           f'<text x="{ox + PAD_L + w / 2}" y="{oy + 14}" text-anchor="middle" font-weight="bold">{escape(title)}</text>']
    for t in _ticks(x0, x1):
        out.append(f'<line x1="{px(t):.1f}" y1="{oy + PAD_T + h}" x2="{px(t):.1f}" y2="{oy + PAD_T + h + 4}" stroke="#999"/>'
                   f'<text x="{px(t):.1f}" y="{oy + PAD_T + h + 14}" text-anchor="middle" font-size="9">{_fmt(t)}</text>')
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{ox + PAD_L - 4}" y1="{py(t):.1f}" x2="{ox + PAD_L}" y2="{py(t):.1f}" stroke="#999"/>'
                   f'<text x="{ox + PAD_L - 6}" y="{py(t) + 3:.1f}" text-anchor="end" font-size="9">{_fmt(t)}</text>')
    out.append(f'<text x="{ox + PAD_L + w / 2}" y="{oy + PANEL_H - 4}" text-anchor="middle" font-size="10">{escape(xlabel)}</text>')
    out.append(f'<text x="{ox + 10}" y="{oy + PAD_T + h / 2}" text-anchor="middle" font-size="10" '
               f'transform="rotate(-90 {ox + 10} {oy + PAD_T + h / 2})">{escape(ylabel)}</text>')
    for xv, yv, name in zip(x, y, names):
        if math.isfinite(xv) and math.isfinite(yv):
            out.append(f'<circle class="system" cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="3.5" fill="#1f77b4" '
                       f'fill-opacity="0.8"><title>{escape(name)}: metric {xv:.4g}, human {yv:.4g}</title></circle>')
    return "\n".join(out)


def scatter_svg(me: Metaeval) -> str:
    """One row per metric, one column per language pair: x = metric system score, y = human system score."""
    names = list(me.stats)
    lps = me.lps
    width, height = PANEL_W * len(lps), PANEL_H * len(names)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    for row, name in enumerate(names):
        for col, lp in enumerate(lps):
            m, d, s = me.metrics[name][lp], me.data[lp], me.stats[name][lp]
            sign = 1.0 if m.higher_is_better else -1.0
            title = f"{name} · {lp}: r={s.pearson:.3f}, acc={s.accuracy:.3f}"
            parts.append(_panel(sign * m.sys, d.human_sys, d.systems, title, f"{name} (system score)",
                                f"human {d.human_kind}", col * PANEL_W, row * PANEL_H))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
