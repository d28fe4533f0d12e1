"""Typed results shared by the API, the CLI and every report format (schema evalkit.result/1)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit import __version__

SCHEMA = "evalkit.result/1"


@dataclass
class MetricScore:
    score: float
    signature: str
    higher_is_better: bool = True
    ci: list[float] | None = None
    ci_mean: float | None = None
    ci_half_width: float | None = None


@dataclass
class Span:
    """A garbled stretch of the MT: ``hyp[start:end] == text`` always (end exclusive, characters)."""

    start: int
    end: int
    text: str
    category: str
    severity: str
    ref_text: str = ""
    confidence: float = 1.0


@dataclass
class SegmentResult:
    id: str
    hyp: str
    refs: list[str]
    scores: dict[str, float]
    src: str | None = None
    spans: list[Span] | None = None
    mqm: float | None = None


@dataclass
class SystemResult:
    name: str
    metrics: dict[str, MetricScore]
    segments: list[SegmentResult]
    span_counts: dict[str, dict[str, int]] | None = None


@dataclass
class Result:
    systems: list[SystemResult]
    notes: list[str] = field(default_factory=list)
    schema: str = SCHEMA
    evalkit_version: str = __version__

    def system(self, name: str) -> SystemResult:
        for s in self.systems:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        def clean(obj: Any) -> Any:
            if isinstance(obj, dict):
                return {k: clean(v) for k, v in obj.items() if v is not None}
            if isinstance(obj, list):
                return [clean(v) for v in obj]
            return obj

        return clean(asdict(self))
