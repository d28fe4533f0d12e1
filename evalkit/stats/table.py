"""Segment statistics for every (system, metric), computed once and in parallel."""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.errors import InputError
from evalkit.metrics.base import Metric
from evalkit.testset import TestSet

# Filled in the parent before forking, so workers inherit reference caches instead of unpickling them.
_SHARED: dict[str, Any] = {}


@dataclass
class SegmentTable:
    """``stats[(system, metric)]`` is an (n, k) array of sufficient statistics."""

    metrics: dict[str, Metric]
    stats: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def corpus_score(self, system: str, metric: str) -> float:
        return self.metrics[metric].corpus_score(self.stats[(system, metric)].sum(axis=0))

    def segment_scores(self, system: str, metric: str) -> np.ndarray:
        return self.metrics[metric].segment_scores(self.stats[(system, metric)])


def check_inputs(testset: TestSet, metrics: dict[str, Metric]) -> None:
    """Every metric gets the inputs it reads: a reference (most), a source (quality estimation)."""
    if not testset.has_references:
        needing = [name for name, m in metrics.items() if m.needs_reference]
        if needing:
            from evalkit.metrics import reference_free_names

            free = ", ".join(reference_free_names()) or "none"
            raise InputError(f"{', '.join(needing)} need(s) a reference (-r/--ref); without one, use a reference-free "
                             f"metric ({free})")
    if testset.srcs is None:
        needing = [name for name, m in metrics.items() if m.needs_source]
        if needing:
            raise InputError(f"{', '.join(needing)} need(s) the source segments (-s/--src)")


def _work(task: tuple[str, str]) -> tuple[str, str, np.ndarray]:
    system, metric = task
    ts: TestSet = _SHARED["testset"]
    m: Metric = _SHARED["metrics"][metric]
    return system, metric, m.segment_stats(ts.systems[system], ts.refs, _SHARED["prepared"][metric], ts.srcs)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _parallel_ok(metric: Metric) -> bool:
    # Neural metrics batch internally (and hold threads/models); only CPU-bound lexical ones fork.
    return not getattr(metric, "in_process", False)


def compute_table(
    testset: TestSet,
    metrics: dict[str, Metric],
    workers: int | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> SegmentTable:
    """Statistics for every system and metric; references are prepared once per metric."""
    check_inputs(testset, metrics)
    table = SegmentTable(metrics)
    prepared = {name: m.prepare(testset.refs, testset.srcs) for name, m in metrics.items()}
    forkable = [(s, name) for name, m in metrics.items() if _parallel_ok(m) for s in testset.systems]
    serial = [(s, name) for name, m in metrics.items() if not _parallel_ok(m) for s in testset.systems]
    workers = default_workers() if workers is None else workers
    _SHARED.update(testset=testset, metrics=metrics, prepared=prepared)
    try:
        if workers > 1 and len(forkable) > 1 and "fork" in mp.get_all_start_methods():
            # Longest first (TER) so that the pool's tail is short.
            forkable.sort(key=lambda t: 0 if t[1] == "ter" else 1)
            with mp.get_context("fork").Pool(min(workers, len(forkable))) as pool:
                for system, metric, arr in pool.imap_unordered(_work, forkable):
                    table.stats[(system, metric)] = arr
                    if progress:
                        progress(system, metric)
        else:
            serial = forkable + serial
        for task in serial:
            system, metric, arr = _work(task)
            table.stats[(system, metric)] = arr
            if progress:
                progress(system, metric)
    finally:
        _SHARED.clear()
    return table
