"""``evalkit score`` and ``evalkit compare`` on a Dask cluster, with the numbers of a single process.

Workers read the partitions and compute every segment's statistics (and spans); the driver gathers them in
partition order, and ``evalkit.api.assemble`` and ``evalkit.comparison.compare`` run unchanged on the gathered
table, so scores, intervals and tests are those of one process, bit for bit. With ``-o DIR`` the workers
also write the sentence-level rows and send back only column sums of count metrics (BLEU, chrF: integers,
so their sum does not depend on the order of addition): the driver's memory then stays flat however many
rows there are.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.api import assemble, build_metrics, check_bootstrap, metric_score
from evalkit.cluster.connect import connect
from evalkit.cluster.parts import PartsOut, close_directory, open_directory, run_key
from evalkit.cluster.plan import InputSpec, Inputs, partitions, resolve
from evalkit.cluster.runner import Runner
from evalkit.cluster.tasks import Job, PartResult, run_partition
from evalkit.comparison import Comparison, compare
from evalkit.errors import InputError
from evalkit.metrics.base import Metric
from evalkit.results import Result, SystemResult
from evalkit.stats.resample import SACREBLEU_SEED, Resampler
from evalkit.stats.table import SegmentTable
from evalkit.testset import TestSet

Progress = Callable[[int, int], None]


def score_distributed(
    address: str,
    spec: InputSpec,
    metrics: Sequence[str],
    options: dict[str, Any] | None = None,
    *,
    confidence: bool = False,
    n_bootstrap: int = 1000,
    seed: int | None = SACREBLEU_SEED,
    spans: str | None = None,
    parts: tuple[str, str] | None = None,
    partition_rows: int | None = None,
    progress: Progress | None = None,
) -> Result:
    """``evalkit.score`` over inputs read in partitions by the workers of ``address``.

    ``parts=(directory, "jsonl" | "parquet")`` writes the segments there instead of returning them: the result
    then holds corpus scores only, and a rerun resumes from the partitions already written. ``progress(done,
    total)`` is called as partitions finish.
    """
    check_bootstrap(confidence, n_bootstrap, seed)
    metric_objs = build_metrics(metrics, options)
    with connect(address) as runner:
        inputs = resolve(runner, spec)
        bounds = partitions(inputs.rows, partition_rows, spans)
        if parts is None:
            testset, table, span_lists = gather(runner, inputs, bounds, Job(tuple(metrics), dict(options or {}), spans),
                                                metric_objs, progress)
            return assemble(testset, table, confidence=confidence, n_bootstrap=n_bootstrap, seed=seed, spans=spans,
                            span_lists=span_lists)
        fingerprint = {"inputs": inputs.fingerprint(), "names": inputs.names, "columns": vars(inputs.columns),
                       "metrics": list(metrics), "options": dict(options or {}), "spans": spans, "rows": confidence,
                       "partitions": bounds, "format": parts[1]}
        out = PartsOut(parts[0], parts[1], run_key(fingerprint))
        job = Job(tuple(metrics), dict(options or {}), spans, out, rows=confidence)
        notes = open_directory(out, len(bounds))
        results = _run(runner, inputs, bounds, job, progress)
        resampler = Resampler(inputs.rows, n_bootstrap, seed) if confidence else None
        summary = _summary(results, metric_objs, inputs.names, spans, resampler)
        reused = sum(r.reused for r in results)
        if reused:
            notes.append(f"resumed: {reused} of {len(bounds)} partitions in {out.directory} were written by an "
                         "earlier run with the same inputs and settings, and were kept")
        notes.append(f"{inputs.rows} segments x {len(inputs.names)} system(s) written to {out.directory} as "
                     f"{len(bounds)} {out.fmt} partitions (part-00000.{out.fmt} ...)")
        summary.notes[:0] = notes
        close_directory(out, bounds, summary)
        return summary


def compare_distributed(
    address: str,
    spec: InputSpec,
    metrics: Sequence[str],
    options: dict[str, Any] | None = None,
    *,
    spans: str | None = None,
    partition_rows: int | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> Comparison:
    """``evalkit.compare`` on a table gathered from the workers; ``settings`` are compare's own (test, n, ...)."""
    if len(spec.hyp) < 2:
        raise InputError(f"compare needs at least two systems, got {len(spec.hyp)} (give several -t files)")
    metric_objs = build_metrics(metrics, options)
    with connect(address) as runner:
        inputs = resolve(runner, spec)
        testset, table, span_lists = gather(runner, inputs, partitions(inputs.rows, partition_rows, spans),
                                            Job(tuple(metrics), dict(options or {}), spans), metric_objs, progress)
    return compare(testset=testset, table=table, span_lists=span_lists, spans=spans, **settings)


def gather(runner: Runner, inputs: Inputs, bounds: list[tuple[int, int]], job: Job, metrics: dict[str, Metric],
           progress: Progress | None = None) -> tuple[TestSet, SegmentTable, dict[str, list[list[Any]]] | None]:
    """Every partition's segments, rows and spans, joined in order: what one process would have computed."""
    results = _run(runner, inputs, bounds, job, progress)
    testset = TestSet.concat([r.testset for r in results])  # type: ignore[misc]
    table = SegmentTable(metrics, {key: np.concatenate([r.stats[key] for r in results]) for key in results[0].stats})
    _merge_states(results, metrics)
    span_lists = None
    if job.spans:
        span_lists = {name: [s for r in results for s in r.spans[name]] for name in testset.systems}  # type: ignore[index]
    return testset, table, span_lists


def _run(runner: Runner, inputs: Inputs, bounds: list[tuple[int, int]], job: Job,
         progress: Progress | None) -> list[PartResult]:
    tasks = [(job, i, a, b, inputs.window(a, b)) for i, (a, b) in enumerate(bounds)]
    finished = [0]

    def done(_: int, __: Any) -> None:
        finished[0] += 1
        if progress is not None:
            progress(finished[0], len(tasks))

    results: list[PartResult] = runner.map(run_partition, tasks, "evalkit-partition", done)
    for line in dict.fromkeys(m for r in results for m in r.messages):
        print(line, file=sys.stderr)
    return results


def _merge_states(results: list[PartResult], metrics: dict[str, Metric]) -> None:
    for r in results:
        for key, metric in metrics.items():
            metric.merge_part_state(r.states[key])


def _summary(results: list[PartResult], metrics: dict[str, Metric], names: Sequence[str], spans: str | None,
             resampler: Resampler | None) -> Result:
    """Corpus scores from the partitions' sums (count metrics) or rows (the others), without segments."""
    _merge_states(results, metrics)
    systems = []
    for name in names:
        scores = {}
        for key, metric in metrics.items():
            parts = [r.stats[(name, key)] for r in results]
            rows = np.concatenate(parts) if parts[0].ndim == 2 else None
            sums = rows.sum(axis=0) if rows is not None else np.sum(parts, axis=0)
            scores[key] = metric_score(metric, sums, rows, resampler)
        system = SystemResult(name, scores, [])
        if spans:
            from evalkit.spans.pipeline import span_signature

            system.span_counts = _add_counts([r.span_counts[name] for r in results])  # type: ignore[index]
            system.span_signature = span_signature(spans, metrics=metrics)
        systems.append(system)
    return Result(systems, notes=[n for m in metrics.values() for n in getattr(m, "notes", [])])


def _add_counts(counts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for c in counts:
        for category, by_sev in c.items():
            into = total.setdefault(category, {})
            for severity, n in by_sev.items():
                into[severity] = into.get(severity, 0) + n
    return total
