"""``evalkit report``: the per-sentence error report (HTML, Markdown, JSONL) from a saved result or a fresh run."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evalkit.cli import score as score_cli
from evalkit.cli.common import (add_input_args, add_metric_args, merged, score_from_opts,
                                spans_only_without_reference, use_default_run)
from evalkit.errors import InputError
from evalkit.results import Result

DEFAULT_OUTPUT = "evalkit-report"
# The [score] table of a saved run is read as is, so every key score accepts is accepted here too.
# A report renders every segment: it runs in one process unless a saved run asks for a cluster.
DEFAULTS: dict[str, Any] = {**score_cli.DEFAULTS, "spans": "post-edit", "report": None, "cluster": "none"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the per-sentence error report: PATH.html, PATH.md, PATH.jsonl",
        description="Per-sentence error report: a self-contained HTML page (spans highlighted by severity, MT "
                    "beside the reference and its correction, sorting, filters, summary charts), a Markdown "
                    "version and JSONL. Input: a saved `evalkit score --format json` result (-i), or the same "
                    "inputs as `evalkit score`; with neither it reports on configs/default.toml.",
    )
    p.add_argument("-i", "--input", metavar="RESULT.json", help="a result saved by `evalkit score --format json`")
    add_input_args(p)
    add_metric_args(p, DEFAULTS["metrics"])
    g = p.add_argument_group("spans and statistics")
    g.add_argument("--spans", choices=["post-edit", "reference", "qe", "xcomet", "none"], default=None,
                   help="how to find garbled spans (default post-edit: the reference corrects this MT; "
                        "reference: an independent translation; none: scores only)")
    g.add_argument("--confidence", "-ci", action="store_true", default=None, help="bootstrap 95%% confidence intervals")
    g.add_argument("--n-bootstrap", type=int, default=None, help="bootstrap samples (default 1000)")
    g.add_argument("--seed", type=int, default=None, help="resampling seed (default 12345, as sacrebleu)")
    g.add_argument("--workers", type=int, default=None, help="processes for lexical metrics (default: all cores)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help=f"report stem: writes PATH.html, PATH.md and PATH.jsonl (default {DEFAULT_OUTPUT}; "
                        "a .html/.md/.jsonl suffix is dropped)")
    p.set_defaults(func=run)


def load_result(path: str) -> Result:
    """A saved JSON result; any problem (missing, not JSON, wrong schema) is one InputError."""
    from evalkit.io.text import read_text

    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                         "give a file written by `evalkit score --format json`") from None
    try:
        return Result.from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _scored(args: argparse.Namespace) -> tuple[Result, str | None]:
    use_default_run(args, "use -i RESULT.json or -t HYP -r REF")
    opts = merged(args, "score", DEFAULTS)
    spans_only_without_reference(args, opts, DEFAULTS["metrics"])
    return score_from_opts(opts), opts.get("report")


def run(args: argparse.Namespace) -> int:
    if args.input:
        given = [flag for flag, value in (("-t", args.hyp), ("-r", args.ref), ("-s", args.src),
                                          ("--config", args.config)) if value]
        if given:
            raise InputError(f"-i reads a saved result; do not also give {', '.join(given)}")
        result, configured = load_result(args.input), None
    else:
        result, configured = _scored(args)
    from evalkit.report.errors import write_report

    for path in write_report(result, args.output or configured or DEFAULT_OUTPUT):
        print(f"wrote {path}", file=sys.stderr)
    return 0
