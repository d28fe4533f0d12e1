"""``evalkit score``: corpus and sentence scores for one or more systems (default: the showcase seed)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from evalkit.cli.common import (
    add_cluster_args,
    add_input_args,
    add_metric_args,
    add_output_args,
    busy,
    emit,
    merged,
    parts_target,
    score_from_opts,
    spans_only_without_reference,
    use_default_run,
)
from evalkit.errors import InputError

DEFAULTS: dict[str, Any] = {
    "metrics": ["bleu", "chrf", "ter"],
    "format": "text",
    "confidence": False,
    "n_bootstrap": 1000,
    "seed": 12345,
    "segments": "20",
    "spans": None,
    "cluster": None,  # None: $EVALKIT_CLUSTER decides
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score systems against references (no arguments: the showcase article in seeds/)",
        description="Score MT output against one or more references: BLEU, chrF, chrF++, TER (sacrebleu-exact) "
                    "and neural metrics, corpus and sentence level. With no inputs it runs configs/default.toml.",
    )
    add_input_args(p)
    add_metric_args(p, DEFAULTS["metrics"])
    g = p.add_argument_group("statistics")
    g.add_argument("--confidence", "-ci", action="store_true", default=None, help="bootstrap 95%% confidence intervals")
    g.add_argument("--n-bootstrap", type=int, default=None, help="bootstrap samples (default 1000)")
    g.add_argument("--seed", type=int, default=None, help="resampling seed (default 12345, as sacrebleu)")
    g.add_argument("--spans", choices=["post-edit", "reference", "qe", "xcomet", "none"], default=None,
                   help="find garbled spans by aligning MT with the reference: post-edit (the reference corrects "
                        "this MT) or reference (an independent translation); qe: source and MT only (-s, no "
                        "reference needed); xcomet: the spans of an XCOMET "
                        "checkpoint given with -m comet --comet-checkpoint")
    add_output_args(p, ["text", "json", "jsonl", "tsv", "parquet"])
    p.add_argument("--segments", default=None, metavar="N|all", help="text output: worst N segments per system (default 20)")
    p.add_argument("--report", metavar="PATH", help="also write the error report (PATH.html, .md, .jsonl)")
    add_cluster_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    use_default_run(args, "use -t HYP -r REF")
    opts = merged(args, "score", DEFAULTS)
    spans_only_without_reference(args, opts, DEFAULTS["metrics"])
    segments = str(opts.get("segments"))
    try:
        limit = None if segments == "all" else int(segments)
    except ValueError:
        raise InputError(f"--segments: expected a number or 'all', got {segments!r}") from None
    parts = parts_target(opts)
    if parts and opts.get("report"):
        raise InputError("--report needs every segment in memory; with -o DIR the segments go to partition files")
    with busy("scoring…") as status:
        result = score_from_opts(opts, parts, status)
    if parts:
        # Millions of segments went to the partition files: the terminal gets the summary.
        from evalkit.report.text import render

        render(result, Console(width=None if sys.stdout.isatty() else 160), 0)
        print(f"wrote {parts[0]}", file=sys.stderr)
        return 0
    if opts.get("report"):
        from evalkit.report.errors import write_report

        for path in write_report(result, opts["report"]):
            print(f"wrote {path}", file=sys.stderr)
    fmt = opts["format"]
    if fmt == "text":
        out = Console(record=bool(opts.get("output")), width=None if sys.stdout.isatty() else 160)
        from evalkit.report.text import render

        render(result, out, limit)
        if opts.get("output"):
            emit(out.export_text(), opts["output"])
        return 0
    from evalkit.report import serialize

    text = {"json": serialize.to_json, "jsonl": serialize.to_jsonl, "tsv": serialize.to_tsv}[fmt](result)
    emit(text, opts.get("output"))
    return 0

