"""Human and metric scores of one language pair, aligned system by system and segment by segment.

Which systems count: those with a human system score, except the standard reference (every metric
uses it, so ranking it would be meaningless). Other human translations with human scores *are*
systems (he-en refA in WMT23, HUMAN-B in WMT22). A system that an official metric did not score is
dropped for every metric, with a note, so that all metrics are compared on the same pairs.

Scores are oriented so that higher is better. Bootstrap resampling draws segments: a resampled human
system score is the mean of its rated segments in the sample; how a metric's system score is
resampled is recorded in ``MetricLP.resampling``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evalkit.errors import InputError
from evalkit.metaeval.sources import SegScores, Source

Resample = Callable[[np.ndarray], np.ndarray]  # counts (B, n) -> system scores (B, S)


@dataclass
class LPData:
    lp: str
    human_kind: str
    std_ref: str
    systems: list[str]
    human_sys: np.ndarray  # (S,)
    human_seg: np.ndarray | None  # (S, n), NaN where a segment was not rated
    n_segments: int
    segments: list[int] | None = None  # indices into the full test set (None: all)
    notes: list[str] = field(default_factory=list)

    def resample_human(self, counts: np.ndarray) -> np.ndarray | None:
        if self.human_seg is None:
            return None
        return segment_means(self.human_seg, counts)


@dataclass
class MetricLP:
    """One metric on one language pair, aligned with ``LPData.systems``; oriented higher-is-better."""

    sys: np.ndarray  # (S,)
    seg: np.ndarray | None  # (S, n)
    resample: Resample | None
    resampling: str  # how system scores are recomputed on a bootstrap sample
    label: str  # official file name or evalkit signature
    higher_is_better: bool = True  # of the metric's own scores (``sys`` is negated when False)
    source: str = "official"  # or "evalkit"


def segment_means(seg: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-system mean of the non-missing segment scores in each bootstrap sample ((B, S))."""
    ok = np.isfinite(seg)
    num = counts @ np.where(ok, seg, 0.0).T
    den = counts @ ok.T.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _matrix(seg: SegScores, systems: Sequence[str], n_full: int, keep: list[int] | None, what: str) -> np.ndarray:
    rows = []
    for s in systems:
        values = seg.get(s)
        if values is None:
            raise InputError(f"{what}: no segment scores for system {s!r}")
        if len(values) != n_full:
            raise InputError(f"{what}: {s!r} has {len(values)} segment scores but the test set has {n_full} segments")
        rows.append([math.nan if v is None else float(v) for v in values])
    m = np.asarray(rows, dtype=np.float64).reshape(len(systems), n_full)
    return m if keep is None else m[:, keep]


def _finite(scores: dict[str, float], name: str) -> bool:
    v = scores.get(name)
    return v is not None and math.isfinite(v)


def load_lp(
    source: Source, lp: str, kind: str | None, official: Sequence[str] = ()
) -> tuple[LPData, dict[str, MetricLP]]:
    """Human scores of a pair and the requested official metrics, on the systems that count."""
    source.check_lp(lp)
    kind = source.resolve_human(lp, kind)
    human_sys, human_seg = source.human(lp, kind)
    std = source.standard_ref(lp)
    systems = sorted(s for s in human_sys if s != std and _finite(human_sys, s))
    notes: list[str] = []
    loaded = []
    for name in official:
        full, sys_scores, seg_scores = source.official(lp, name)
        missing = [s for s in systems if not _finite(sys_scores, s)]
        if missing:
            notes.append(f"{lp}: dropped {', '.join(missing)} (no {full} score)")
            systems = [s for s in systems if s not in missing]
        loaded.append((name, full, sys_scores, seg_scores))
    if len(systems) < 2:
        raise InputError(f"{lp}: fewer than two systems with {kind} human scores")
    n_full = len(source.source(lp))
    keep = source.segments(lp)
    n = n_full if keep is None else len(keep)
    hseg = _matrix(human_seg, systems, n_full, keep, f"{lp} {kind} human scores") if human_seg is not None else None
    data = LPData(lp, kind, std, systems, np.array([human_sys[s] for s in systems]), hseg, n, keep, notes)
    if hseg is not None:
        means = segment_means(hseg, np.ones((1, n)))[0]
        ok = np.isfinite(means)
        if not ok.all() or not np.allclose(means[ok], data.human_sys[ok], rtol=1e-7, atol=1e-9):
            notes.append(f"{lp}: {kind} system scores are not the means of its segment scores; "
                         "bootstrap samples use segment means")
    metrics: dict[str, MetricLP] = {}
    for name, full, sys_scores, seg_scores in loaded:
        sys_vec = np.array([sys_scores[s] for s in systems], dtype=np.float64)
        seg = _matrix(seg_scores, systems, n_full, keep, f"{lp} {full}") if seg_scores is not None else None
        metrics[f"official:{source.official_basename(full)}"] = MetricLP(sys_vec, seg, *_official_resampler(sys_vec, seg), label=full)
    return data, metrics


def _official_resampler(sys_vec: np.ndarray, seg: np.ndarray | None) -> tuple[Resample | None, str]:
    """Official system scores are segment means (COMET, MetricX...) or not (BLEU, chrF: corpus statistics).

    For the latter, a sample's score is the official score moved by the change of the segment mean:
    an approximation (evalkit's own ``bleu``/``chrf`` resample the exact corpus statistics).
    """
    if seg is None:
        return None, "none (no segment scores)"
    full = segment_means(seg, np.ones((1, seg.shape[1])))[0]
    if np.allclose(full, sys_vec, rtol=1e-7, atol=1e-9):
        return (lambda counts: segment_means(seg, counts)), "segment mean"
    shift = sys_vec - full
    return (lambda counts: segment_means(seg, counts) + shift), "official score + change of segment mean"
