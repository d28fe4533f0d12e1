"""The task a worker runs for one partition: read its rows, compute statistics, and send back what the driver needs.

A task is pure (same inputs, same result) and, when it writes files, idempotent: a partition file is written
whole under a temporary name and renamed, then its checkpoint, so a task that is rerun after its worker died,
or a rerun of the whole command, finds the partition either absent or complete. Metrics are built fresh for
each task (cheap), while neural models are loaded once per worker process (``evalkit.neural.metric``).
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.cluster.parts import PartsOut, load_checkpoint, save_checkpoint, write_part
from evalkit.cluster.plan import Inputs
from evalkit.results import Span
from evalkit.testset import TestSet


@dataclass(frozen=True)
class Job:
    """What every partition of one run does.

    ``out``: write the sentence-level rows there and send back only summed statistics of metrics whose rows
    are integer counts (``rows`` asks for every metric's rows, for bootstrap intervals). Without ``out`` the
    partition's TestSet, rows and spans come back whole, for the driver's unchanged engine.
    """

    metrics: tuple[str, ...]
    options: dict[str, Any]
    spans: str | None = None
    out: PartsOut | None = None
    rows: bool = False


@dataclass
class PartResult:
    index: int
    rows: int
    stats: dict[tuple[str, str], np.ndarray]
    states: dict[str, Any]
    testset: TestSet | None = None
    spans: dict[str, list[list[Span]]] | None = None
    span_counts: dict[str, dict[str, dict[str, int]]] | None = None
    messages: list[str] = field(default_factory=list)
    reused: bool = False


def run_partition(job: Job, index: int, start: int, stop: int, inputs: Inputs) -> PartResult:
    if job.out is not None:
        done = load_checkpoint(job.out, index)
        if done is not None:
            return _from_payload(index, done)
    from evalkit.api import assemble, build_metrics
    from evalkit.stats.table import compute_table

    captured = io.StringIO()  # warnings go back to the driver, once, instead of to a worker's terminal
    with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
        testset = inputs.read(start, stop)
        metrics = build_metrics(job.metrics, job.options)
        table = compute_table(testset, metrics, workers=1)
        span_lists = None
        if job.spans:
            from evalkit.spans.pipeline import annotate_testset

            span_lists = annotate_testset(testset, mode=job.spans, metrics=metrics)
    states = {key: m.part_state() for key, m in metrics.items()}
    messages = [line for line in captured.getvalue().splitlines() if line.strip()]
    if job.out is None:
        return PartResult(index, stop - start, table.stats, states, testset, span_lists, messages=messages)
    result = assemble(testset, table, spans=job.spans, span_lists=span_lists)
    write_part(job.out, index, result)
    stats = {k: arr if job.rows or not metrics[k[1]].integer_stats else _exact_sum(arr) for k, arr in table.stats.items()}
    counts = {s.name: s.span_counts or {} for s in result.systems} if job.spans else None
    part = PartResult(index, stop - start, stats, states, span_counts=counts, messages=messages)
    save_checkpoint(job.out, index, _to_payload(part))
    return part


def _to_payload(part: PartResult) -> dict[str, Any]:
    """A checkpoint's JSON: floats written by ``repr`` read back bit for bit."""
    return {"rows": part.rows, "stats": [[s, m, arr.tolist()] for (s, m), arr in part.stats.items()],
            "states": part.states, "span_counts": part.span_counts, "messages": part.messages}


def _from_payload(index: int, doc: dict[str, Any]) -> PartResult:
    stats = {(s, m): np.asarray(values, dtype=np.float64) for s, m, values in doc["stats"]}
    return PartResult(index, int(doc["rows"]), stats, doc["states"], span_counts=doc.get("span_counts"),
                      messages=list(doc.get("messages", [])), reused=True)


def _exact_sum(rows: np.ndarray) -> np.ndarray:
    """Column sums of integer counts; exact (below 2**53), hence equal however partitions are added up."""
    if not np.array_equal(rows, np.rint(rows)) or np.abs(rows).sum() >= 2.0 ** 53:
        raise ValueError("a metric declared integer_stats produced rows that are not small integers")
    return rows.sum(axis=0)
