"""Arguments shared by score, compare and report: inputs, metric options, output."""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from evalkit.config import load_config
from evalkit.errors import InputError
from evalkit.io.loader import FORMATS, load_testset
from evalkit.io.records import Columns
from evalkit.metrics import metric_labels
from evalkit.report.atomic import write_atomic
from evalkit.testset import TestSet


def add_input_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs")
    g.add_argument("-t", "--hyp", action="extend", nargs="+", metavar="FILE", help="system output(s); repeatable")
    g.add_argument("-r", "--ref", action="extend", nargs="+", metavar="FILE", help="reference(s); repeatable")
    g.add_argument("-s", "--src", metavar="FILE", help="source segments (optional)")
    g.add_argument("--names", nargs="+", metavar="NAME", help="system names (default: file names)")
    g.add_argument("--input-format", choices=FORMATS, default=None,
                   help="text: one segment per line; tsv/jsonl: records with src, mt, ref|refs; dataset: a local "
                        "Hugging Face dataset; document: a raw article (boilerplate dropped, sentence split). "
                        "Default: from the file name")
    g.add_argument("--mt-column", default=None, help="record field holding the MT (default mt)")
    g.add_argument("--ref-column", default=None, help="record field holding one reference (default ref)")
    g.add_argument("--refs-column", default=None, help="record field holding a list of references (default refs)")
    g.add_argument("--src-column", default=None, help="record field holding the source (default src)")
    g.add_argument("--split", default=None, help="dataset split (default: test, else the first)")
    g.add_argument("--config", metavar="TOML", help="a saved run (see configs/); flags given here override it")


def add_metric_args(p: argparse.ArgumentParser, default: list[str]) -> None:
    g = p.add_argument_group("metrics")
    g.add_argument("-m", "--metrics", nargs="+", default=None, metavar="NAME",
                   help=f"metrics to compute (default: {' '.join(default)}; available: {', '.join(metric_labels())})")
    g.add_argument("--tokenize", "-tok", default=None, help="BLEU tokenizer (13a, intl, zh, ja-mecab, char, none, ...)")
    g.add_argument("--lowercase", "-lc", action="store_true", default=None, help="BLEU/chrF: lowercase")
    g.add_argument("--smooth-method", choices=["exp", "floor", "add-k", "none"], default=None, help="BLEU smoothing")
    g.add_argument("--smooth-value", type=float, default=None, help="BLEU smoothing value (floor, add-k)")
    g.add_argument("--max-ngram-order", type=int, default=None, help="BLEU maximum n-gram order")
    g.add_argument("--trg-lang", default=None,
                   help="target language (BLEU's tokenizer as in sacrebleu; sentence rules for documents)")
    g.add_argument("--chrf-char-order", type=int, default=None, help="chrF character n-gram order (default 6)")
    g.add_argument("--chrf-word-order", type=int, default=None, help="chrF word n-gram order (chrF++: 2)")
    g.add_argument("--chrf-beta", type=int, default=None, help="chrF beta (default 2)")
    g.add_argument("--chrf-whitespace", action="store_true", default=None, help="chrF: keep whitespace")
    g.add_argument("--chrf-eps-smoothing", action="store_true", default=None, help="chrF: chrF++.py epsilon smoothing")
    g.add_argument("--ter-normalized", action="store_true", default=None, help="TER: normalise (tercom -N)")
    g.add_argument("--ter-no-punct", action="store_true", default=None, help="TER: remove punctuation")
    g.add_argument("--ter-asian-support", action="store_true", default=None, help="TER: Asian character support")
    g.add_argument("--ter-case-sensitive", action="store_true", default=None, help="TER: case-sensitive")
    g.add_argument("--model-path", metavar="DIR", default=None,
                   help="neural metrics: a local copy of the encoder (default: the packaged one; also EVALKIT_ENCODER)")
    g.add_argument("--neural-dtype", choices=["fp32", "int8", "bf16", "fp16"], default=None,
                   help="comet-minilm, comet-e5, comet-e5-qe: fp32, or int8 dynamic quantisation of the encoder "
                        "(faster on a CPU); comet also bf16/fp16 on a GPU")
    g.add_argument("--comet-checkpoint", metavar="PATH", default=None,
                   help="-m comet: an Unbabel COMET model folder (checkpoints/model.ckpt + hparams.yaml: COMET-22, "
                        "CometKiwi, XCOMET, ...) or its .ckpt; run offline by evalkit")
    g.add_argument("--neural-device", choices=["auto", "cpu", "cuda"], default=None,
                   help="comet: where to run (default auto: the GPU when torch sees one)")
    g.add_argument("--neural-cache", metavar="DIR|off", default=None,
                   help="neural metrics: embedding cache folder (default ~/.cache/evalkit, or EVALKIT_CACHE_DIR); off disables")
    g.add_argument("--batch-size", type=int, default=None, help="neural metrics: texts per batch (default 64)")


