"""Python API: ``evalkit.score`` returns the same typed results the CLI prints."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.errors import InputError
from evalkit.metrics import Metric, build_metric, resolve_name
from evalkit.results import MetricScore, Result, SegmentResult, Span, SystemResult
from evalkit.stats.resample import SACREBLEU_SEED, Resampler, bootstrap_interval
from evalkit.stats.table import SegmentTable, compute_table
from evalkit.testset import TestSet

DEFAULT_METRICS = ("bleu", "chrf", "ter")


def build_metrics(names: Sequence[str], options: dict[str, Any] | None = None) -> dict[str, Any]:
    metrics = {}
    for name in names:
        key = resolve_name(name)
        metrics[key] = build_metric(key, options)
    return metrics


def check_bootstrap(confidence: bool, n_bootstrap: int, seed: int | None) -> None:
    if confidence and n_bootstrap < 2:
        raise InputError(f"--n-bootstrap must be at least 2 for a confidence interval, got {n_bootstrap}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")


def metric_score(metric: Metric, sums: np.ndarray, stats: np.ndarray | None = None,
                 resampler: Resampler | None = None) -> MetricScore:
    """The corpus score from summed statistics, with a bootstrap interval when ``resampler`` is given (it needs the
    rows, ``stats``). A Dask run that only gathered partition sums calls it with ``sums`` alone."""
    ms = MetricScore(
        score=metric.corpus_score(sums),
        signature=metric.signature((resampler.n_samples, resampler.seed) if resampler is not None else None),
        higher_is_better=metric.higher_is_better,
    )
    if resampler is not None:
        if stats is None:
            raise ValueError("a bootstrap interval needs the statistics rows")
        iv = bootstrap_interval(metric, stats, resampler)
        ms.ci, ms.ci_mean, ms.ci_half_width = [iv.low, iv.high], iv.mean, iv.half_width
    return ms


def score(
    hyps: Sequence[str] | None = None,
    refs: Sequence[Sequence[str]] | None = None,
    *,
    systems: dict[str, Sequence[str]] | None = None,
    srcs: Sequence[str] | None = None,
    testset: TestSet | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    options: dict[str, Any] | None = None,
    confidence: bool = False,
    n_bootstrap: int = 1000,
    seed: int | None = SACREBLEU_SEED,
    spans: str | None = None,
    workers: int | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> Result:
    """Score one or more systems against one or more reference streams.

    ``refs`` is a list of reference *streams* (``[[ref1_seg1, ref1_seg2, ...], ...]``), as in
    sacrebleu; a flat list of strings is rejected with an explanation rather than mis-scored.
    ``spans`` ("post-edit", "reference", or "xcomet" with an XCOMET checkpoint among the metrics) adds garbled
    spans to every segment.
    """
    if testset is None:
        named = dict(systems or {})
        if hyps is not None:
            named.setdefault("system", hyps)
        testset = TestSet(refs=refs if refs is not None else [], systems=named, srcs=srcs)  # type: ignore[arg-type]
    metric_objs = build_metrics(metrics, options)
    table = compute_table(testset, metric_objs, workers=workers, progress=progress)
    return assemble(testset, table, confidence=confidence, n_bootstrap=n_bootstrap, seed=seed, spans=spans)


def assemble(
    testset: TestSet,
    table: SegmentTable,
    *,
    confidence: bool = False,
    n_bootstrap: int = 1000,
    seed: int | None = SACREBLEU_SEED,
    spans: str | None = None,
    span_lists: dict[str, list[list[Span]]] | None = None,
) -> Result:
    """Results from a computed statistics table. ``span_lists`` are spans already found (on Dask workers);
    without them, ``spans`` finds them here."""
    check_bootstrap(confidence, n_bootstrap, seed)
    resampler = Resampler(len(testset), n_bootstrap, seed) if confidence else None
    if spans and span_lists is None:
        from evalkit.spans.pipeline import annotate_testset

        span_lists = annotate_testset(testset, mode=spans, metrics=table.metrics)
    systems: list[SystemResult] = []
    for sys_name, hyps in testset.systems.items():
        scores: dict[str, MetricScore] = {}
        seg_scores: dict[str, np.ndarray] = {}
        for key, metric in table.metrics.items():
            stats = table.stats[(sys_name, key)]
            scores[key] = metric_score(metric, stats.sum(axis=0), stats, resampler)
            seg_scores[key] = metric.segment_scores(stats)
        segments = []
        for i, hyp in enumerate(hyps):
            seg = SegmentResult(
                id=testset.ids[i],
                hyp=hyp,
                refs=testset.segment_refs(i),
                scores={k: float(v[i]) for k, v in seg_scores.items()},
                src=testset.srcs[i] if testset.srcs is not None else None,
            )
            segments.append(seg)
        result = SystemResult(sys_name, scores, segments)
        if spans and span_lists is not None:
            from evalkit.spans.pipeline import attach_spans, span_signature

            attach_spans(result, span_lists[sys_name])
            result.span_signature = span_signature(spans, metrics=table.metrics)
        systems.append(result)
    metric_notes = [n for m in table.metrics.values() for n in getattr(m, "notes", [])]
    return Result(systems, notes=list(testset.notes) + metric_notes)
