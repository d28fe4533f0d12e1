"""Metric registry: names -> classes, imported lazily so lexical runs never import torch."""
from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from evalkit.errors import InputError
from evalkit.metrics.base import Metric, SegmentScoreMetric

# name -> "module:Class"; neural metrics live in evalkit.neural and load only when asked for.
REGISTRY: dict[str, str] = {
    "bleu": "evalkit.metrics.lexical:BLEU",
    "chrf": "evalkit.metrics.lexical:CHRF",
    "chrf++": "evalkit.metrics.lexical:CHRFPP",
    "ter": "evalkit.metrics.lexical:TER",
    "comet-minilm": "evalkit.neural.metric:CometMiniLM",
    "embed-sim-use": "evalkit.neural.metric:EmbedSimUSE",
    "comet-e5": "evalkit.neural.e5metric:CometE5",
    "comet-e5-qe": "evalkit.neural.e5metric:CometE5QE",
    "comet": "evalkit.neural.comet.metric:CometCheckpointMetric",
}

ALIASES: dict[str, str] = {"chrf2": "chrf", "chrfpp": "chrf++", "chrf2++": "chrf++", "sacrebleu": "bleu",
                           "evalkit-comet-minilm": "comet-minilm", "embed-sim": "embed-sim-use",
                           "evalkit-comet-e5": "comet-e5", "comet-e5-kiwi": "comet-e5-qe", "e5-qe": "comet-e5-qe"}

__all__ = ["Metric", "SegmentScoreMetric", "REGISTRY", "register", "resolve_name", "build_metric", "metric_names"]


def register(name: str, target: str) -> None:
    REGISTRY[name] = target


def metric_names() -> list[str]:
    return list(REGISTRY)


def reference_free_names() -> list[str]:
    """Metrics that score from the source and the MT alone (quality estimation)."""
    return [n for n in REGISTRY if not getattr(metric_class(n), "needs_reference", True)]


def metric_labels() -> list[str]:
    """Names for help texts, with the target languages of metrics that support only some."""
    from evalkit.neural.languages import describe

    return [f"{n} ({describe(n)})" if describe(n) else n for n in REGISTRY]


def resolve_name(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in REGISTRY:
        return key
    close = difflib.get_close_matches(key, list(REGISTRY) + list(ALIASES), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(f"unknown metric {name!r}{hint} (available: {', '.join(REGISTRY)})")


def metric_class(name: str) -> type[Metric]:
    module, cls = REGISTRY[resolve_name(name)].split(":")
    return getattr(importlib.import_module(module), cls)


def build_metric(name: str, options: dict[str, Any] | None = None) -> Metric:
    """Instantiate a metric, passing only the options its constructor accepts.

    Options may be prefixed with the metric name (``chrf_char_order``) to target one metric.
    """
    key = resolve_name(name)
    cls = metric_class(key)
    params = inspect.signature(cls.__init__).parameters
    prefix = key.replace("+", "p") + "_"
    kwargs: dict[str, Any] = {}
    for opt, value in (options or {}).items():
        if value is None:
            continue
        if opt.startswith(prefix) and opt[len(prefix):] in params:
            kwargs[opt[len(prefix):]] = value
        elif opt in params:
            kwargs.setdefault(opt, value)
    try:
        return cls(**kwargs)
    except InputError:
        raise
    except (ValueError, AssertionError, TypeError) as exc:
        raise InputError(f"metric {key!r}: invalid options {kwargs}: {exc}") from None
