"""Meta-evaluation results as JSON (schema ``evalkit.metaeval/1``) and as rich tables."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from evalkit import __version__
from evalkit.metaeval.evaluate import STATISTICS, Metaeval

SEG_LABELS = {
    "acc-eq": "acc-eq: pairwise accuracy with tie calibration (Deutsch et al. 2023), per segment, as WMT23",
    "tau-eq": "tau-eq: Kendall tau with ties and tie calibration (Deutsch et al. 2023), per segment",
    "tau-b": "tau-b: Kendall tau-b per segment, no tie calibration",
}


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _ci(me: Metaeval, draws: Any) -> list[float] | None:
    return me.ci(draws)


def _pvalue_table(me: Metaeval, statistic: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (a, b), p in me.pvalues(statistic).items():
        out.setdefault(a, {})[b] = round(p, 6)
    return out


def to_dict(me: Metaeval) -> dict[str, Any]:
    ranks = me.ranking("pairwise_accuracy")
    lps: dict[str, Any] = {}
    for lp, d in me.data.items():
        rated = None if d.human_seg is None else int(np.isfinite(d.human_seg).any(axis=0).sum())
        lps[lp] = {
            "human": d.human_kind,
            "standard_reference": d.std_ref,
            "systems": d.systems,
            "n_systems": len(d.systems),
            "n_pairs": len(d.systems) * (len(d.systems) - 1) // 2,
            "n_segments": d.n_segments,
            "n_rated_segments": rated,
            "human_scores": {s: float(v) for s, v in zip(d.systems, d.human_sys)},
        }
    metrics: dict[str, Any] = {}
    for name in sorted(me.stats, key=lambda m: (-me.overall(m, "pairwise_accuracy")[0], m)):
        entry: dict[str, Any] = {"source": next(iter(me.metrics[name].values())).source, "rank": ranks.get(name)}
        for statistic in STATISTICS:
            value, draws = me.overall(name, statistic)
            entry[statistic] = _f(value)
            entry[f"{statistic}_ci"] = _ci(me, draws)
        entry["n_pairs"] = sum(s.n_pairs for s in me.stats[name].values())
        per_lp: dict[str, Any] = {}
        for lp, s in me.stats[name].items():
            m = me.metrics[name][lp]
            sign = 1.0 if m.higher_is_better else -1.0
            per_lp[lp] = {
                "label": m.label,
                "resampling": m.resampling,
                "pairwise_accuracy": s.accuracy,
                "pairwise_accuracy_ci": _ci(me, None if s.agree_b is None else s.agree_b / s.n_pairs),
                "agreeing_pairs": s.agree,
                "n_pairs": s.n_pairs,
                "pearson": _f(s.pearson),
                "pearson_ci": _ci(me, s.pearson_b),
                "seg_tau": _f(s.seg),
                "seg_tau_ci": _ci(me, s.seg_b),
                "seg_tau_epsilon": s.seg_epsilon,
                "seg_tau_b": _f(s.seg_tau_b),
                "system_scores": {sys: float(sign * v) for sys, v in zip(me.data[lp].systems, m.sys)},
            }
        entry["per_lp"] = per_lp
        metrics[name] = entry
    return {
        "schema": "evalkit.metaeval/1",
        "evalkit_version": __version__,
        "data": me.data_dir,
        "layout": me.layout,
        "settings": {
            "n_bootstrap": me.n_bootstrap,
            "seed": me.seed,
            "seg_tau": me.seg_variant,
            "seg_tau_definition": SEG_LABELS[me.seg_variant],
            "ci": "95% percentile interval over bootstrap samples of segments",
            "significance": "one-sided paired bootstrap on the same samples: p that the row metric beats the column metric",
            "pearson": "system level per pair; the top-level value is the mean over pairs",
        },
        "n_pairs": sum(v["n_pairs"] for v in lps.values()),
        "language_pairs": lps,
        "metrics": metrics,
        "significance": {statistic: _pvalue_table(me, statistic) for statistic in STATISTICS},
        "notes": me.notes,
        "timings": me.timings,
    }


def to_json(me: Metaeval) -> str:
    return json.dumps(to_dict(me), indent=2, ensure_ascii=False) + "\n"


def _cell(value: float | None, ci: list[float] | None = None, digits: int = 3) -> str:
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    if ci is not None:
        text += f" [dim]({ci[0]:.{digits}f}–{ci[1]:.{digits}f})[/dim]"
    return text


def render(me: Metaeval, console: Console, compare: list[tuple[str, str]] | None = None) -> None:
    doc = to_dict(me)
    lps = list(doc["language_pairs"])
    humans = sorted({v["human"] for v in doc["language_pairs"].values()})
    head = ", ".join(f"{lp} ({v['n_systems']} systems)" for lp, v in doc["language_pairs"].items())
    console.print(f"[bold]Meta-evaluation[/bold] against {'/'.join(humans)} human scores: {head}; "
                  f"{doc['n_pairs']} system pairs; {me.n_bootstrap} bootstrap samples", highlight=False)
    sys_table = Table(title="System level", box=box.SIMPLE_HEAVY, title_justify="left")
    sys_table.add_column("metric", style="bold")
    sys_table.add_column("rank", justify="right")
    sys_table.add_column(f"pairwise accuracy ({doc['n_pairs']} pairs)", justify="right")
    for lp in lps:
        sys_table.add_column(f"acc {lp}", justify="right")
    for lp in lps:
        sys_table.add_column(f"r {lp}", justify="right")
    for name, e in doc["metrics"].items():
        sys_table.add_row(
            name, str(e["rank"] or "–"), _cell(e["pairwise_accuracy"], e["pairwise_accuracy_ci"]),
            *(_cell(e["per_lp"][lp]["pairwise_accuracy"]) for lp in lps),
            *(_cell(e["per_lp"][lp]["pearson"]) for lp in lps),
        )
    console.print(sys_table)
    if any(e["seg_tau"] is not None for e in doc["metrics"].values()):
        seg_table = Table(title=f"Segment level — {SEG_LABELS[me.seg_variant]}", box=box.SIMPLE_HEAVY,
                          title_justify="left")
        seg_table.add_column("metric", style="bold")
        seg_table.add_column("mean", justify="right")
        for lp in lps:
            seg_table.add_column(lp, justify="right")
        for name, e in doc["metrics"].items():
            seg_table.add_row(name, _cell(e["seg_tau"], e["seg_tau_ci"]),
                              *(_cell(e["per_lp"][lp]["seg_tau"], e["per_lp"][lp]["seg_tau_ci"]) for lp in lps))
        console.print(seg_table)
    for a, b in compare or []:
        for statistic in STATISTICS:
            p = doc["significance"][statistic].get(a, {}).get(b)
            va, vb = doc["metrics"][a][statistic], doc["metrics"][b][statistic]
            if va is None or vb is None:
                continue
            head = f"Is {a} better than {b} on {statistic}?"
            values = f"{va:.4f} vs {vb:.4f}, delta {va - vb:+.4f}"
            if p is None:
                console.print(f"{head} untested ({values}): no bootstrap samples", highlight=False)
            else:
                verdict = "yes" if p < 0.05 else "not significantly"
                console.print(f"{head} {verdict}: {values}, p = {p:.4f} (paired bootstrap, "
                              f"{me.n_bootstrap} samples)", highlight=False)
    for note in me.notes:
        console.print(f"[dim]note: {note}[/dim]", highlight=False)
