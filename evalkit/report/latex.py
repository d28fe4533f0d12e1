"""LaTeX (booktabs) tables of a comparison, ready to paste into a paper.

System names are escaped, so ``LMU_nmt & co`` cannot break the document.
"""
from __future__ import annotations

from evalkit.comparison import Comparison

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(text: str) -> str:
    """Text safe inside a LaTeX table cell."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def compare_table(c: Comparison, *, label: str = "tab:compare") -> str:
    """One row per system, ranked by the first metric; per metric the score, its 95% CI half-width and,
    with all pairs, the significance cluster (a rule separates the first metric's clusters). With a
    baseline, a dagger marks a Holm-corrected significant difference from it."""
    keys = list(c.metrics)
    first = keys[0]
    alpha = c.settings["alpha"]
    baseline = c.settings.get("baseline")
    test = c.tests[0]
    with_clusters = baseline is None and bool(c.clusters)
    cols = "rl" + "r" * len(keys)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{" + cols + "}",
        r"\toprule",
        " & ".join(["\\#", "System"] + [escape(c.metrics[k].display) + (r" $\uparrow$" if c.metrics[k].higher_is_better
                                                                       else r" $\downarrow$") for k in keys]) + r" \\",
        r"\midrule",
    ]
    previous = None
    for s in c.ranked(first):
        m = s.metrics[first]
        if with_clusters and previous is not None and m.cluster != previous:
            lines.append(r"\midrule")
        previous = m.cluster
        cells = [str(m.cluster if with_clusters else m.rank), escape(s.name)]
        for k in keys:
            ms = s.metrics[k]
            d = c.decimals(k)
            cell = f"{ms.score:.{d}f} {{\\scriptsize $\\pm${ms.ci_half_width:.{d}f}}}"
            if with_clusters and k != first:
                cell += f" ({ms.cluster})"
            if baseline is not None and s.name != baseline and c.pair(s.name, baseline, k, test).significant(alpha):
                cell += r"$^\dagger$"
            cells.append(cell)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    n = c.settings["n_bootstrap"] if test == "bootstrap" else c.settings["n_ar"]
    test_name = "paired bootstrap" if test == "bootstrap" else "approximate randomization"
    if with_clusters:
        what = (f"\\# is the significance cluster of {escape(c.metrics[first].display)} (in parentheses for the "
                f"other metrics): every system in a cluster is significantly better than every system in the "
                f"clusters below it")
    elif baseline is not None:
        what = f"$\\dagger$: significantly different from the baseline {escape(baseline)}"
    else:
        what = "\\# is the rank"
    caption = (f"Scores with 95\\% bootstrap CI half-widths ({c.settings['n_bootstrap']} resamples). {what} "
               f"({test_name}, {n} samples, Holm-corrected $p < {alpha:g}$).")
    lines += [r"\caption{" + caption + "}", r"\label{" + escape(label) + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"
