"""``evalkit metaeval``: does a metric rank systems the way humans do? (WMT data, evalkit and official metrics)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from evalkit.cli.common import add_metric_args, add_output_args, emit, metric_options
from evalkit.errors import InputError
from evalkit.metaeval.cache import DEFAULT_CACHE_DIR
from evalkit.metaeval.stats import SEG_VARIANTS

DEFAULT_METRICS = ["bleu", "chrf"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metaeval",
        help="measure metrics against human judgments on WMT data (pairwise accuracy, Pearson, segment tau)",
        description="Score every system of a WMT test set with evalkit's metrics (cached), read official metric "
                    "scores and human judgments, and report how well each metric agrees with the humans: "
                    "system-level pairwise accuracy (pooled and per pair) and Pearson, segment-level acc-eq "
                    "(WMT23), bootstrap intervals and paired significance tests. Reads an mt-metrics-eval year "
                    "folder (e.g. .../mt-metrics-eval-v2/wmt23), a WMT22 release (crowd DA) or a WMT24 folder "
                    "(human ranking). Without -m, evalkit scores bleu and chrf unless --official is given.",
    )
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, metavar="DIR", help="WMT data folder")
    g.add_argument("--lp", action="append", metavar="LP[,LP...]",
                   help="language pairs, comma-separated (default: every pair with human scores)")
    g.add_argument("--official", action="append", metavar="NAME[,NAME...]",
                   help="official metric scores to evaluate, comma-separated base names (BLEU,chrF,COMET; the "
                        "standard-reference or source-only variant is picked per pair) or 'all'")
    g.add_argument("--human", default=None, metavar="KIND",
                   help="human judgments: mqm or da-sqm (mt-metrics-eval), da or da-raw (WMT22), ranking (WMT24); "
                        "default: mqm where available")
    add_metric_args(p, DEFAULT_METRICS)
    s = p.add_argument_group("statistics")
    s.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap samples of segments (default 1000; 0: none)")
    s.add_argument("--seed", type=int, default=12345, help="resampling seed (default 12345)")
    s.add_argument("--seg-tau", choices=SEG_VARIANTS, default="acc-eq",
                   help="segment-level statistic reported as seg_tau (default acc-eq, as WMT23)")
    s.add_argument("--compare", nargs=2, action="append", metavar=("A", "B"),
                   help="print whether metric A is significantly better than B (repeatable)")
    c = p.add_argument_group("cache")
    c.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR), metavar="DIR",
                   help=f"segment statistics cache (default {DEFAULT_CACHE_DIR})")
    c.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    add_output_args(p, ["text", "json"])
    p.add_argument("--plot", metavar="PATH.svg", help="write metric-vs-human scatter plots (one per metric and pair)")
    p.set_defaults(func=run)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _metric_key(name: str, keys: list[str]) -> str:
    if name in keys:
        return name
    if f"official:{name}" in keys:
        return f"official:{name}"
    lowered = {k.lower(): k for k in keys}
    for candidate in (name.lower(), f"official:{name}".lower()):
        if candidate in lowered:
            return lowered[candidate]
    raise InputError(f"--compare: no metric {name!r} in this run (metrics: {', '.join(keys)})")


def run(args: argparse.Namespace) -> int:
    from evalkit.metaeval.pipeline import run_metaeval
    from evalkit.metaeval.report import render, to_json

    official = _split(args.official)
    metrics = args.metrics if args.metrics is not None else ([] if official else DEFAULT_METRICS)
    if args.plot and Path(args.plot).suffix.lower() != ".svg":
        raise InputError(f"--plot {args.plot}: the plot is an SVG file; give a name ending in .svg")
    if args.compare and not any(o.lower() == "all" for o in official):
        from evalkit.metrics import resolve_name

        expected = [resolve_name(m) for m in metrics] + [f"official:{o}" for o in official]
        for name in (n for pair in args.compare for n in pair):
            _metric_key(name, expected)
    opts = metric_options(vars(args))
    console = Console(stderr=True)
    status = console.status("scoring…", spinner="dots") if sys.stderr.isatty() else None

    def progress(system: str, metric: str) -> None:
        if status is not None:
            status.update(f"scoring {metric}: {system}")

    if status is not None:
        status.start()
    try:
        result = run_metaeval(
            args.data, _split(args.lp) or None, metrics, official, args.human, opts,
            None if args.no_cache else args.cache_dir, args.n_bootstrap, args.seed, args.seg_tau,
            args.workers, progress,
        )
    finally:
        if status is not None:
            status.stop()
    compare = [(_metric_key(a, list(result.stats)), _metric_key(b, list(result.stats))) for a, b in args.compare or []]
    if args.plot:
        from evalkit.metaeval.plot import scatter_svg
        from evalkit.report.atomic import write_atomic

        write_atomic(args.plot, scatter_svg(result))
        print(f"wrote {args.plot}", file=sys.stderr)
    if (args.format or "text") == "json":
        emit(to_json(result), args.output)
        return 0
    out = Console(record=bool(args.output), width=None if sys.stdout.isatty() else 200)
    render(result, out, compare)
    t = result.timings
    out.print(f"[dim]read {t['read_s']:.1f}s, scoring {t['score_s']:.1f}s ({t['cache_hits']} cached), "
              f"statistics {t['statistics_s']:.1f}s, total {t['total_s']:.1f}s[/dim]", highlight=False)
    if args.output:
        emit(out.export_text(), args.output)
    return 0
