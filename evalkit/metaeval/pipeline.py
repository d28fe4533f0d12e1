"""``run_metaeval``: read a WMT folder, score with evalkit's metrics (cached), measure agreement with humans."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import InputError
from evalkit.metaeval.cache import DEFAULT_CACHE_DIR, StatsCache
from evalkit.metaeval.data import LPData, MetricLP, load_lp
from evalkit.metaeval.evaluate import Metaeval, run
from evalkit.metaeval.scoring import score_lp
from evalkit.metaeval.sources import Source, open_source
from evalkit.metaeval.stats import SEG_VARIANTS


def official_names(source: Source, lps: Sequence[str], requested: Sequence[str]) -> list[str]:
    """Expand ``all`` to the official metrics every pair has; keep the others as given."""
    out: list[str] = []
    for name in requested:
        if name.lower() == "all":
            common = set.intersection(*(set(source.official_basenames(lp)) for lp in lps)) if lps else set()
            if not common:
                raise InputError(f"{source.root}: no official metric is available for every pair of {', '.join(lps)}")
            out.extend(sorted(common, key=str.lower))
        else:
            out.append(name)
    return list(dict.fromkeys(out))


def run_metaeval(
    data_dir: str | Path,
    lps: Sequence[str] | None = None,
    metrics: Sequence[str] = ("bleu", "chrf"),
    official: Sequence[str] = (),
    human: str | None = None,
    options: dict[str, Any] | None = None,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    n_bootstrap: int = 1000,
    seed: int | None = 12345,
    seg_variant: str = "acc-eq",
    workers: int | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> Metaeval:
    """Agreement with humans of evalkit ``metrics`` and ``official`` WMT scores on ``lps`` (default: all)."""
    if seg_variant not in SEG_VARIANTS:
        raise InputError(f"unknown segment statistic {seg_variant!r} (one of {', '.join(SEG_VARIANTS)})")
    if n_bootstrap < 0:
        raise InputError(f"--n-bootstrap must be >= 0, got {n_bootstrap}")
    if not metrics and not official:
        raise InputError("nothing to evaluate: give evalkit metrics (-m) and/or official ones (--official)")
    t0 = time.perf_counter()
    source = open_source(data_dir)
    lps = list(lps) if lps else [lp for lp in source.language_pairs() if source.human_kinds(lp)]
    if not lps:
        raise InputError(f"{source.root}: no language pair with human scores")
    for lp in lps:
        source.check_lp(lp)
    names = official_names(source, lps, official)
    cache = StatsCache(cache_dir)
    data: dict[str, LPData] = {}
    scores: dict[str, dict[str, MetricLP]] = {}
    t_score = 0.0
    for lp in lps:
        d, off = load_lp(source, lp, human, names)
        t1 = time.perf_counter()
        own = score_lp(source, d, metrics, options, cache, workers, progress)
        t_score += time.perf_counter() - t1
        data[lp] = d
        for key, m in {**own, **off}.items():
            scores.setdefault(key, {})[lp] = m
    t_loaded = time.perf_counter()
    result = run(data, scores, n_bootstrap, seed, seg_variant)
    t_done = time.perf_counter()
    result.data_dir = str(source.root)
    result.layout = source.layout
    result.timings = {
        "read_s": round(t_loaded - t0 - t_score, 3),
        "score_s": round(t_score, 3),
        "statistics_s": round(t_done - t_loaded, 3),
        "total_s": round(t_done - t0, 3),
        "cache_hits": cache.hits,
        "cache_misses": cache.misses if cache.root is not None else 0,
    }
    return result