def add_output_args(p: argparse.ArgumentParser, formats: list[str]) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--format", "-f", choices=formats, default=None, help="output format (default text)")
    g.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    g.add_argument("--workers", type=int, default=None,
                   help="processes for lexical metrics (default: all cores; with --cluster, the cluster's workers)")


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster (Dask)")
    g.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="run on Dask: local (one worker per core), local:N, or a scheduler such as tcp://host:8786; "
                        "inputs (a file, a directory or a quoted glob of shards) are read in partitions by the "
                        "workers, and the numbers are a single process's; score -o DIR/ (or -f parquet) writes the "
                        "segments as one file per partition, and a rerun resumes (default $EVALKIT_CLUSTER; none: off)")
    g.add_argument("--partition-rows", type=int, default=None, metavar="N",
                   help="segments per partition (default: about 64 partitions, 1,000 to 10,000 segments each)")


def cluster_address(opts: dict[str, Any]) -> str | None:
    """The Dask address for a command that has ``--cluster`` (flag, config or ``$EVALKIT_CLUSTER``), else None."""
    if "cluster" not in opts:
        return None
    from evalkit.cluster.connect import cluster_address as address

    return address(opts.get("cluster"))


def parts_target(opts: dict[str, Any]) -> tuple[str, str] | None:
    """``(DIR, jsonl|parquet)`` when a Dask run writes its segments as partitions into ``-o DIR``."""
    from evalkit.cluster.parts import parts_format

    fmt = parts_format(opts.get("output"), str(opts.get("format")), cluster_address(opts) is not None)
    return (str(opts["output"]), fmt) if fmt else None


