"""Terminal output of ``evalkit compare``: per metric, the ranked systems with clusters, then the pairs."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from evalkit.comparison import Comparison

TEST_LABEL = {"bootstrap": "bootstrap", "ar": "AR"}


def fmt_p(p: float) -> str:
    return f"{p:.4f}"


def systems_table(c: Comparison, metric: str) -> Table:
    info = c.metrics[metric]
    arrow = "↑" if info.higher_is_better else "↓"
    cs = c.cluster_set(metric)
    title = f"{info.display} {arrow}"
    if cs is not None:
        title += f" — clusters by {TEST_LABEL[cs.test]} test, Holm-corrected p < {cs.alpha:g}"
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("rank", justify="right")
    if cs is not None:
        table.add_column("cluster", justify="right")
    table.add_column("system", style="bold")
    table.add_column("score", justify="right")
    table.add_column("bootstrap mean ± 95% CI", justify="right")
    baseline = c.settings.get("baseline")
    if baseline is not None:
        table.add_column(f"Δ vs {baseline}", justify="right")
        for t in c.tests:
            table.add_column(f"p {TEST_LABEL[t]}", justify="right")
            table.add_column(f"p {TEST_LABEL[t]} (Holm)", justify="right")
        table.add_column("seg. win/tie/loss", justify="right")
    previous = None
    for s in c.ranked(metric):
        m = s.metrics[metric]
        if cs is not None and previous is not None and m.cluster != previous:
            table.add_section()
        previous = m.cluster
        cells = [str(m.rank)]
        if cs is not None:
            cells.append(str(m.cluster))
        d = c.decimals(metric)
        cells += [s.name, f"{m.score:.{d}f}", f"{m.mean:.{d}f} ± {m.ci_half_width:.{d}f}"]
        if baseline is not None:
            if s.name == baseline:
                cells += ["baseline"] + [""] * (2 * len(c.tests) + 1)
            else:
                first = c.pair(s.name, baseline, metric, c.tests[0])
                cells.append(f"{first.delta:+.{d}f}")
                for t in c.tests:
                    p = c.pair(s.name, baseline, metric, t)
                    mark = "*" if p.significant(c.settings["alpha"]) else ""
                    cells += [fmt_p(p.p_value), fmt_p(p.p_corrected) + mark]
                cells.append(f"{first.wins}/{first.ties}/{first.losses}")
        table.add_row(*cells)
    return table


def pairs_table(c: Comparison, metric: str) -> Table:
    info = c.metrics[metric]
    table = Table(title=f"{info.display}: all pairs (a vs b; * Holm-corrected p < {c.settings['alpha']:g})",
                  box=box.SIMPLE, title_justify="left")
    for name in ("a", "b", "Δ (a−b)"):
        table.add_column(name, justify="right" if name.startswith("Δ") else "left")
    for t in c.tests:
        table.add_column(f"p {TEST_LABEL[t]}", justify="right")
        table.add_column("Holm", justify="right")
    table.add_column("seg. win/tie/loss", justify="right")
    rank = {s.name: s.metrics[metric].rank for s in c.systems}
    firsts = [p for p in c.pairs if p.metric == metric and p.test == c.tests[0]]
    for p in sorted(firsts, key=lambda p: tuple(sorted((rank[p.a], rank[p.b])))):
        a, b = (p.a, p.b) if rank[p.a] < rank[p.b] else (p.b, p.a)
        cells = [a, b, f"{c.pair(a, b, metric, c.tests[0]).delta:+.{c.decimals(metric)}f}"]
        for t in c.tests:
            q = c.pair(a, b, metric, t)
            cells += [fmt_p(q.p_value), fmt_p(q.p_corrected) + ("*" if q.significant(c.settings["alpha"]) else "")]
        w = c.pair(a, b, metric, c.tests[0])
        cells.append(f"{w.wins}/{w.ties}/{w.losses}")
        table.add_row(*cells)
    return table


def span_table(c: Comparison) -> Table | None:
    rated = [s for s in c.systems if s.span_error_rates]
    if not rated:
        return None
    keys = list(rated[0].span_error_rates or {})
    table = Table(title="Span errors per 100 MT words", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("system", style="bold")
    for k in keys:
        table.add_column(k, justify="right")
    for s in rated:
        table.add_row(s.name, *(f"{(s.span_error_rates or {})[k]:.2f}" for k in keys))
    return table


def render(c: Comparison, console: Console) -> None:
    st = c.settings
    samples = [f"bootstrap {st['n_bootstrap']} resamples" if "bootstrap" in c.tests else "",
               f"AR {st['n_ar']} trials" if "ar" in c.tests else ""]
    pairs = "all pairs" if st["baseline"] is None else f"baseline {st['baseline']}"
    console.print(f"[dim]{len(c.systems)} systems · {pairs} · {', '.join(s for s in samples if s)} · seed {st['seed']}"
                  f" · Holm correction per metric and test[/dim]", highlight=False)
    for key in c.metrics:
        console.print(systems_table(c, key))
        if st["baseline"] is None:
            console.print(pairs_table(c, key))
    spans = span_table(c)
    if spans is not None:
        console.print(spans)
    console.print("[bold]Signatures[/bold]")
    for info in c.metrics.values():
        console.print(f"  {info.display}: {info.signature}", soft_wrap=True, highlight=False)
    for note in c.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
