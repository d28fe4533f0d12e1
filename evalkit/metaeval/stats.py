"""How well metric scores agree with human scores, and the bootstrap distributions of that agreement.

Every function takes scores oriented so that higher is better (a lower-is-better metric is negated
first). Every function also accepts a leading batch axis, so the bootstrap runs as array operations.

* System-level pairwise accuracy: over all unordered pairs of systems, the fraction for which
  ``sign(human_a - human_b) == sign(metric_a - metric_b)``; a tie agrees only with a tie. Pooled over
  language pairs it is total agreements over total pairs (Kocmi et al. 2021; WMT23's system-level task).
* Segment level, grouped by item as WMT23 did: within each segment, every pair of systems that both the
  humans and the metric scored; the per-segment statistic is averaged over segments that have a pair.
  ``acc-eq`` (WMT23's primary segment statistic, Deutsch et al. 2023) counts a pair as correct when it
  is concordant or tied in both; ``tau-eq`` is (concordant + tied-in-both - the rest) / pairs. Both use
  *tie calibration*: metric differences ``|dm| <= epsilon`` count as ties, and epsilon is the value
  (0 or an observed ``|dm|``) that maximises the statistic — the smallest such value on equal maxima.
  ``tau-b`` is the classic Kendall tau-b per segment (no calibration), averaged over the segments where it
  is defined.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.stats.significance import p_values

SEG_VARIANTS = ("acc-eq", "tau-eq", "tau-b")

# Upper bound on the (samples x pairs) block materialised at once by the calibrated bootstrap.
_BLOCK = 4_000_000


def n_pairs(n_systems: int) -> int:
    return n_systems * (n_systems - 1) // 2


def agreements(human: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """Number of system pairs ranked the same way, along the last axis ((S,) -> (), (B, S) -> (B,))."""
    human = np.asarray(human, dtype=np.float64)
    metric = np.asarray(metric, dtype=np.float64)
    i, j = np.triu_indices(human.shape[-1], 1)
    same = np.sign(human[..., i] - human[..., j]) == np.sign(metric[..., i] - metric[..., j])
    return same.sum(axis=-1)


def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r along the last axis; NaN where either side is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan)


@dataclass
class ItemPairs:
    """Every within-item pair of systems scored by both the humans and the metric."""

    item: np.ndarray  # (P,) item index of each pair
    dh: np.ndarray  # (P,) human score difference
    dm: np.ndarray  # (P,) metric score difference
    per_item: np.ndarray  # (n_items,) number of pairs in each item

    @classmethod
    def build(cls, human: np.ndarray, metric: np.ndarray) -> ItemPairs:
        """From ``(n_items, n_systems)`` matrices; NaN marks a missing score."""
        human = np.asarray(human, dtype=np.float64)
        metric = np.asarray(metric, dtype=np.float64)
        if human.shape != metric.shape or human.ndim != 2:
            raise ValueError(f"human {human.shape} and metric {metric.shape} must be equal 2-D shapes")
        valid = np.isfinite(human) & np.isfinite(metric)
        items, dhs, dms = [], [], []
        for i, j in zip(*np.triu_indices(human.shape[1], 1)):
            rows = np.nonzero(valid[:, i] & valid[:, j])[0]
            items.append(rows)
            dhs.append(human[rows, i] - human[rows, j])
            dms.append(metric[rows, i] - metric[rows, j])
        item = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
        return cls(
            item=item,
            dh=np.concatenate(dhs) if dhs else np.zeros(0),
            dm=np.concatenate(dms) if dms else np.zeros(0),
            per_item=np.bincount(item, minlength=human.shape[0]),
        )

    @property
    def n_items(self) -> int:
        return len(self.per_item)


def _pair_values(pairs: ItemPairs, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's contribution as observed, and once its metric difference is called a tie."""
    agree = np.sign(pairs.dh) == np.sign(pairs.dm)
    human_tie = pairs.dh == 0
    if variant == "acc-eq":
        return agree.astype(np.float64), human_tie.astype(np.float64)
    if variant == "tau-eq":
        return np.where(agree, 1.0, -1.0), np.where(human_tie, 1.0, -1.0)
    raise ValueError(f"tie calibration applies to acc-eq and tau-eq, not {variant!r}")


def _as_counts(counts: np.ndarray | None, n_items: int) -> np.ndarray:
    if counts is None:
        return np.ones((1, n_items))
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != n_items:
        raise ValueError(f"counts must be (B, {n_items}), got {counts.shape}")
    return counts


