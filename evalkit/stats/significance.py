"""Paired significance tests for many systems and metrics at once, on cached segment statistics.

Both tests draw their random numbers once and share them across every pair and every metric:

* paired bootstrap: the :class:`~evalkit.stats.resample.Resampler` count matrix ``C`` (B x n). A system's
  resampled corpus statistics are ``C @ stats``, so B resampled scores per (system, metric) cost one
  matrix product and one vectorised ``batch_scores`` call; a pair then only subtracts two score vectors.
* approximate randomization (AR): a boolean swap matrix ``W`` (N x n, ``W[t, i]`` = swap segment ``i``
  in trial ``t``). The pseudo-systems of a pair are ``sum_b + W @ (a - b)`` and ``sum_a - W @ (a - b)``;
  since ``W @ (a - b) = W @ a - W @ b``, one product ``W @ stats`` per system serves every pair.

Random draws and p-value definitions follow sacrebleu 2.x (``sacrebleu/significance.py``), so with the
same seed the samples are sacrebleu's own and the p-values agree (exactly, with ``ties="strict"``):

* bootstrap: ``default_rng(seed).choice(n, (B, n))``; the statistic is ``|s_a - s_b|`` per sample,
  centred on its mean, compared with the observed ``|score_a - score_b|``.
* AR: ``default_rng(seed).integers(2, size=(N, n), dtype=bool)``; ``|s(shuf_a) - s(shuf_b)|`` per trial,
  compared with the observed absolute difference.
* ``p = (#{trials at least as extreme as observed} + 1) / (trials + 1)``; see ties below.

Ties. sacrebleu counts only trials *more* extreme than the observed difference (``null > observed``, as
multeval does); the textbook p-value (Noreen 1989) counts ties as at least as extreme (``>=``). They differ
only when a resampled statistic equals the observed one exactly, which is not rare: TER's denominator is the
same for both pseudo-systems of an AR trial, so its null takes few distinct values (on WMT17, 29 of 10000
trials tie for FBK vs LIUM-NMT: p = 0.0988 strict, 0.1017 inclusive); and for two identical systems every
trial ties, so ``>`` reports the smallest possible p-value, ``1/(trials + 1)``, where ``>=`` gives 1.
``ties="inclusive"`` (the default) is the textbook rule; ``ties="strict"`` reproduces sacrebleu exactly.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evalkit.metrics.base import Metric
from evalkit.stats.resample import SACREBLEU_SEED, Resampler

Pair = tuple[str, str]

TESTS = ("bootstrap", "ar")
TIES = ("inclusive", "strict")
DEFAULT_SAMPLES = {"bootstrap": 1000, "ar": 10000}

# Relative slack for "equal to the observed statistic": far below any meaningful score difference,
# above the rounding noise between two summation orders of the same numbers.
_TIE_RTOL = 1e-9


def env_seed(default: int | None = SACREBLEU_SEED) -> int | None:
    """The seed sacrebleu would use: ``$SACREBLEU_SEED`` if set ('none' = fresh entropy), else ``default``."""
    value = os.environ.get("SACREBLEU_SEED")
    if value is None:
        return default
    if value.strip().lower() == "none":
        return None
    try:
        return int(value)
    except ValueError:
        from evalkit.errors import InputError

        raise InputError(f"SACREBLEU_SEED={value!r}: expected an integer or 'none'") from None


def p_values(null: np.ndarray, observed: np.ndarray, ties: str = "inclusive") -> np.ndarray:
    """``(#{null >= observed} + 1) / (trials + 1)`` row-wise (``>`` with ``ties="strict"``).

    ``null`` is (P, T), ``observed`` (P,). Equality allows for rounding between summation orders.
    """
    null = np.asarray(null, dtype=np.float64)
    obs = np.asarray(observed, dtype=np.float64)[:, None]
    tol = _TIE_RTOL * np.maximum(1.0, np.abs(obs))
    if ties == "inclusive":
        extreme = np.count_nonzero(null >= obs - tol, axis=1)
    elif ties == "strict":
        extreme = np.count_nonzero(null > obs + tol, axis=1)
    else:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    return (extreme + 1.0) / (null.shape[1] + 1.0)


@dataclass
class SwapMatrix:
    """The AR trials: one boolean swap mask per trial, shared by all pairs and metrics."""

    n: int
    n_samples: int = DEFAULT_SAMPLES["ar"]
    seed: int | None = SACREBLEU_SEED
    chunk: int = 2048
    _mask: np.ndarray | None = field(default=None, repr=False)

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            rng = np.random.default_rng(self.seed)
            self._mask = rng.integers(2, size=(self.n_samples, self.n), dtype=bool)
        return self._mask

    def products(self, stats: np.ndarray) -> np.ndarray:
        """``mask @ stats`` (N, m) in float64, converting the mask a block of trials at a time."""
        stats = np.asarray(stats, dtype=np.float64)
        out = np.empty((self.n_samples, stats.shape[1]))
        mask = self.mask
        for start in range(0, self.n_samples, self.chunk):
            block = mask[start:start + self.chunk].astype(np.float64)
            out[start:start + self.chunk] = block @ stats
        return out


class PairedTests:
    """Paired bootstrap and AR for every requested pair, from one cached table of statistics.

    ``stats[(system, metric)]`` are (n, k) segment statistics, as in :class:`~evalkit.stats.table.SegmentTable`.
    Resampled sums are computed once per (system, metric), lazily, and reused by every pair.
    """

    def __init__(
        self,
        metrics: dict[str, Metric],
        stats: dict[tuple[str, str], np.ndarray],
        systems: Sequence[str],
        *,
        n_bootstrap: int = DEFAULT_SAMPLES["bootstrap"],
        n_ar: int = DEFAULT_SAMPLES["ar"],
        seed: int | None = SACREBLEU_SEED,
        resampler: Resampler | None = None,
        ties: str = "inclusive",
    ) -> None:
        if ties not in TIES:
            raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
        self.ties = ties
        self.metrics = metrics
        self.stats = stats
        self.systems = list(systems)
        n = len(next(iter(stats.values())))
        self.resampler = resampler or Resampler(n, n_bootstrap, seed)
        self.swaps = SwapMatrix(n, n_ar, seed)
        self._boot: dict[str, np.ndarray] = {}
        self._swapped: dict[str, np.ndarray] = {}

    def _stacked(self, metric: str) -> tuple[np.ndarray, int]:
        k = self.stats[(self.systems[0], metric)].shape[1]
        return np.hstack([self.stats[(s, metric)] for s in self.systems]).astype(np.float64, copy=False), k

    def observed(self, metric: str) -> np.ndarray:
        """(S,) corpus scores through ``batch_scores``, the same code path as the resampled ones."""
        m = self.metrics[metric]
        sums = np.stack([self.stats[(s, metric)].sum(axis=0) for s in self.systems])
        return m.batch_scores(sums)

    def bootstrap_scores(self, metric: str) -> np.ndarray:
        """(S, B) resampled corpus scores, one row per system; also the basis of the CIs."""
        if metric not in self._boot:
            stacked, k = self._stacked(metric)
            sums = self.resampler.sums(stacked)
            m = self.metrics[metric]
            self._boot[metric] = np.stack(
                [m.batch_scores(sums[:, i * k:(i + 1) * k]) for i in range(len(self.systems))]
            )
        return self._boot[metric]

    def _index(self, pairs: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray]:
        pos = {s: i for i, s in enumerate(self.systems)}
        return np.array([pos[a] for a, _ in pairs], dtype=np.intp), np.array([pos[b] for _, b in pairs], dtype=np.intp)

    def bootstrap(self, metric: str, pairs: Sequence[Pair]) -> np.ndarray:
        """Paired bootstrap p-values (P,)."""
        if not pairs:
            return np.zeros(0)
        ia, ib = self._index(pairs)
        samples = self.bootstrap_scores(metric)
        obs = self.observed(metric)
        diffs = np.abs(samples[ia] - samples[ib])
        centred = diffs - diffs.mean(axis=1, keepdims=True)
        return p_values(centred, np.abs(obs[ia] - obs[ib]), self.ties)

    def _swap_products(self, metric: str) -> np.ndarray:
        if metric not in self._swapped:
            stacked, _ = self._stacked(metric)
            self._swapped[metric] = self.swaps.products(stacked)
        return self._swapped[metric]

    def ar(self, metric: str, pairs: Sequence[Pair], pairs_per_batch: int = 8) -> np.ndarray:
        """Paired approximate-randomization p-values (P,)."""
        if not pairs:
            return np.zeros(0)
        m = self.metrics[metric]
        k = self.stats[(self.systems[0], metric)].shape[1]
        prod = self._swap_products(metric)
        totals = np.stack([self.stats[(s, metric)].sum(axis=0) for s in self.systems])
        obs = self.observed(metric)
        ia, ib = self._index(pairs)
        T = self.swaps.n_samples
        out = np.empty(len(pairs))
        for start in range(0, len(pairs), pairs_per_batch):
            sl = slice(start, start + pairs_per_batch)
            blocks_a, blocks_b = [], []
            for a, b in zip(ia[sl], ib[sl]):
                moved = prod[:, a * k:(a + 1) * k] - prod[:, b * k:(b + 1) * k]
                blocks_a.append(totals[b] + moved)
                blocks_b.append(totals[a] - moved)
            sa = m.batch_scores(np.vstack(blocks_a)).reshape(-1, T)
            sb = m.batch_scores(np.vstack(blocks_b)).reshape(-1, T)
            out[sl] = p_values(np.abs(sa - sb), np.abs(obs[ia[sl]] - obs[ib[sl]]), self.ties)
        return out

    def run(self, test: str, metric: str, pairs: Sequence[Pair]) -> np.ndarray:
        if test == "bootstrap":
            return self.bootstrap(metric, pairs)
        if test == "ar":
            return self.ar(metric, pairs)
        raise ValueError(f"unknown test {test!r} (expected one of {', '.join(TESTS)})")

    def n_samples(self, test: str) -> int:
        return self.resampler.n_samples if test == "bootstrap" else self.swaps.n_samples
