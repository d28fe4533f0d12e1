"""evalkit's own metrics on a WMT pair: the same statistics engine as ``evalkit score``, cached on disk.

Each system is scored against the standard reference (one stream), with the source available to
metrics that read it. BLEU's tokeniser follows the target language as sacrebleu picks it (``trg_lang``)
unless ``--tokenize`` is given. A resampled system score is the metric's corpus score of the resampled
segment statistics (exact corpus BLEU/chrF of the sample; the mean for segment-score metrics).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.metaeval.cache import StatsCache, text_digest
from evalkit.metaeval.data import LPData, MetricLP
from evalkit.metaeval.sources import Source
from evalkit.metrics import build_metric, resolve_name
from evalkit.metrics.base import Metric
from evalkit.stats.table import compute_table
from evalkit.testset import TestSet


def _select(lines: list[str], keep: list[int] | None) -> list[str]:
    return lines if keep is None else [lines[i] for i in keep]


def signature_for(metric: Metric, refs: list[list[str]], srcs: list[str]) -> str:
    """The metric's signature before scoring; sacrebleu's needs the reference count, learnt from one segment."""
    try:
        return metric.signature()
    except ValueError:
        metric.prepare([stream[:1] for stream in refs], srcs[:1])
        return metric.signature()


def lp_metric(metric: Metric, stats: list[np.ndarray], label: str) -> MetricLP:
    """A metric's system and segment scores, and its exact resampler, from per-system statistics."""
    sign = 1.0 if metric.higher_is_better else -1.0
    sys_vec = sign * np.array([metric.corpus_score(s.sum(axis=0)) for s in stats])
    seg = sign * np.stack([metric.segment_scores(s) for s in stats])

    def resample(counts: np.ndarray) -> np.ndarray:
        return sign * np.stack([metric.batch_scores(counts @ s) for s in stats], axis=1)

    return MetricLP(sys_vec, seg, resample, "corpus score of resampled statistics", label,
                    higher_is_better=metric.higher_is_better, source="evalkit")


def score_lp(
    source: Source,
    data: LPData,
    names: Sequence[str],
    options: dict[str, Any] | None = None,
    cache: StatsCache | None = None,
    workers: int | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, MetricLP]:
    """evalkit metrics for every system of ``data``, keyed by registry name."""
    if not names:
        return {}
    cache = cache or StatsCache(None)
    lp, keep = data.lp, data.segments
    refs = [_select(source.reference(lp), keep)]
    srcs = _select(source.source(lp), keep)
    hyps = {s: _select(source.output(lp, s), keep) for s in data.systems}
    ref_digest = text_digest(*refs)
    src_digest = text_digest(srcs)
    out: dict[str, MetricLP] = {}
    for name in names:
        key = resolve_name(name)
        opts = dict(options or {})
        if not opts.get("tokenize") and not opts.get("trg_lang"):
            opts["trg_lang"] = lp.split("-")[-1]
        metric = build_metric(key, opts)
        signature = signature_for(metric, refs, srcs)
        keys = {
            s: cache.key(lp, s, signature, text_digest(hyps[s]) + ref_digest + (src_digest if metric.needs_source or metric.reads_source else ""))
            for s in data.systems
        }
        stats = {s: cache.load(lp, key, s, keys[s]) for s in data.systems}
        todo = [s for s in data.systems if stats[s] is None]
        if todo:
            testset = TestSet(refs=refs, systems={s: hyps[s] for s in todo}, srcs=srcs)
            table = compute_table(testset, {key: metric}, workers=workers, progress=progress)
            for s in todo:
                stats[s] = table.stats[(s, key)]
                cache.store(lp, key, s, keys[s], table.stats[(s, key)])
        out[key] = lp_metric(metric, [stats[s] for s in data.systems], signature)  # type: ignore[misc]
    return out
