"""MT text cut at span boundaries, shared by the HTML and Markdown reports.

Spans may overlap, touch, or be zero-width (omissions anchored between two MT characters), so the
text is split at every boundary and each piece records which spans cover it; renderers then never
compute offsets themselves (and never in a browser, where string offsets are UTF-16, not Python's).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from evalkit.errors import InputError
from evalkit.results import Result, SegmentResult, Span, SystemResult
from evalkit.spans.classify import count_spans

SEVERITIES = ("critical", "major", "minor")


def severity_rank(severity: str) -> int:
    """0 for the worst; severities outside SEVERITIES sort after minor."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def worst_severity(spans: list[Span]) -> str:
    return min((s.severity for s in spans), key=severity_rank)


@dataclass(frozen=True)
class Piece:
    """``kind``: ``text`` (no span), ``error`` (covered by ``spans``), ``omission`` (one zero-width span)."""

    kind: str
    text: str
    spans: tuple[int, ...] = ()
    opens: bool = False  # a covering span starts here: lets adjacent spans show their boundary


def check_spans(seg: SegmentResult, system: str) -> list[Span]:
    """The segment's spans, after checking they point into its MT (a saved result may be hand-edited)."""
    n = len(seg.hyp)
    for i, sp in enumerate(seg.spans or []):
        where = f"system {system!r}, segment {seg.id!r}, span {i}"
        if not 0 <= sp.start <= sp.end <= n:
            raise InputError(f"{where}: offsets [{sp.start}, {sp.end}) fall outside the MT ({n} characters)")
        if seg.hyp[sp.start:sp.end] != sp.text:
            raise InputError(f"{where}: text {sp.text!r} is not the MT at [{sp.start}, {sp.end}) "
                             f"({seg.hyp[sp.start:sp.end]!r})")
    return list(seg.spans or [])


def pieces(hyp: str, spans: list[Span]) -> list[Piece]:
    """Consecutive pieces whose texts (omissions aside) concatenate back to ``hyp``."""
    cuts = sorted({0, len(hyp), *(s.start for s in spans), *(s.end for s in spans)})
    out: list[Piece] = []
    omissions = [(i, s) for i, s in enumerate(spans) if s.start == s.end]
    for a, b in zip(cuts, cuts[1:] + [None]):
        out.extend(Piece("omission", "", (i,)) for i, s in omissions if s.start == a)
        if b is None:
            break
        cover = tuple(i for i, s in enumerate(spans) if s.start <= a and b <= s.end and s.start < s.end)
        if cover:
            out.append(Piece("error", hyp[a:b], cover, opens=any(spans[i].start == a for i in cover)))
        else:
            out.append(Piece("text", hyp[a:b]))
    return out


def span_counts(system: SystemResult) -> dict[str, Counter[str]]:
    """category -> severity -> count over the segments the report shows (absent severities read 0)."""
    per_segment = [seg.spans or [] for seg in system.segments]
    return {cat: Counter(by_sev) for cat, by_sev in count_spans(per_segment).items()}


def severities_in(result: Result) -> list[str]:
    """The standard severities, then any others found in the spans, worst first."""
    found = {sp.severity for s in result.systems for seg in s.segments for sp in seg.spans or []}
    return [*SEVERITIES, *sorted(found - set(SEVERITIES))]


def categories_in(result: Result) -> list[str]:
    """Categories by how often they occur, most frequent first."""
    c = Counter(sp.category for s in result.systems for seg in s.segments for sp in seg.spans or [])
    return [k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]


def has_spans(result: Result) -> bool:
    return any(seg.spans is not None for s in result.systems for seg in s.segments)


def metric_keys(result: Result) -> list[str]:
    """Every metric of any system, in first-seen order."""
    keys: dict[str, None] = {}
    for s in result.systems:
        keys.update(dict.fromkeys(s.metrics))
    return list(keys)


def tokens(names: list[str]) -> dict[str, str]:
    """Distinct ``[a-z0-9-]`` tokens for arbitrary names, safe in class names and URL fragments."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower().replace("+", "p")).strip("-") or "x"
        tok, k = base, 2
        while tok in used:
            tok, k = f"{base}-{k}", k + 1
        used.add(tok)
        out[name] = tok
    return out
