"""The small metric interface: a segment becomes a row of sufficient statistics, once.

Corpus scores, confidence intervals and paired tests are all computed from sums of these rows,
so every metric (lexical or neural) plugs into the same statistics engine.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np


class Metric(ABC):
    """A metric: per-segment statistics rows and scores computed from summed rows.

    ``segment_stats`` returns an ``(n, k)`` float array; ``corpus_score`` maps a column sum to the
    corpus score exactly as the reference implementation does; ``batch_scores`` does the same for
    many sums at once (resampling), vectorised.
    """

    name: ClassVar[str]
    display: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    needs_source: ClassVar[bool] = False
    reads_source: ClassVar[bool] = False  # uses the source when given (implied by needs_source)
    needs_reference: ClassVar[bool] = True
    # Rows are integer counts: partial sums add up exactly in any order, so a Dask run may sum each partition
    # on its worker and still get the single-process corpus score bit for bit.
    integer_stats: ClassVar[bool] = False

    @abstractmethod
    def signature(self, bootstrap: tuple[int, int | None] | None = None) -> str:
        """Everything needed to reproduce a score (settings, versions, and resampling when used).

        ``bootstrap`` is ``(n_samples, seed)`` when the score carries a bootstrap interval.
        """

    def prepare(self, refs: Sequence[Sequence[str]], srcs: Sequence[str] | None = None) -> Any:
        """Per-test-set work shared by every system (reference n-grams, embeddings...)."""
        return None

    def part_state(self) -> Any:
        """What scoring some data taught this metric that its signature or notes report (the number of
        references, truncated texts), JSON-serialisable: a Dask worker returns it with a partition's rows."""
        return None

    def merge_part_state(self, state: Any) -> None:
        """Fold one partition's ``part_state`` in, so that the driver of a Dask run signs and notes as a single
        process that saw every partition would."""

    @abstractmethod
    def segment_stats(
        self, hyps: Sequence[str], refs: Sequence[Sequence[str]], prepared: Any, srcs: Sequence[str] | None = None
    ) -> np.ndarray:
        """(n, k) statistics, one row per segment."""

    @abstractmethod
    def batch_scores(self, sums: np.ndarray) -> np.ndarray:
        """Scores for a (B, k) array of summed statistics."""

    def corpus_score(self, sums: np.ndarray) -> float:
        return float(self.batch_scores(np.asarray(sums, dtype=np.float64)[None, :])[0])

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        """Sentence-level scores; by default each row scored on its own."""
        return self.batch_scores(stats)


def bootstrap_fields(bootstrap: tuple[int, int | None] | None) -> str:
    """The ``bs:N|rs:SEED|`` part sacrebleu puts after ``nrefs`` in a signature."""
    if bootstrap is None:
        return ""
    return f"bs:{bootstrap[0]}|rs:{str(bootstrap[1]).lower()}|"


class SegmentScoreMetric(Metric):
    """A metric whose corpus score is the mean of segment scores (neural metrics, span error scores).

    Rows are ``[score, 1]`` so that the generic sum-then-score machinery yields the mean.
    """

    @abstractmethod
    def score_segments(
        self, hyps: Sequence[str], refs: Sequence[Sequence[str]], prepared: Any, srcs: Sequence[str] | None = None
    ) -> np.ndarray:
        """(n,) segment scores."""

    def segment_stats(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        scores = np.asarray(self.score_segments(hyps, refs, prepared, srcs), dtype=np.float64)
        return np.stack([scores, np.ones_like(scores)], axis=1)

    def batch_scores(self, sums: np.ndarray) -> np.ndarray:
        sums = np.asarray(sums, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sums[:, 1] > 0, sums[:, 0] / np.maximum(sums[:, 1], 1e-300), 0.0)

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        return np.asarray(stats, dtype=np.float64)[:, 0].copy()
