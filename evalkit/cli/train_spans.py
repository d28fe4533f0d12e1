"""``evalkit train-spans``: train a span tagger (reference or QE mode) from a TOML config (reproducible)."""
from __future__ import annotations

import argparse
import json
import sys

from evalkit.config import PROJECT_ROOT, resolve_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-spans",
        help="train the reference- or QE-mode span tagger on human MQM error spans (TED, BioMQM dev; never WMT23)",
        description="Train the span tagger behind `--spans reference` from a config (configs/train-spans.toml): "
                    "token features from the alignment, MiniLM similarity and other systems' outputs; a small "
                    "network weighted by characters; epoch and threshold chosen by dev character F1. Writes "
                    "the weights (with the training report inside) into the output folder. `mode = \"qe\"` "
                    "(configs/train-spans-qe.toml) trains the tagger behind `--spans qe` on source-MT evidence.",
    )
    p.add_argument("--config", required=True, metavar="TOML", help="config with a [train-spans] table")
    p.add_argument("--output", metavar="DIR", default=None, help="override the output folder")
    p.add_argument("--data", metavar="DIR", default=None, help="override the shared data folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evalkit.report.atomic import write_atomic
    from evalkit.spans.train import SpanTrainConfig
    from evalkit.spans.train import run as train

    cfg = SpanTrainConfig.from_toml(args.config, {"output": args.output, "data": args.data})
    tagger, report = train(cfg, PROJECT_ROOT)
    path = resolve_path(cfg.output, PROJECT_ROOT) / f"{cfg.name}.json"
    write_atomic(path, tagger.to_json({"training": report}))
    print(json.dumps(report["dev"], indent=1), file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    return 0
