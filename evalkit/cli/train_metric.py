"""``evalkit train-metric``: train the COMET-style estimator from a TOML config (reproducible)."""
from __future__ import annotations

import argparse
import json
import sys

from evalkit.config import PROJECT_ROOT, resolve_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-metric",
        help="train the COMET-style neural metric on human judgments (WMT22 DA, TED MQM, MLQE-PE; never WMT23)",
        description="Train evalkit's COMET-style estimator from a config (configs/train-metric.toml): frozen "
                    "vs fine-tuned encoder chosen by dev correlation; writes the weights, a training report "
                    "and the model card into the output folder.",
    )
    p.add_argument("--config", required=True, metavar="TOML", help="config with a [train-metric] table")
    p.add_argument("--output", metavar="DIR", default=None, help="override the output folder")
    p.add_argument("--data", metavar="DIR", default=None, help="override the training data folder")
    p.add_argument("--model-path", metavar="DIR", default=None, help="a local copy of the encoder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evalkit.neural.card import write_model_card
    from evalkit.neural.train import TrainConfig
    from evalkit.neural.train import run as train
    from evalkit.report.atomic import write_atomic

    cfg = TrainConfig.from_toml(args.config, {"output": args.output, "data": args.data, "model_path": args.model_path})
    report = train(cfg, PROJECT_ROOT)
    out = resolve_path(cfg.output, PROJECT_ROOT)
    write_atomic(out / f"{cfg.name}.train.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
    card = write_model_card(report, out / "MODEL_CARD.md", command=f"evalkit train-metric --config {args.config}")
    print(f"wrote {report['weights']}, {out / f'{cfg.name}.train.json'}, {card}", file=sys.stderr)
    return 0
