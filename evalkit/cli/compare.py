"""``evalkit compare``: rank N systems with paired significance tests for every metric."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from evalkit.cli.common import (
    add_cluster_args,
    add_input_args,
    add_metric_args,
    add_output_args,
    busy,
    cluster_address,
    emit,
    input_spec,
    merged,
    metric_options,
    partition_progress,
    testset_from,
)
from evalkit.errors import InputError

DEFAULTS: dict[str, Any] = {
    "metrics": ["bleu", "chrf", "ter"],
    "format": "text",
    "test": "bootstrap",
    "n": None,
    "seed": None,
    "alpha": 0.05,
    "ties": "inclusive",
    "baseline": None,
    "all_pairs": False,
    "spans": None,
    "html": None,
    "cluster": None,  # None: $EVALKIT_CLUSTER decides
}
FORMATS = ["text", "json", "latex", "html"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="rank systems with paired significance tests (bootstrap / approximate randomization) for every metric",
        description="Compare N systems on every metric: scores with bootstrap 95%% CIs, paired bootstrap and/or "
                    "approximate-randomization p-values for all pairs (or against one baseline), Holm-corrected, "
                    "and WMT-style significance clusters. Draws and p-values are sacrebleu's for the same seed.",
    )
    add_input_args(p)
    add_metric_args(p, DEFAULTS["metrics"])
    g = p.add_argument_group("significance")
    pairs = g.add_mutually_exclusive_group()
    pairs.add_argument("--baseline", "-b", metavar="NAME",
                       help="test every system against this one (a system name or its -t file), as sacrebleu does")
    pairs.add_argument("--all-pairs", action="store_true", default=None,
                       help="test every pair and rank systems into clusters (the default)")
    g.add_argument("--test", choices=["bootstrap", "bs", "ar", "both"], default=None,
                   help="paired bootstrap resampling, approximate randomization, or both (default bootstrap)")
    g.add_argument("--n", type=int, default=None, metavar="N",
                   help="resamples / trials of the chosen test(s) (default: sacrebleu's 1000 bootstrap, 10000 AR, "
                        "raised when there are too many pairs for 1/(N+1) to survive the correction)")
    g.add_argument("--seed", type=int, default=None,
                   help="random seed (default: $SACREBLEU_SEED if set, else 12345, as sacrebleu)")
    g.add_argument("--alpha", type=float, default=None, help="significance level for clusters and marks (default 0.05)")
    g.add_argument("--ties", choices=["inclusive", "strict"], default=None,
                   help="a resampled difference equal to the observed one counts as at least as extreme (inclusive, "
                        "the textbook rule, default) or not (strict: sacrebleu's and multeval's rule, which gives "
                        "identical systems the smallest p-value)")
    g.add_argument("--spans", choices=["post-edit", "reference", "qe", "xcomet", "none"], default=None,
                   help="also report span errors per 100 MT words by severity (see `evalkit score --spans`)")
    add_output_args(p, FORMATS)
    p.add_argument("--html", metavar="FILE", help="also write the HTML page (p-value heatmaps, CI plots) to FILE")
    add_cluster_args(p)
    p.set_defaults(func=run)


def _baseline_name(baseline: str | None, opts: dict[str, Any], names: list[str]) -> str | None:
    """A baseline given as a -t path means that file's system."""
    if baseline is None or baseline in names:
        return baseline
    paths = opts.get("hyp") or []
    paths = [paths] if isinstance(paths, str) else list(paths)
    for path, name in zip(paths, names):
        if Path(path) == Path(baseline) or Path(path).resolve() == Path(baseline).resolve():
            return name
    return baseline


def _seed(value: Any) -> int | None:
    from evalkit.stats.significance import env_seed

    if value is None:
        return env_seed()
    if isinstance(value, str) and value.strip().lower() == "none":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"--seed: expected an integer or 'none', got {value!r}") from None


def run(args: argparse.Namespace) -> int:
    if not args.hyp and not args.config:
        raise InputError("no systems given: evalkit compare -t A.txt B.txt ... -r REF (or --config FILE)")
    opts = merged(args, "compare", DEFAULTS)
    if opts.get("baseline") and opts.get("all_pairs"):
        raise InputError("--baseline and --all-pairs exclude each other")
    spans = opts.get("spans")
    spans = None if spans in (None, "none") else spans
    settings = dict(test=opts["test"], n=opts.get("n"), seed=_seed(opts.get("seed")), alpha=float(opts["alpha"]),
                    ties=str(opts["ties"]))
    address = cluster_address(opts)
    with busy("comparing…") as status:
        if address:
            from evalkit.cluster.run import compare_distributed
            from evalkit.io.loader import system_names

            spec = input_spec(opts)
            result = compare_distributed(
                address, spec, opts["metrics"], metric_options(opts), spans=spans,
                partition_rows=opts.get("partition_rows"), progress=partition_progress(status),
                baseline=_baseline_name(opts.get("baseline"), opts, system_names(spec.hyp, spec.names)), **settings)
        else:
            from evalkit.comparison import compare

            testset = testset_from(opts)
            result = compare(
                testset=testset,
                metrics=opts["metrics"],
                options=metric_options(opts),
                baseline=_baseline_name(opts.get("baseline"), opts, list(testset.systems)),
                spans=spans,
                workers=opts.get("workers"),
                **settings,
            )
    if opts.get("html"):
        from evalkit.report.atomic import write_atomic
        from evalkit.report.compare_html import render_page

        write_atomic(Path(opts["html"]), render_page(result))
        print(f"wrote {opts['html']}", file=sys.stderr)
    fmt = opts["format"]
    if fmt == "text":
        out = Console(record=bool(opts.get("output")), width=None if sys.stdout.isatty() else 160)
        from evalkit.report.compare_text import render

        render(result, out)
        if opts.get("output"):
            emit(out.export_text(), opts["output"])
        return 0
    if fmt == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "latex":
        from evalkit.report.latex import compare_table

        text = compare_table(result)
    else:
        from evalkit.report.compare_html import render_page

        text = render_page(result)
    emit(text, opts.get("output"))
    return 0

