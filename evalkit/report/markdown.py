"""The error report as Markdown: summary tables, then every segment worst first with its spans.

Untrusted text is flattened to one line and every character CommonMark (or GitHub: ``$`` math, ``~``
strikethrough, ``|`` tables) would interpret is backslash-escaped, so an MT that contains ``*``,
``<script>`` or ``[x](y)`` shows as written.
"""
from __future__ import annotations

import re
import unicodedata

from evalkit.report.spanview import (
    categories_in,
    check_spans,
    has_spans,
    metric_keys,
    pieces,
    severities_in,
    span_counts,
)
from evalkit.report.text import sort_key_metric, worst_first
from evalkit.results import Result, SegmentResult, Span, SystemResult

_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~$#!])")
_NEWLINES = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def escape(text: str) -> str:
    """Literal text for any inline Markdown context (paragraph, heading, list item, table cell)."""
    return _SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", text))


def _punct(c: str) -> bool:
    return unicodedata.category(c)[0] in "PS"


def _space(c: str) -> bool:
    return c.isspace()


def _flanks(before: str, core: str, after: str) -> bool:
    """Whether ``**`` opens before ``core`` and closes after it under CommonMark's flanking rules."""
    opens = not _punct(core[0]) or not before or _space(before) or _punct(before)
    closes = not _punct(core[-1]) or not after or _space(after) or _punct(after)
    return opens and closes


def bold(text: str, before: str = "", after: str = "") -> str:
    """``**text**``, whitespace kept outside the markers; ``before``/``after`` are the neighbouring characters.

    Where ``**`` cannot open or close (punctuation at the edge touching a letter, as in ``<x>word``),
    ``<b>`` is used instead, which CommonMark and GitHub render the same way.
    """
    core = text.strip()
    if not core:
        return escape(text)
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    before, after = (lead or before)[-1:], (trail or after)[:1]
    mark = ("**", "**") if _flanks(before, core, after) else ("<b>", "</b>")
    return f"{escape(lead)}{mark[0]}{escape(core)}{mark[1]}{escape(trail)}"


def marked(hyp: str, spans: list[Span]) -> str:
    """The MT with erroneous stretches in bold (touching or overlapping spans merge) and ⟨+omissions⟩."""
    out: list[str] = []
    run: list[str] = []
    pos = 0

    def flush() -> None:
        text = "".join(run)
        out.append(bold(text, hyp[pos - len(text) - 1: pos - len(text)], hyp[pos: pos + 1]))
        run.clear()

    for p in pieces(hyp, spans):
        if p.kind == "error":
            run.append(p.text)
            pos += len(p.text)
            continue
        if run:
            flush()
        if p.kind == "omission":
            out.append(f"⟨+{escape(spans[p.spans[0]].ref_text or '…')}⟩")
        else:
            out.append(escape(p.text))
            pos += len(p.text)
    if run:
        flush()
    return "".join(out)


def _span_item(sp: Span) -> str:
    label = f"{escape(sp.category)}, {escape(sp.severity)}"
    if sp.confidence < 1:
        label += f", confidence {sp.confidence:.2f}"
    if sp.start == sp.end:
        return f"- missing {bold(sp.ref_text) if sp.ref_text else 'text'} at character {sp.start} ({label})"
    if sp.moved_to is not None:
        return f"- {bold(sp.text)} → move {escape(sp.ref_text)} (character {sp.moved_to}; {label})"
    fix = bold(sp.ref_text) if sp.ref_text else "*delete*"
    return f"- {bold(sp.text)} → {fix} ({label})"


def _score_cells(system: SystemResult, metrics: list[str]) -> list[str]:
    cells = []
    for m in metrics:
        ms = system.metrics.get(m)
        if ms is None:
            cells.append("")
        elif ms.ci:
            cells.append(f"{ms.score:.2f} ({ms.ci[0]:.2f}–{ms.ci[1]:.2f})")
        else:
            cells.append(f"{ms.score:.2f}")
    return cells


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _summary(result: Result, metrics: list[str], severities: list[str]) -> list[str]:
    higher = {m: next(s.metrics[m].higher_is_better for s in result.systems if m in s.metrics) for m in metrics}
    spans_on = has_spans(result)
    head = ["system", *(f"{escape(m)} {'↑' if higher[m] else '↓'}" for m in metrics)]
    if spans_on:
        head += [*(escape(s) for s in severities), "spans"]
    lines = [_row(head), _row(["---", *["---:"] * (len(head) - 1)])]
    for s in result.systems:
        cells = [escape(s.name), *_score_cells(s, metrics)]
        if spans_on:
            counts = span_counts(s)
            by_sev = [sum(c[sv] for c in counts.values()) for sv in severities]
            cells += [*map(str, by_sev), str(sum(by_sev))]
        lines.append(_row(cells))
    if spans_on:
        lines += ["", "### Spans by category", ""]
        multi = len(result.systems) > 1
        head = [*(["system"] if multi else []), "category", *(escape(s) for s in severities), "total"]
        lines += [_row(head), _row(["---"] * (1 + multi) + ["---:"] * (len(severities) + 1))]
        for s in result.systems:
            counts = span_counts(s)
            for cat in [c for c in categories_in(result) if c in counts]:
                row = [str(counts[cat][sv]) for sv in severities]
                lines.append(_row([*([escape(s.name)] if multi else []), escape(cat), *row,
                                   str(sum(counts[cat].values()))]))
        signatures = sorted({s.span_signature for s in result.systems if s.span_signature})
        lines += ["", *(f"Spans found with `{sig}`" for sig in signatures)]
    return lines


def _segment(system: SystemResult, seg: SegmentResult, metrics: list[str], spans_on: bool) -> list[str]:
    spans = check_spans(seg, system.name)
    scores = ", ".join(f"{escape(m)} {seg.scores[m]:.2f}" for m in metrics if m in seg.scores)
    if seg.mqm is not None:
        scores += f", MQM penalty {seg.mqm:.2f}"
    lines = [f"### {escape(system.name)} · segment {escape(seg.id)}" + (f" · {scores}" if scores else ""), ""]
    if seg.src:
        lines += [f"**Source:** {escape(seg.src)}", ""]
    lines += [f"**MT:** {marked(seg.hyp, spans)}", ""]
    for k, ref in enumerate(seg.refs, 1):
        label = "Reference" if len(seg.refs) == 1 else f"Reference {k}"
        lines += [f"**{label}:** {escape(ref)}", ""]
    if spans_on:
        ordered = sorted(spans, key=lambda s: (s.start, s.end))
        lines += [*(_span_item(sp) for sp in ordered), ""] if ordered else ["No errors found.", ""]
    return lines


def render_markdown(result: Result) -> str:
    metrics = metric_keys(result)
    severities = severities_in(result)
    spans_on = has_spans(result)
    n = sum(len(s.segments) for s in result.systems)
    lines = ["# evalkit error report", "",
             f"{len(result.systems)} system{'s' if len(result.systems) != 1 else ''} · {n} segments · "
             f"written by evalkit {escape(result.evalkit_version)}", ""]
    lines += [f"> note: {escape(note)}" for note in result.notes]
    if result.notes:
        lines.append("")
    lines += ["## Summary", "", *_summary(result, metrics, severities), ""]
    for s in result.systems:
        key = sort_key_metric(s) if s.metrics else None
        order = f", worst {escape(key)} first" if key else ""
        lines += [f"## {escape(s.name)}: segments{order}", ""]
        for seg in worst_first(s) if key else s.segments:
            lines += _segment(s, seg, metrics, spans_on)
    return "\n".join(lines).rstrip("\n") + "\n"
