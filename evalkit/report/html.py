"""Self-contained HTML reports: Jinja2 with autoescaping, inline CSS/JS allowed by hash in a strict CSP.

``render_page`` is the shared frame (base template, stylesheet, Content-Security-Policy) that every
HTML page of evalkit uses; ``render_errors`` builds the per-sentence error report on it. Untrusted text
(MT, references, system names, categories, notes) only ever reaches the page through autoescaped
expressions; spans are cut in Python (``spanview.pieces``), so the script never builds HTML.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from evalkit import __version__
from evalkit.report import charts
from evalkit.report.spanview import (
    Piece,
    categories_in,
    check_spans,
    has_spans,
    metric_keys,
    pieces,
    severities_in,
    span_counts,
    tokens,
    worst_severity,
)
from evalkit.report.text import sort_key_metric, worst_first
from evalkit.results import Result, SegmentResult, Span

TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = "report.css"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    """A stylesheet or script of ours, inlined verbatim; it must not be able to close its own element."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    if "</" in text:
        raise ValueError(f"{name}: contains '</', which could end the inline element early")
    return text


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(styles: list[str], scripts: list[str]) -> str:
    """Only our own inline style and scripts (by hash) may apply: no inline handlers, no fetches, no forms."""
    script_src = " ".join(_sha256(s) for s in scripts) or "'none'"
    return (f"default-src 'none'; img-src data:; style-src {' '.join(_sha256(s) for s in styles)}; "
            f"script-src {script_src}; base-uri 'none'; form-action 'none'")


def render_page(template: str, *, title: str, scripts: tuple[str, ...] = (), **context: Any) -> str:
    """Render ``template`` (which extends base.html.j2) with the shared stylesheet and the named scripts."""
    css = _asset(STYLESHEET)
    js = [_asset(name) for name in scripts]
    return environment().get_template(template).render(
        title=title,
        version=__version__,
        css=Markup(css),
        scripts=[Markup(s) for s in js],
        csp=content_security_policy([css], js),
        **context,
    )


@dataclass(frozen=True)
class PieceView:
    kind: str
    text: str
    css: str
    tip: str


@dataclass(frozen=True)
class SpanView:
    text: str
    ref_text: str
    category: str
    severity: str
    sev_tok: str
    confidence: float
    omission: bool


@dataclass
class Row:
    system: str
    system_tok: str
    seg: SegmentResult
    order: int
    cells: list[str]
    keys: list[tuple[str, str]]  # (sort token, value) -> data-k-* attributes
    errs: str
    pieces: list[PieceView]
    spans: list[SpanView]


@dataclass(frozen=True)
class Column:
    name: str
    token: str
    worst: str  # "asc" or "desc": the direction that puts the worst segments first

    @property
    def label(self) -> str:
        return f"{self.name} {'↑' if self.worst == 'asc' else '↓'}"


def _tip(sp: Span) -> str:
    if sp.start == sp.end:
        what = f"missing “{sp.ref_text}”"
    elif sp.moved_to is not None:
        what = f"“{sp.text}” → move {sp.ref_text}"
    elif sp.ref_text:
        what = f"“{sp.text}” → “{sp.ref_text}”"
    else:
        what = f"“{sp.text}” → (delete)"
    conf = f" (confidence {sp.confidence:.2f})" if sp.confidence < 1 else ""
    return f"{sp.severity} {sp.category}{conf}: {what}"


