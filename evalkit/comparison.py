"""``evalkit.compare()``: rank N systems with paired significance tests for every metric.

Statistics are computed once per (system, metric) by :func:`~evalkit.stats.table.compute_table`; every
test, confidence interval, correction and cluster below is arithmetic on those cached arrays, driven by
one bootstrap count matrix and one AR swap matrix shared by all systems and metrics.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evalkit import __version__
from evalkit.errors import InputError
from evalkit.results import drop_none
from evalkit.metrics.base import Metric
from evalkit.stats.clusters import clusters as make_clusters
from evalkit.stats.multiple import holm
from evalkit.stats.resample import SACREBLEU_SEED, interval
from evalkit.stats.significance import DEFAULT_SAMPLES, TIES, PairedTests
from evalkit.stats.table import SegmentTable, compute_table
from evalkit.testset import TestSet

SCHEMA = "evalkit.compare/1"
DEFAULT_METRICS = ("bleu", "chrf", "ter")
TEST_ALIASES = {"bootstrap": ("bootstrap",), "bs": ("bootstrap",), "paired-bs": ("bootstrap",),
                "ar": ("ar",), "paired-ar": ("ar",), "both": ("bootstrap", "ar")}
SEVERITIES = ("minor", "major", "critical")
_SEG_TIE_ATOL = 1e-9


@dataclass
class MetricSummary:
    """One system's score on one metric, with its bootstrap mean, 95% interval, rank and cluster."""

    score: float
    mean: float
    ci: list[float]
    ci_half_width: float
    rank: int
    cluster: int | None = None


@dataclass
class SystemComparison:
    name: str
    metrics: dict[str, MetricSummary]
    words: int
    span_error_rates: dict[str, float] | None = None


@dataclass
class PairComparison:
    """One pair on one metric and test. ``delta`` is ``score(a) - score(b)``; wins count segments where
    ``a`` is better (lower is better for TER-like metrics)."""

    a: str
    b: str
    metric: str
    test: str
    delta: float
    p_value: float
    p_corrected: float
    n_samples: int
    wins: int
    ties: int
    losses: int

    def significant(self, alpha: float) -> bool:
        return self.p_corrected < alpha


@dataclass
class ClusterSet:
    metric: str
    test: str
    alpha: float
    groups: list[list[str]]


@dataclass
class MetricInfo:
    name: str
    display: str
    higher_is_better: bool
    signature: str


@dataclass
class Comparison:
    systems: list[SystemComparison]
    pairs: list[PairComparison]
    clusters: list[ClusterSet]
    metrics: dict[str, MetricInfo]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    schema: str = SCHEMA
    evalkit_version: str = __version__

    @property
    def system_names(self) -> list[str]:
        return [s.name for s in self.systems]

    @property
    def tests(self) -> list[str]:
        return list(self.settings["tests"])

    def system(self, name: str) -> SystemComparison:
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(name)

    def ranked(self, metric: str) -> list[SystemComparison]:
        return sorted(self.systems, key=lambda s: s.metrics[metric].rank)

    def pair(self, a: str, b: str, metric: str, test: str) -> PairComparison:
        """The result for ``a`` vs ``b`` (either order: p-values are symmetric, the delta is re-signed)."""
        for p in self.pairs:
            if p.metric == metric and p.test == test:
                if (p.a, p.b) == (a, b):
                    return p
                if (p.a, p.b) == (b, a):
                    return PairComparison(a, b, metric, test, -p.delta, p.p_value, p.p_corrected, p.n_samples,
                                          p.losses, p.ties, p.wins)
        raise KeyError((a, b, metric, test))

    def p_matrix(self, metric: str, test: str, corrected: bool = True) -> tuple[list[str], np.ndarray]:
        """Systems in rank order and their (S, S) p-value matrix (NaN where a pair was not tested)."""
        names = [s.name for s in self.ranked(metric)]
        pos = {n: i for i, n in enumerate(names)}
        mat = np.full((len(names), len(names)), np.nan)
        for p in self.pairs:
            if p.metric == metric and p.test == test:
                v = p.p_corrected if corrected else p.p_value
                mat[pos[p.a], pos[p.b]] = mat[pos[p.b], pos[p.a]] = v
        return names, mat

    def decimals(self, metric: str) -> int:
        """Digits to print: 2 for 0-100 scales (BLEU, chrF, TER), 4 for 0-1 scales (most neural metrics)."""
        return 4 if all(abs(s.metrics[metric].score) <= 1.5 for s in self.systems) else 2

    def cluster_set(self, metric: str) -> ClusterSet | None:
        for c in self.clusters:
            if c.metric == metric:
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(asdict(self))


def resolution_samples(n_pairs: int, alpha: float) -> int:
    """Samples needed so that the smallest resampling p-value, ``1/(N+1)``, survives Holm over ``n_pairs``
    with a factor of two to spare: ``N + 1 >= 2 * n_pairs / alpha``, rounded up to a thousand.

    Without it, 1000 bootstrap resamples (p >= 0.001) over 120 pairs (16 systems) can never reject at 0.05.
    """
    needed = 2.0 * n_pairs / alpha
    return int(np.ceil(needed / 1000.0) * 1000)


