"""Command line: thin argument parsing that calls the library; input errors become one-line messages."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from evalkit import __version__
from evalkit.errors import ClusterError, InputError, ModelError

# subcommand -> module with ``add_parser(subparsers)`` and ``run(args) -> int``
COMMANDS: dict[str, str] = {
    "score": "evalkit.cli.score",
    "report": "evalkit.cli.report",
    "metaeval": "evalkit.cli.metaeval",
    "compare": "evalkit.cli.compare",
    "train-metric": "evalkit.cli.train_metric",
    "train-spans": "evalkit.cli.train_spans",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalkit",
        description="Translation-quality evaluation: sacrebleu-exact scores, significance, garbled spans.",
    )
    parser.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["score", *argv]
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (InputError, ModelError, ClusterError) as exc:
        print(f"evalkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evalkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