def _piece_view(p: Piece, spans: list[Span], sev: dict[str, str], cat: dict[str, str]) -> PieceView:
    if p.kind == "text":
        return PieceView("text", p.text, "", "")
    covering = [spans[i] for i in p.spans]
    css = ["err" if p.kind == "error" else "omission", f"sev-{sev[worst_severity(covering)]}"]
    css += [f"cat-{cat[c]}" for c in dict.fromkeys(s.category for s in covering)]
    if p.opens:
        css.append("opens")
    if len(covering) > 1:
        css.append("overlap")
    text = p.text if p.kind == "error" else "‸" + (covering[0].ref_text or "…")
    return PieceView(p.kind, text, " ".join(css), "\n".join(_tip(s) for s in covering))


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def errors_context(result: Result) -> dict[str, Any]:
    """Everything the error-report template shows, computed once here so the template stays declarative."""
    metrics = metric_keys(result)
    spans_on = has_spans(result)
    with_mqm = any(seg.mqm is not None for s in result.systems for seg in s.segments)
    severities, categories = severities_in(result), categories_in(result)
    sev_tok, cat_tok = tokens(severities), tokens(categories)
    sys_tok = tokens([s.name for s in result.systems])
    col_tok = tokens([*metrics, "mqm", "spans", "order"])
    higher = {m: next(s.metrics[m].higher_is_better for s in result.systems if m in s.metrics) for m in metrics}
    columns = [Column(m, col_tok[m], "asc" if higher[m] else "desc") for m in metrics]
    if with_mqm:
        columns.append(Column("mqm", col_tok["mqm"], "desc"))  # a penalty: 0 is clean
    if spans_on:
        columns.append(Column("spans", col_tok["spans"], "desc"))

    rows: list[Row] = []
    for system in result.systems:
        for seg in (worst_first(system) if system.metrics else system.segments):
            spans = check_spans(seg, system.name)
            values: list[float | None] = [seg.scores.get(m) for m in metrics] + ([seg.mqm] if with_mqm else [])
            cells = [_fmt(v) for v in values]
            if spans_on:
                values.append(float(len(spans)))
                cells.append(str(len(spans)))
            ordered = sorted(spans, key=lambda s: (s.start, s.end))
            rows.append(Row(
                system=system.name,
                system_tok=sys_tok[system.name],
                seg=seg,
                order=len(rows),
                cells=cells,
                keys=[(c.token, repr(v)) for c, v in zip(columns, values) if v is not None],
                errs=" ".join(sorted({f"{cat_tok[s.category]}:{sev_tok[s.severity]}" for s in spans})),
                pieces=[_piece_view(p, spans, sev_tok, cat_tok) for p in pieces(seg.hyp, spans)],
                spans=[SpanView(s.text, s.ref_text if s.moved_to is None else f"move {s.ref_text}", s.category,
                                s.severity, sev_tok[s.severity], s.confidence,
                                s.start == s.end) for s in ordered],
            ))
    return {
        "result": result,
        "metrics": metrics,
        "higher": higher,
        "columns": columns,
        "order_token": col_tok["order"],
        "rows": rows,
        "spans_on": spans_on,
        "with_src": any(seg.src for s in result.systems for seg in s.segments),
        "systems": [(s.name, sys_tok[s.name]) for s in result.systems],
        "severities": [(sv, sev_tok[sv]) for sv in severities],
        "categories": [(c, cat_tok[c]) for c in categories],
        "summary": _summary(result, severities, sev_tok) if spans_on else [],
        "charts": _charts(result, severities, categories, sev_tok) if result.systems else [],
        "n_segments": sum(len(s.segments) for s in result.systems),
    }


def _summary(result: Result, severities: list[str], sev_tok: dict[str, str]) -> list[dict[str, Any]]:
    """Per system: span totals by severity, and the category x severity table."""
    out = []
    for system in result.systems:
        counts = span_counts(system)
        by_sev = {sv: sum(c[sv] for c in counts.values()) for sv in severities}
        out.append({
            "name": system.name,
            "by_severity": [by_sev[sv] for sv in severities],
            "total": sum(by_sev.values()),
            "table": [(cat, [counts[cat][sv] for sv in severities], sum(counts[cat].values()))
                      for cat in sorted(counts, key=lambda c: (-sum(counts[c].values()), c))],
        })
    return out


def _charts(result: Result, severities: list[str], categories: list[str],
            sev_tok: dict[str, str]) -> list[charts.Chart]:
    parts = [(f"sev-{sev_tok[sv]}", sv) for sv in severities]
    out = []
    if has_spans(result):
        totals = {c: [0] * len(severities) for c in categories}
        per_system = []
        for system in result.systems:
            counts = span_counts(system)
            row = [sum(counts[c][sv] for c in counts) for sv in severities]
            per_system.append((system.name, row))
            for c in counts:
                for j, sv in enumerate(severities):
                    totals[c][j] += counts[c][sv]
        out.append(charts.stacked_hbars("Spans by category", list(totals.items()), parts))
        if len(per_system) > 1:
            out.append(charts.stacked_hbars("Spans by system", per_system, parts))
    for system in result.systems:
        if system.metrics:
            key = sort_key_metric(system)
            values = [seg.scores[key] for seg in system.segments if key in seg.scores]
            out.append(charts.histogram(f"{system.name}: segment {key}", values))
    return out


def render_errors(result: Result) -> str:
    return render_page("errors.html.j2", title="evalkit error report", scripts=("errors.js",),
                       **errors_context(result))