def tie_calibrated(
    pairs: ItemPairs, variant: str = "acc-eq", counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``acc-eq`` / ``tau-eq`` with the tie threshold optimised, per bootstrap sample.

    ``counts[b, r]`` is how often item ``r`` was drawn in sample ``b`` (None: the data as they are, one
    sample). Returns ``(values, epsilons)``, each ``(B,)``. The statistic at threshold epsilon is
    ``sum_r c_r * mean_{p in r} v_p(epsilon) / sum_r c_r`` over items with a pair; turning a pair into a tie
    changes it by a fixed amount, so all thresholds are scored at once by a cumulative sum over pairs
    sorted by ``|dm|``, and epsilon is re-optimised on every sample.
    """
    c = _as_counts(counts, pairs.n_items)
    has_pair = pairs.per_item > 0
    n_used = c[:, has_pair].sum(axis=1)
    if not has_pair.any():
        nan = np.full(len(c), np.nan)
        return nan, nan
    v0, v1 = _pair_values(pairs, variant)
    weight = 1.0 / pairs.per_item[pairs.item]
    base = c @ np.bincount(pairs.item, weights=weight * v0, minlength=pairs.n_items)
    delta = weight * (v1 - v0)
    moves = np.nonzero(delta != 0)[0]
    if len(moves) == 0:
        return base / n_used, np.zeros(len(c))
    order = moves[np.argsort(np.abs(pairs.dm[moves]), kind="stable")]
    diffs = np.abs(pairs.dm[order])
    ends = np.nonzero(np.r_[diffs[1:] != diffs[:-1], True])[0]
    every = len(ends) == len(order)
    thresholds = np.r_[0.0, diffs[ends]]
    item, step = pairs.item[order], delta[order]
    values = np.empty(len(c))
    epsilons = np.empty(len(c))
    block = max(1, min(len(c), _BLOCK // len(order)))
    buf = np.empty((block, len(order)))
    for lo in range(0, len(c), block):
        cb = c[lo: lo + block]
        rows = np.arange(len(cb))
        run = buf[: len(cb)]
        np.take(cb, item, axis=1, out=run)
        run *= step
        np.cumsum(run, axis=1, out=run)
        gains = run if every else run[:, ends]  # gain over the base at each candidate threshold
        best = np.maximum(gains.max(axis=1), 0.0)
        # first threshold reaching the maximum; the slack absorbs summation-order rounding
        slack = 1e-12 * np.maximum(n_used[lo: lo + block], np.abs(base[lo: lo + block] + best))
        at_start = best <= slack
        first = np.argmax(gains >= (best - slack)[:, None], axis=1)
        gain = np.where(at_start, 0.0, gains[rows, first])
        values[lo: lo + block] = (base[lo: lo + block] + gain) / n_used[lo: lo + block]
        epsilons[lo: lo + block] = np.where(at_start, 0.0, thresholds[first + 1])
    return values, epsilons


def tau_b_per_item(pairs: ItemPairs) -> np.ndarray:
    """Kendall tau-b of each item ((n_items,); NaN where undefined: fewer than one untied pair on a side)."""
    s = np.sign(pairs.dh) * np.sign(pairs.dm)
    n = pairs.n_items
    con = np.bincount(pairs.item, weights=(s > 0).astype(float), minlength=n)
    dis = np.bincount(pairs.item, weights=(s < 0).astype(float), minlength=n)
    tie_h = np.bincount(pairs.item, weights=(pairs.dh == 0).astype(float), minlength=n)
    tie_m = np.bincount(pairs.item, weights=(pairs.dm == 0).astype(float), minlength=n)
    total = pairs.per_item.astype(float)
    den = np.sqrt((total - tie_h) * (total - tie_m))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (con - dis) / np.where(den > 0, den, 1.0), np.nan)


def item_mean(values: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Mean of per-item values over the items where they are defined, per bootstrap sample ((B,))."""
    values = np.asarray(values, dtype=np.float64)
    c = _as_counts(counts, len(values))
    ok = np.isfinite(values)
    den = c[:, ok].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, c[:, ok] @ values[ok] / np.where(den > 0, den, 1.0), np.nan)


def segment_statistic(
    pairs: ItemPairs, variant: str, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The chosen segment-level statistic per sample, and the calibrated epsilons (None for tau-b)."""
    if variant == "tau-b":
        return item_mean(tau_b_per_item(pairs), counts), None
    if variant not in SEG_VARIANTS:
        raise ValueError(f"unknown segment statistic {variant!r} (one of {', '.join(SEG_VARIANTS)})")
    return tie_calibrated(pairs, variant, counts)


def paired_pvalue(a: np.ndarray, b: np.ndarray, a_obs: float, b_obs: float) -> float:
    """One-sided paired-bootstrap p-value for "A's statistic is higher than B's on these data".

    ``a`` and ``b`` are the two statistics on the *same* bootstrap samples. The distribution of the
    difference is centred on zero (the null hypothesis) and compared with the observed difference
    ``delta = a_obs - b_obs``: ``p = (1 + #{(a_b - b_b) - delta >= delta}) / (1 + B)``, counted by
    :func:`evalkit.stats.significance.p_values` like every other evalkit test.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d = d[np.isfinite(d)]
    delta = a_obs - b_obs
    if not np.isfinite(delta) or len(d) == 0:
        return float("nan")
    return float(p_values((d - delta)[None, :], np.array([delta]))[0])
