"""Typed results shared by the API, the CLI and every report format (schema evalkit.result/1)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit import __version__
from evalkit.errors import InputError

SCHEMA = "evalkit.result/1"


def drop_none(obj: Any) -> Any:
    """JSON shape of a dataclass tree: optional fields that are unset are left out, not written as null."""
    if isinstance(obj, dict):
        return {k: drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_none(v) for v in obj]
    return obj


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
    moved_to: int | None = None  # word order: the MT offset where the block belongs


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
    span_signature: str | None = None


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
        return drop_none(asdict(self))

    @classmethod
    def from_dict(cls, d: Any) -> Result:
        """The inverse of ``to_dict``, for a saved ``evalkit score --format json``; bad shapes are InputErrors."""
        obj = _obj(d, "result")
        if obj.get("schema") != SCHEMA:
            raise InputError(f"result: schema is {obj.get('schema')!r}, expected {SCHEMA!r} "
                             "(write it with `evalkit score --format json`)")
        systems = [_system(s, f"systems[{i}]") for i, s in enumerate(_list(obj.get("systems"), "systems"))]
        notes = [_str(n, "notes[]") for n in _list(obj.get("notes", []), "notes")]
        version = _str(obj.get("evalkit_version", __version__), "evalkit_version")
        return cls(systems, notes=notes, evalkit_version=version)


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise InputError(f"result: {where} must be an object, got {type(v).__name__}")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise InputError(f"result: {where} must be a list, got {type(v).__name__}")
    return v


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise InputError(f"result: {where} must be a string, got {type(v).__name__}")
    return v


def _num(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"result: {where} must be a number, got {type(v).__name__}")
    return v  # an int stays an int, so a saved result round-trips byte for byte


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(f"result: {where} must be an integer, got {type(v).__name__}")
    return v


def _opt(v: Any, conv: Any, where: str) -> Any:
    return None if v is None else conv(v, where)


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise InputError(f"result: {where} has no {key!r}")
    return d[key]


def _metric(v: Any, where: str) -> MetricScore:
    d = _obj(v, where)
    ci = d.get("ci")
    return MetricScore(
        score=_num(_need(d, "score", where), f"{where}.score"),
        signature=_str(d.get("signature", ""), f"{where}.signature"),
        higher_is_better=bool(d.get("higher_is_better", True)),
        ci=None if ci is None else [_num(x, f"{where}.ci[]") for x in _list(ci, f"{where}.ci")],
        ci_mean=_opt(d.get("ci_mean"), _num, f"{where}.ci_mean"),
        ci_half_width=_opt(d.get("ci_half_width"), _num, f"{where}.ci_half_width"),
    )


def _span(v: Any, where: str) -> Span:
    d = _obj(v, where)
    return Span(
        start=_int(_need(d, "start", where), f"{where}.start"),
        end=_int(_need(d, "end", where), f"{where}.end"),
        text=_str(d.get("text", ""), f"{where}.text"),
        category=_str(_need(d, "category", where), f"{where}.category"),
        severity=_str(_need(d, "severity", where), f"{where}.severity"),
        ref_text=_str(d.get("ref_text", ""), f"{where}.ref_text"),
        confidence=_num(d.get("confidence", 1.0), f"{where}.confidence"),
        moved_to=_opt(d.get("moved_to"), _int, f"{where}.moved_to"),
    )


def _segment(v: Any, where: str) -> SegmentResult:
    d = _obj(v, where)
    spans = d.get("spans")
    seg_id = d.get("id")
    return SegmentResult(
        id=str(_int(seg_id, f"{where}.id")) if isinstance(seg_id, int) else _str(seg_id, f"{where}.id"),
        hyp=_str(_need(d, "hyp", where), f"{where}.hyp"),
        refs=[_str(r, f"{where}.refs[]") for r in _list(d.get("refs", []), f"{where}.refs")],
        scores={_str(k, f"{where}.scores"): _num(x, f"{where}.scores.{k}")
                for k, x in _obj(d.get("scores", {}), f"{where}.scores").items()},
        src=_opt(d.get("src"), _str, f"{where}.src"),
        spans=None if spans is None else [_span(s, f"{where}.spans[{i}]")
                                          for i, s in enumerate(_list(spans, f"{where}.spans"))],
        mqm=_opt(d.get("mqm"), _num, f"{where}.mqm"),
    )


def _counts(v: Any, where: str) -> dict[str, dict[str, int]]:
    return {c: {sev: _int(n, f"{where}.{c}.{sev}") for sev, n in _obj(by, f"{where}.{c}").items()}
            for c, by in _obj(v, where).items()}


def _system(v: Any, where: str) -> SystemResult:
    d = _obj(v, where)
    metrics = _obj(d.get("metrics", {}), f"{where}.metrics")
    counts = d.get("span_counts")
    return SystemResult(
        name=_str(_need(d, "name", where), f"{where}.name"),
        metrics={k: _metric(m, f"{where}.metrics.{k}") for k, m in metrics.items()},
        segments=[_segment(s, f"{where}.segments[{i}]")
                  for i, s in enumerate(_list(_need(d, "segments", where), f"{where}.segments"))],
        span_counts=None if counts is None else _counts(counts, f"{where}.span_counts"),
        span_signature=None if d.get("span_signature") is None else _str(d["span_signature"], f"{where}.span_signature"),
    )
