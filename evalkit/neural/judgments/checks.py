"""Is a set's text aligned with its scores? Sentence chrF against the reference should correlate with them.

A misaligned join (scores on the wrong segments) leaves Kendall tau near 0 however good the judgments
are: that is what caught the WMT22 DA join by SID. A low tau alone can also come from ties (MQM sets
where most items have no error) or hard pairs, so the check can also score each hyp against the
reference of a *different* segment: an aligned set sits well above that floor, a misaligned one on it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from scipy.stats import kendalltau

from evalkit.metrics.lexical import CHRF
from evalkit.neural.judgments.core import Judgment

# Rows scored for the other-segment floor (a deterministic subsample: the floor needs no precision).
FLOOR_ROWS = 5000


def sentence_chrf(hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """sacrebleu's default sentence chrF of each hyp against its one reference.

    Each distinct reference is prepared once, so every system's output of a segment shares its n-grams.
    """
    metric = CHRF()
    distinct = list(dict.fromkeys(refs))
    prepared = metric.prepare([distinct])
    where = {r: i for i, r in enumerate(distinct)}
    stats = metric.segment_stats(list(hyps), None, [prepared[where[r]] for r in refs])
    return metric.segment_scores(stats)


def _tau(hyps: Sequence[str], refs: Sequence[str], labels: Sequence[float]) -> float:
    return float(kendalltau(sentence_chrf(hyps, refs), np.asarray(labels, dtype=np.float64)).statistic)


def alignment_check(judgments: Sequence[Judgment], floor: bool = False,
                    by_group: bool = False) -> dict[str, dict[str, float]]:
    """Per ``"dataset:lp"`` (per ``group`` with ``by_group``): ``n``, and where there is text to compare
    (``refs[0]``, else the post-edit) ``n_compared`` and ``tau``, the Kendall tau-b of sentence chrF
    (sacrebleu defaults) against the label.

    With ``floor``, also ``tau_other_segment``: the same with each hyp scored against the text of a
    segment half the set away (on at most ``FLOOR_ROWS`` rows).
    """
    groups: dict[str, list[Judgment]] = defaultdict(list)
    for j in judgments:
        groups[j.group if by_group else f"{j.dataset}:{j.lp}"].append(j)
    out: dict[str, dict[str, float]] = {}
    for key in sorted(groups):
        rows = groups[key]
        out[key] = {"n": len(rows)}
        compared = [j for j in rows if j.refs or j.post_edit is not None]
        if len(compared) < 2:
            continue
        against = [j.refs[0] if j.refs else j.post_edit or "" for j in compared]
        text = dict(zip((j.segment for j in compared), against))
        out[key]["n_compared"] = len(compared)
        out[key]["tau"] = _tau([j.hyp for j in compared], against, [j.label for j in compared])
        if floor and len(text) > 1:
            segments = sorted(text)
            other = {s: segments[(i + len(segments) // 2) % len(segments)] for i, s in enumerate(segments)}
            sample = compared[:: max(1, len(compared) // FLOOR_ROWS)]
            out[key]["tau_other_segment"] = _tau([j.hyp for j in sample], [text[other[j.segment]] for j in sample],
                                                 [j.label for j in sample])
    return out