def merged(args: argparse.Namespace, section: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """Flags override the config file, which overrides the defaults."""
    conf = load_config(args.config, section) if args.config else {}
    out = dict(defaults)
    known = set(vars(args))
    for key, value in conf.items():
        k = key.replace("-", "_")
        if k not in known and k not in defaults:
            raise InputError(f"{args.config}: unknown key {key!r} in [{section}]")
        out[k] = value
    for key, value in vars(args).items():
        if value is not None:
            out[key] = value
    if isinstance(out.get("metrics"), str):  # `metrics = "chrf"` in a config is one metric, not five letters
        out["metrics"] = [out["metrics"]]
    return out


def spans_only_without_reference(args: argparse.Namespace, opts: dict[str, Any], default_metrics: list[str]) -> None:
    """``--spans qe`` with neither a reference nor ``-m``: find the spans alone instead of failing on BLEU's
    missing reference (the default metrics all read one)."""
    if opts.get("spans") == "qe" and not opts.get("ref") and args.metrics is None and \
            opts.get("metrics") == default_metrics:
        opts["metrics"] = []


def use_default_run(args: argparse.Namespace, usage: str) -> None:
    """With no inputs and no config, run the showcase (configs/default.toml), as a new user expects."""
    from evalkit.config import DEFAULT_CONFIG

    if not args.hyp and not args.config:
        if not DEFAULT_CONFIG.exists():
            raise InputError(f"no inputs given and no default run at {DEFAULT_CONFIG}; {usage}")
        args.config = str(DEFAULT_CONFIG)


def score_from_opts(opts: dict[str, Any], parts: tuple[str, str] | None = None, status: Any = None) -> Any:
    """``evalkit.score`` on merged options: the one place the score-like commands turn flags into a run.

    With a cluster address the run is distributed; ``parts`` (directory, format) then receives the segments, and
    ``status`` (a ``busy`` spinner) counts the partitions.
    """
    spans = opts.get("spans")
    address = cluster_address(opts)
    if address:
        from evalkit.cluster.run import score_distributed

        return score_distributed(
            address, input_spec(opts), opts["metrics"], metric_options(opts),
            confidence=bool(opts.get("confidence")), n_bootstrap=int(opts["n_bootstrap"]), seed=opts.get("seed"),
            spans=None if spans in (None, "none") else spans, parts=parts, partition_rows=opts.get("partition_rows"),
            progress=partition_progress(status),
        )
    from evalkit.api import score

    return score(
        testset=testset_from(opts),
        metrics=opts["metrics"],
        options=metric_options(opts),
        confidence=bool(opts.get("confidence")),
        n_bootstrap=int(opts["n_bootstrap"]),
        seed=opts.get("seed"),
        spans=None if spans in (None, "none") else spans,
        workers=opts.get("workers"),
    )


def metric_options(opts: dict[str, Any]) -> dict[str, Any]:
    keys = ["tokenize", "lowercase", "smooth_method", "smooth_value", "max_ngram_order", "trg_lang",
            "chrf_char_order", "chrf_word_order", "chrf_beta", "chrf_whitespace", "chrf_eps_smoothing",
            "ter_normalized", "ter_no_punct", "ter_asian_support", "ter_case_sensitive",
            "model_path", "neural_dtype", "neural_cache", "batch_size", "comet_checkpoint", "neural_device"]
    out = {k: opts.get(k) for k in keys if opts.get(k) is not None}
    for k in list(out):
        if k.startswith("chrf_"):
            out["chrfpp_" + k[5:]] = out[k]
    return out


def _paths(opts: dict[str, Any], key: str) -> list[str]:
    value = opts.get(key) or []
    return [value] if isinstance(value, str) else list(value)


def _columns(opts: dict[str, Any]) -> Columns:
    return Columns(
        mt=opts.get("mt_column") or "mt",
        ref=opts.get("ref_column") or "ref",
        refs=opts.get("refs_column") or "refs",
        src=opts.get("src_column") or "src",
    )


def testset_from(opts: dict[str, Any]) -> TestSet:
    return load_testset(_paths(opts, "hyp"), _paths(opts, "ref"), opts.get("src"),
                        input_format=opts.get("input_format") or "auto", names=opts.get("names"),
                        columns=_columns(opts), split=opts.get("split"), language=opts.get("trg_lang") or "en")


def input_spec(opts: dict[str, Any]) -> Any:
    """The inputs of a Dask run: the same flags, read in partitions by the workers instead of whole here."""
    from evalkit.cluster.plan import InputSpec

    names = opts.get("names")
    return InputSpec(hyp=tuple(_paths(opts, "hyp")), ref=tuple(_paths(opts, "ref")), src=opts.get("src"),
                     names=tuple(names) if names else None, input_format=opts.get("input_format") or "auto",
                     columns=_columns(opts))


def partition_progress(status: Any) -> Any:
    """A progress callback that shows finished partitions on a ``busy`` spinner (None when there is none)."""
    if status is None:
        return None
    return lambda done, total: status.update(f"on the cluster: {done} of {total} partitions done…")


def busy(message: str) -> contextlib.AbstractContextManager:
    """A spinner on an interactive stderr; nothing when output is piped or logged."""
    if sys.stderr.isatty():
        from rich.console import Console

        return Console(stderr=True).status(message, spinner="dots")
    return contextlib.nullcontext()


def emit(text: str, output: str | None) -> None:
    if output:
        write_atomic(Path(output), text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
