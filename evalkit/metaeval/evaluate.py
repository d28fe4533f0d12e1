"""Agreement of every metric with humans on every pair, with bootstrap intervals and paired tests.

One bootstrap per language pair: ``n_bootstrap`` samples of its segments (drawn as sacrebleu draws,
``evalkit.stats.resample.Resampler``), shared by every metric so that two metrics can be compared
sample by sample. On each sample the human and metric system scores are recomputed (see
``evalkit.metaeval.data``), then pairwise accuracy, Pearson and the segment statistic (epsilon
re-optimised). Statistics over several pairs are computed per sample the same way as on the data:
pairwise accuracy pooled over all system pairs, Pearson and the segment statistic averaged over pairs.
Intervals are 95% percentile intervals (sacrebleu's order statistics).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.metaeval import stats as st
from evalkit.metaeval.data import LPData, MetricLP
from evalkit.stats.clusters import clusters
from evalkit.stats.resample import Resampler, interval

STATISTICS = ("pairwise_accuracy", "pearson", "seg_tau")


@dataclass
class LPStats:
    """One metric on one language pair. ``*_b`` are values on the bootstrap samples (None: no resampling)."""

    n_pairs: int
    agree: int
    agree_b: np.ndarray | None
    pearson: float
    pearson_b: np.ndarray | None
    seg: float | None = None
    seg_b: np.ndarray | None = None
    seg_epsilon: float | None = None
    seg_tau_b: float | None = None

    @property
    def accuracy(self) -> float:
        return self.agree / self.n_pairs


def lp_stats(
    data: LPData, metric: MetricLP, counts: np.ndarray | None, human_b: np.ndarray | None, seg_variant: str
) -> LPStats:
    S = len(data.systems)
    agree = int(st.agreements(data.human_sys, metric.sys))
    r = float(st.pearson(data.human_sys, metric.sys))
    agree_b = pearson_b = None
    if counts is not None and human_b is not None and metric.resample is not None:
        metric_b = metric.resample(counts)
        agree_b = st.agreements(human_b, metric_b)
        pearson_b = st.pearson(human_b, metric_b)
    out = LPStats(st.n_pairs(S), agree, agree_b, r, pearson_b)
    if data.human_seg is not None and metric.seg is not None:
        pairs = st.ItemPairs.build(data.human_seg.T, metric.seg.T)
        value, eps = st.segment_statistic(pairs, seg_variant)
        out.seg = float(value[0])
        out.seg_epsilon = float(eps[0]) if eps is not None else None
        if counts is not None:
            out.seg_b = st.segment_statistic(pairs, seg_variant, counts)[0]
        out.seg_tau_b = float(st.item_mean(st.tau_b_per_item(pairs))[0])
    return out


@dataclass
class Metaeval:
    """Everything a report needs: the data per pair, each metric's statistics, the bootstrap draws."""

    data: dict[str, LPData]
    metrics: dict[str, dict[str, MetricLP]]  # name -> lp -> scores
    stats: dict[str, dict[str, LPStats]]  # name -> lp -> statistics
    n_bootstrap: int
    seed: int | None
    seg_variant: str
    notes: list[str] = field(default_factory=list)
    data_dir: str = ""
    layout: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def lps(self) -> list[str]:
        return list(self.data)

    def overall(self, name: str, statistic: str) -> tuple[float | None, np.ndarray | None]:
        """A statistic over all pairs, and its values on the bootstrap samples."""
        per = self.stats[name]
        if statistic == "pairwise_accuracy":
            total = sum(s.n_pairs for s in per.values())
            value = sum(s.agree for s in per.values()) / total
            draws = [s.agree_b for s in per.values()]
            return value, (sum(draws) / total if all(d is not None for d in draws) else None)  # type: ignore[arg-type]
        if statistic == "pearson":
            vals = [s.pearson for s in per.values()]
            draws = [s.pearson_b for s in per.values()]
        elif statistic == "seg_tau":
            with_seg = [s for s in per.values() if s.seg is not None]
            if not with_seg:
                return None, None
            vals = [s.seg for s in with_seg]  # type: ignore[misc]
            draws = [s.seg_b for s in with_seg]
        else:
            raise ValueError(statistic)
        value = float(np.mean(vals))
        return value, (np.mean(np.stack(draws), axis=0) if all(d is not None for d in draws) else None)  # type: ignore[arg-type]

    def ci(self, draws: np.ndarray | None) -> list[float] | None:
        if draws is None:
            return None
        d = np.asarray(draws, dtype=np.float64)
        d = d[np.isfinite(d)]
        if len(d) == 0:
            return None
        iv = interval(d, self.seed)
        return [iv.low, iv.high]

    def pvalues(self, statistic: str) -> dict[tuple[str, str], float]:
        """``p[(a, b)]``: paired-bootstrap p-value that metric ``a`` beats metric ``b`` on ``statistic``."""
        values = {m: self.overall(m, statistic) for m in self.stats}
        out: dict[tuple[str, str], float] = {}
        for a, (va, da) in values.items():
            for b, (vb, db) in values.items():
                if a != b and da is not None and db is not None and va is not None and vb is not None:
                    out[(a, b)] = st.paired_pvalue(da, db, va, vb)
        return out

    def ranking(self, statistic: str = "pairwise_accuracy", alpha: float = 0.05) -> dict[str, int]:
        """Cluster rank of each metric (1 = best), by evalkit's significance-cluster rule
        (:mod:`evalkit.stats.clusters`) on the paired-bootstrap p-values. Metrics without bootstrap
        samples cannot be tested and get no rank."""
        overall = {m: self.overall(m, statistic) for m in self.stats}
        values = {m: v for m, (v, draws) in overall.items() if v is not None and draws is not None}
        order = sorted(values, key=lambda m: (-values[m], m))
        p = self.pvalues(statistic)
        better = np.array([[p.get((a, b), 1.0) < alpha for b in order] for a in order], dtype=bool).reshape(len(order), len(order))
        return {m: rank for rank, group in enumerate(clusters(order, better), 1) for m in group}


def run(
    data: dict[str, LPData],
    metrics: dict[str, dict[str, MetricLP]],
    n_bootstrap: int = 1000,
    seed: int | None = 12345,
    seg_variant: str = "acc-eq",
) -> Metaeval:
    """Statistics for every metric on every pair (``metrics[name][lp]``)."""
    stats: dict[str, dict[str, LPStats]] = {name: {} for name in metrics}
    notes: list[str] = []
    for lp, d in data.items():
        counts = human_b = None
        if n_bootstrap > 0 and d.human_seg is not None:
            counts = Resampler(d.n_segments, n_bootstrap, seed).counts
            human_b = d.resample_human(counts)
        elif n_bootstrap > 0:
            notes.append(f"{lp}: no segment-level human scores, so no bootstrap intervals")
        for name, per_lp in metrics.items():
            stats[name][lp] = lp_stats(d, per_lp[lp], counts, human_b, seg_variant)
        notes.extend(d.notes)
    for name, per_lp in metrics.items():
        for lp, m in per_lp.items():
            if m.resample is None and n_bootstrap > 0 and data[lp].human_seg is not None:
                notes.append(f"{name} on {lp}: {m.resampling}, so no system-level intervals")
    return Metaeval(data, metrics, stats, n_bootstrap, seed, seg_variant, notes)
