"""XCOMET's error spans: COMET's decoding of the MT tokens' label probabilities, then evalkit spans.

Decoding (``UnifiedMetric.decode``): each MT position (``<s>``, the MT's tokens, ``</s>``) takes its most
probable label; an ``I-`` label opens a span (its severity is that first token's) or extends the open one
(whatever its severity); ``O`` closes it. A span still open at the last position is dropped. A span's
confidence is the mean of its tokens' winning probabilities. XCOMET's span score counts minor 1, major 5,
critical 10, capped at 25, as ``(25 - count) / 25``.

COMET's offsets start at the space before a word (COMET#179), and a span can end with the lone ``▁``
token of a space; an evalkit span starts at its first non-space character and ends after its last, so
``mt[start:end] == text`` holds with no whitespace at either end. A span with nothing but whitespace or
special tokens (no MT character) still counts in the score but is not shown.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from dataclasses import dataclass

import numpy as np

from evalkit.results import Span

CATEGORY = "error"  # XCOMET gives severities, not categories
SEVERITY_POINTS = {"minor": 1, "major": 5, "critical": 10}
MQM_CAP = 25


@dataclass(frozen=True)
class DecodedSpan:
    """One span as COMET reports it (offsets into the MT, the leading space included)."""

    start: int
    end: int
    severity: str
    confidence: float


def decode(probs: np.ndarray, offsets: Sequence[tuple[int, int]], labels: Sequence[str]) -> list[DecodedSpan]:
    """COMET's span decoding of ``(positions, classes)`` probabilities over the MT's token offsets."""
    out: list[DecodedSpan] = []
    probs = np.asarray(probs, dtype=np.float32)
    start = end = 0
    severity = ""
    conf: list[float] = []
    for row, (tok_start, tok_end) in zip(probs, offsets):
        k = int(np.argmax(row))
        label = labels[k]
        if label.startswith("I"):
            if not conf:
                start, severity = tok_start, label.split("-", 1)[1]
            end = tok_end
            conf.append(float(row[k]))
        elif conf:
            out.append(DecodedSpan(start, end, severity, float(np.mean(np.asarray(conf, dtype=np.float32)))))
            conf = []
    return out


def span_score(spans: Sequence[DecodedSpan]) -> float:
    """XCOMET's MQM-like span score in [0, 1]: 1 for no errors."""
    points = sum(SEVERITY_POINTS.get(s.severity, 0) for s in spans)
    return (MQM_CAP - min(points, MQM_CAP)) / MQM_CAP


def to_spans(mt: str, decoded: Sequence[DecodedSpan]) -> list[Span]:
    out = []
    for d in decoded:
        start, end = trimmed(mt, d.start, d.end)
        if start < end:
            out.append(Span(start, end, mt[start:end], CATEGORY, d.severity, "", min(1.0, max(0.0, d.confidence))))
    return out


def trimmed(mt: str, start: int, end: int) -> tuple[int, int]:
    """``start``/``end`` moved inwards past whitespace (a span may end with the lone ``▁`` token of a space)."""
    text = mt[start:end]
    return start + len(text) - len(text.lstrip()), end - len(text) + len(text.rstrip())


def xcomet_metric(metrics: dict[str, Any]) -> Any:
    """The run's COMET metric whose spans ``--spans xcomet`` shows."""
    from evalkit.errors import InputError

    found = [m for m in metrics.values() if hasattr(m, "error_spans")]
    if not found:
        raise InputError("--spans xcomet reads the spans of a COMET checkpoint: add -m comet --comet-checkpoint PATH "
                         "with an XCOMET model")
    return found[0]


def annotate_xcomet(testset: Any, metrics: dict[str, Any]) -> dict[str, list[list[Span]]]:
    """``{system: spans per segment}`` from the run's XCOMET metric, which has already scored every system
    (its outputs are read back, not recomputed)."""
    metric = xcomet_metric(metrics)
    return {name: metric.error_spans(hyps, testset.refs, testset.srcs) for name, hyps in testset.systems.items()}
