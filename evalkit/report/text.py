"""Human-readable terminal output with rich: corpus table, signatures, worst segments first."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.results import Result, SegmentResult, Span, SystemResult

SEVERITY_STYLE = {"critical": "bold white on red", "major": "bold red", "minor": "yellow"}


def highlight(hyp: str, spans: list[Span] | None) -> Text:
    """MT text with garbled spans styled by severity; omissions show as a marker at their anchor."""
    text = Text(hyp)
    for sp in spans or []:
        style = SEVERITY_STYLE.get(sp.severity, "red")
        if sp.end > sp.start:
            text.stylize(style + " underline", sp.start, sp.end)
    # Omissions are zero-width: insert markers right to left so offsets stay valid.
    for sp in sorted((s for s in spans or [] if s.end == s.start), key=lambda s: -s.start):
        text = text[: sp.start] + Text("⟨+" + (sp.ref_text or "…") + "⟩", style="magenta") + text[sp.start:]
    return text


def span_lines(spans: list[Span] | None) -> Text:
    """One line per span, so the errors stay readable where colours are lost (pipes, logs, CI)."""
    out = Text()
    for sp in sorted(spans or [], key=lambda s: (s.start, s.end)):
        if out:
            out.append("\n")
        out.append(f"{sp.severity} {sp.category}: ", style=SEVERITY_STYLE.get(sp.severity, "red"))
        out.append(f"“{sp.text}”" if sp.text else f"(missing at {sp.start})")
        if sp.moved_to is not None:
            out.append(f" → move {sp.ref_text} (character {sp.moved_to})", style="green")
        elif sp.ref_text:
            out.append(f" → “{sp.ref_text}”", style="green")
    return out


def _fmt_score(value: float) -> str:
    return f"{value:.2f}"


def corpus_table(result: Result) -> Table:
    metric_keys = list(result.systems[0].metrics)
    table = Table(title="Corpus scores", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("system", style="bold")
    for key in metric_keys:
        m = result.systems[0].metrics[key]
        arrow = "↑" if m.higher_is_better else "↓"
        table.add_column(f"{key} {arrow}", justify="right")
    for s in result.systems:
        cells = []
        for key in metric_keys:
            m = s.metrics[key]
            cell = _fmt_score(m.score)
            if m.ci is not None:
                cell += f" [dim]({m.ci[0]:.2f}–{m.ci[1]:.2f})[/dim]"
            cells.append(cell)
        table.add_row(s.name, *cells)
    return table


def sort_key_metric(s: SystemResult) -> str:
    """The metric that orders segments; ``mqm`` (the span penalty) when only spans were asked for."""
    keys = list(s.metrics)
    for preferred in ("chrf", "bleu"):
        if preferred in keys:
            return preferred
    return keys[0] if keys else "mqm"


def worst_first(s: SystemResult) -> list[SegmentResult]:
    key = sort_key_metric(s)
    if key not in s.metrics:
        return sorted(s.segments, key=lambda seg: (-(seg.mqm or 0.0), seg.id))
    sign = 1 if s.metrics[key].higher_is_better else -1
    return sorted(s.segments, key=lambda seg: (sign * seg.scores[key], seg.id))


def segment_table(s: SystemResult, limit: int | None) -> Table:
    key = sort_key_metric(s)
    segs = worst_first(s)
    shown = segs if limit is None else segs[:limit]
    title = f"{s.name}: segments, worst {key} first"
    if limit is not None and limit < len(segs):
        title += f" ({len(shown)} of {len(segs)}; --segments all shows every one)"
    table = Table(title=title, box=box.SIMPLE, title_justify="left", show_lines=True, expand=True)
    table.add_column("id", justify="right", no_wrap=True)
    for k in s.metrics:
        table.add_column(k, justify="right", no_wrap=True)
    has_spans = any(seg.spans is not None for seg in s.segments)
    table.add_column("MT" + (" (garbled spans highlighted)" if has_spans else ""), ratio=3)
    table.add_column("reference", ratio=3, style="dim")
    if has_spans:
        table.add_column("garbled spans (MT → reference)", ratio=3)
    for seg in shown:
        cells = [
            seg.id,
            *(_fmt_score(seg.scores[k]) for k in s.metrics),
            highlight(seg.hyp, seg.spans),
            Text(seg.refs[0] if seg.refs else ""),
        ]
        if has_spans:
            cells.append(span_lines(seg.spans))
        table.add_row(*cells)
    return table


def signatures(result: Result) -> Table:
    table = Table(title="Signatures", box=box.SIMPLE, title_justify="left", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("signature", overflow="fold")
    first = result.systems[0]
    for key, m in first.metrics.items():
        table.add_row(key, m.signature)
    if first.span_signature:
        table.add_row("spans", first.span_signature)
    table.add_row("evalkit", result.evalkit_version)
    return table


def render(result: Result, console: Console, segments: int | None = 20) -> None:
    for note in result.notes:
        console.print(f"[dim]note: {note}[/dim]", highlight=False)
    console.print(corpus_table(result))
    console.print(signatures(result))
    for s in result.systems:
        if segments != 0:
            console.print(segment_table(s, segments))
        if s.span_counts:
            _span_summary(s, console)


def _span_summary(s: SystemResult, console: Console) -> None:
    counts = s.span_counts or {}
    table = Table(title=f"{s.name}: garbled spans by category and severity", box=box.SIMPLE, title_justify="left")
    severities = ["minor", "major", "critical"]
    table.add_column("category")
    for sev in severities:
        table.add_column(sev, justify="right")
    for cat, by_sev in sorted(counts.items()):
        table.add_row(cat, *(str(by_sev.get(sev, 0)) for sev in severities))
    console.print(table)
