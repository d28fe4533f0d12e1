"""One bootstrap resampling matrix shared by every system and metric.

Resampled corpus statistics are ``counts @ stats``: ``counts[b, i]`` is how often segment ``i`` was
drawn in sample ``b``. One matrix product per (system, metric) replaces a Python loop over samples.
The draw is sacrebleu's (``default_rng(seed).choice(n, (B, n))``), so with sacrebleu's seed the
samples are the very ones sacrebleu uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.metrics.base import Metric

SACREBLEU_SEED = 12345


@dataclass
class Resampler:
    n: int
    n_samples: int = 1000
    seed: int | None = SACREBLEU_SEED
    _idx: np.ndarray | None = field(default=None, repr=False)
    _counts: np.ndarray | None = field(default=None, repr=False)

    @property
    def indices(self) -> np.ndarray:
        if self._idx is None:
            rng = np.random.default_rng(self.seed)
            self._idx = rng.choice(self.n, size=(self.n_samples, self.n), replace=True)
        return self._idx

    @property
    def counts(self) -> np.ndarray:
        if self._counts is None:
            idx = self.indices
            counts = np.zeros((self.n_samples, self.n), dtype=np.float64)
            rows = np.repeat(np.arange(self.n_samples), self.n)
            np.add.at(counts, (rows, idx.ravel()), 1.0)
            self._counts = counts
        return self._counts

    def sums(self, stats: np.ndarray) -> np.ndarray:
        """(B, k) resampled statistic sums."""
        return self.counts @ np.asarray(stats, dtype=np.float64)

    def scores(self, metric: Metric, stats: np.ndarray) -> np.ndarray:
        return metric.batch_scores(self.sums(stats))


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate: mean of resampled scores and the 95% percentile interval."""

    mean: float
    low: float
    high: float
    n_samples: int
    seed: int | None

    @property
    def half_width(self) -> float:
        """sacrebleu's ``± CI`` (half the 95% percentile interval)."""
        return 0.5 * (self.high - self.low)


def interval(scores: np.ndarray, seed: int | None) -> Interval:
    """95% interval with sacrebleu's order statistics (n//40 from each end)."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(s)
    lo = n // 40
    return Interval(float(s.mean()), float(s[lo]), float(s[n - lo - 1]), n, seed)


def bootstrap_interval(metric: Metric, stats: np.ndarray, resampler: Resampler) -> Interval:
    return interval(resampler.scores(metric, stats), resampler.seed)