def parse_tests(test: str | Sequence[str]) -> tuple[str, ...]:
    names = [test] if isinstance(test, str) else list(test)
    out: list[str] = []
    for name in names:
        key = str(name).strip().lower()
        if key not in TEST_ALIASES:
            raise InputError(f"unknown test {name!r} (expected bootstrap, ar or both)")
        out.extend(t for t in TEST_ALIASES[key] if t not in out)
    if not out:
        raise InputError("no significance test selected (expected bootstrap, ar or both)")
    return tuple(out)


def choose_pairs(names: Sequence[str], baseline: str | None) -> list[tuple[str, str]]:
    """Every system against the baseline (``(system, baseline)``), or all pairs in input order."""
    if baseline is None:
        return [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    if baseline not in names:
        close = difflib.get_close_matches(baseline, list(names), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"baseline {baseline!r} is not among the systems{hint} (systems: {', '.join(names)})")
    return [(n, baseline) for n in names if n != baseline]


def _better(metric: Metric, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x > y if metric.higher_is_better else x < y


def segment_outcomes(metric: Metric, seg_a: np.ndarray, seg_b: np.ndarray) -> tuple[int, int, int]:
    """(wins, ties, losses) of ``a`` against ``b`` over segments, by the metric's own direction."""
    tie = np.isclose(seg_a, seg_b, rtol=0.0, atol=_SEG_TIE_ATOL)
    win = _better(metric, seg_a, seg_b) & ~tie
    return int(win.sum()), int(tie.sum()), int(len(seg_a) - win.sum() - tie.sum())


def mt_words(hyps: Sequence[str]) -> int:
    return sum(len(h.split()) for h in hyps)


def span_error_rates(severities: Sequence[str], words: int) -> dict[str, float]:
    """Errors per 100 MT words (whitespace tokens), per severity and in total."""
    if words <= 0:
        return {}
    counts = {sev: 0 for sev in SEVERITIES}
    for sev in severities:
        counts[sev] = counts.get(sev, 0) + 1
    rates = {sev: 100.0 * c / words for sev, c in counts.items()}
    rates["all"] = 100.0 * len(severities) / words
    return rates


def _ranks(metric: Metric, scores: np.ndarray) -> np.ndarray:
    """1-based ranks, best first; equal scores keep input order."""
    key = -scores if metric.higher_is_better else scores
    order = np.argsort(key, kind="stable")
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def _significance_matrix(ranked: list[str], lookup: dict[tuple[str, str], PairComparison], metric: Metric,
                         alpha: float) -> np.ndarray:
    s = len(ranked)
    better = np.zeros((s, s), dtype=bool)
    for i in range(s):
        for j in range(s):
            if i == j:
                continue
            p = lookup.get((ranked[i], ranked[j]))
            sign = 1.0
            if p is None:
                p = lookup[(ranked[j], ranked[i])]
                sign = -1.0
            d = sign * p.delta
            ahead = d > 0 if metric.higher_is_better else d < 0
            better[i, j] = ahead and p.significant(alpha)
    return better


def compare(
    systems: Mapping[str, Sequence[str]] | None = None,
    refs: Sequence[Sequence[str]] | None = None,
    *,
    srcs: Sequence[str] | None = None,
    testset: TestSet | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    options: dict[str, Any] | None = None,
    baseline: str | None = None,
    test: str | Sequence[str] = "bootstrap",
    n: int | None = None,
    n_bootstrap: int | None = None,
    n_ar: int | None = None,
    seed: int | None = SACREBLEU_SEED,
    alpha: float = 0.05,
    ties: str = "inclusive",
    spans: str | None = None,
    workers: int | None = None,
    table: SegmentTable | None = None,
    span_lists: dict[str, list[list[Any]]] | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> Comparison:
    """Compare systems pairwise on every metric.

    ``baseline=None`` tests all pairs and ranks systems into significance clusters; with a baseline every
    other system is tested against it (as ``sacrebleu --paired-bs/--paired-ar``), and no clusters are made.
    ``test`` is ``bootstrap``, ``ar`` or ``both``; ``n`` sets the samples of the chosen tests. Defaults are
    sacrebleu's (1000 bootstrap resamples, 10000 AR trials), raised when there are so many pairs that
    ``1/(N+1)`` could not survive the correction (:func:`resolution_samples`). CIs come from the bootstrap
    samples.
    P-values are Holm-corrected within each (metric, test) family of pairs. ``spans`` ("post-edit" or
    "reference") adds span error rates per 100 MT words by severity. ``ties="strict"`` counts resampled
    differences equal to the observed one as less extreme, as sacrebleu does (see
    :mod:`evalkit.stats.significance`); the default counts them as at least as extreme. ``table`` and
    ``span_lists`` given (by a Dask run) are used instead of computing them here.
    """
    if testset is None:
        ref_streams = refs if refs is not None else []
        testset = TestSet(refs=ref_streams, systems=dict(systems or {}), srcs=srcs)  # type: ignore[arg-type]
    names = list(testset.systems)
    if len(names) < 2:
        raise InputError(f"compare needs at least two systems, got {len(names)} (give several -t files)")
    tests = parse_tests(test)
    if ties not in TIES:
        raise InputError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    pairs = choose_pairs(names, baseline)
    floor = resolution_samples(len(pairs), alpha)
    nb = n_bootstrap or (n if n and "bootstrap" in tests else None) or max(DEFAULT_SAMPLES["bootstrap"], floor)
    na = n_ar or (n if n and "ar" in tests else None) or max(DEFAULT_SAMPLES["ar"], floor)
    notes = list(testset.notes)
    if seed is not None and int(seed) < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    for t, label, value, least in (("bootstrap", "bootstrap samples", nb, 2), ("ar", "AR trials", na, 1)):
        if int(value) < least:
            raise InputError(f"the number of {label} must be at least {least}, got {value}")
        if t in tests and len(pairs) / (int(value) + 1) >= alpha:
            notes.append(f"{t}: with {value} {label} the smallest p-value is 1/{int(value) + 1}, so after Holm's "
                         f"correction over {len(pairs)} pairs no pair can reach alpha={alpha}: use at least "
                         f"--n {floor}")
    if table is None:
        from evalkit.api import build_metrics

        table = compute_table(testset, build_metrics(metrics, options), workers=workers, progress=progress)
    engine = PairedTests(table.metrics, table.stats, names, n_bootstrap=int(nb), n_ar=int(na), seed=seed,
                         ties=ties)

    summaries: dict[str, dict[str, MetricSummary]] = {s: {} for s in names}
    pair_results: list[PairComparison] = []
    cluster_sets: list[ClusterSet] = []
    infos: dict[str, MetricInfo] = {}
    for key, metric in table.metrics.items():
        infos[key] = MetricInfo(key, str(metric.display), metric.higher_is_better,
                                metric.signature((int(nb), seed)))
        scores = np.array([table.corpus_score(s, key) for s in names])
        ranks = _ranks(metric, scores)
        samples = engine.bootstrap_scores(key)
        for i, s in enumerate(names):
            iv = interval(samples[i], seed)
            summaries[s][key] = MetricSummary(float(scores[i]), iv.mean, [iv.low, iv.high], iv.half_width,
                                              int(ranks[i]))
        segs = {s: table.segment_scores(s, key) for s in names}
        outcomes = [segment_outcomes(metric, segs[a], segs[b]) for a, b in pairs]
        pos = {s: i for i, s in enumerate(names)}
        by_test: dict[str, list[PairComparison]] = {}
        for t in tests:
            raw = engine.run(t, key, pairs)
            adjusted = holm(raw)
            rows = [
                PairComparison(a, b, key, t, float(scores[pos[a]] - scores[pos[b]]), float(p), float(q),
                               engine.n_samples(t), *outcome)
                for (a, b), p, q, outcome in zip(pairs, raw, adjusted, outcomes)
            ]
            by_test[t] = rows
            pair_results.extend(rows)
        if baseline is None:
            t = tests[0]
            lookup = {(p.a, p.b): p for p in by_test[t]}
            ranked = [names[i] for i in np.argsort(ranks, kind="stable")]
            groups = make_clusters(ranked, _significance_matrix(ranked, lookup, metric, alpha))
            cluster_sets.append(ClusterSet(key, t, alpha, groups))
            for c, group in enumerate(groups, 1):
                for s in group:
                    summaries[s][key].cluster = c

    rates: dict[str, dict[str, float]] = {}
    if spans:
        rates = _span_rates(testset, table, spans, span_lists)
    if baseline is not None:
        notes.append("clusters need every pair: run without a baseline (all pairs) to get them")
    settings = {
        "tests": list(tests),
        "n_bootstrap": int(nb),
        "n_ar": int(na) if "ar" in tests else None,
        "seed": seed,
        "alpha": alpha,
        "correction": "holm",
        "ties": ties,
        "baseline": baseline,
        "pairs": "baseline" if baseline is not None else "all",
        "cluster_test": tests[0] if baseline is None else None,
    }
    result_systems = [
        SystemComparison(s, summaries[s], mt_words(testset.systems[s]), rates.get(s)) for s in names
    ]
    return Comparison(result_systems, pair_results, cluster_sets, infos, settings, notes)


def _span_rates(testset: TestSet, table: SegmentTable, mode: str,
                span_lists: dict[str, list[list[Any]]] | None = None) -> dict[str, dict[str, float]]:
    """Span error rates from the same span pipeline ``evalkit score --spans`` uses."""
    from evalkit.api import assemble

    result = assemble(testset, table, spans=mode, span_lists=span_lists)
    out = {}
    for sys_res in result.systems:
        severities = [sp.severity for seg in sys_res.segments for sp in (seg.spans or [])]
        out[sys_res.name] = span_error_rates(severities, mt_words(testset.systems[sys_res.name]))
    return out
