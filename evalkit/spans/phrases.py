"""Phrase step (between merge and classify): the candidates of one error become one span, as raters mark them.

A TER diff cuts one garbled clause into fragments ("It" / "visible" / "." / "“"), and a word TER had to
move next to an edit ("troops has" for "army hides") reads as a word-order error with itself as the
correction. Human MQM spans cover the phrase. So neighbouring candidates join when at most ``max_gap``
tokens lie between them, none of them sentence-final punctuation; a shifted block joins only a candidate
right beside it. A joined phrase's correction is the reference text between the nearest MT words outside
it that match the reference in place (unmoved), i.e. the reference's whole version of the phrase. A block
that stays a word-order span on its own gets ``moved_to``: the MT offset where it belongs.

Gaps, chosen on 300 TED dev segments per pair (en-de, zh-en; never WMT23 or TED test): character F1 and the
WMT23 QE rule are flat from 0 to 2 (within .01) while spans per segment fall (TER fragments 3.8/6.2, gap 1
2.1/3.0, gap 2 1.7/2.3, against 0.5/0.9 human MQM spans): post-edit mode joins across 1 token (the words a
post-editor kept are right), reference mode across 2.
"""
from __future__ import annotations

from collections.abc import Sequence

from evalkit.spans.merge import EDIT, SHIFT, Candidate, token_view
from evalkit.spans.types import Alignment

SENTENCE_END = frozenset(".!?。！？…")
DEFAULT_GAP = 1


def destination(al: Alignment, block: Sequence[int]) -> tuple[int, str]:
    """Where a shifted MT block belongs: the MT offset after the word that precedes it in reference order."""
    inside = set(block)
    first = next(k for k, p in enumerate(al.pairs) if p.hyp in inside)
    prev = next((p.hyp for p in reversed(al.pairs[:first]) if p.hyp is not None and p.hyp not in inside), None)
    if prev is None:
        return (al.hyp_tokens[0].start if al.hyp_tokens else 0), "at the start"
    return al.hyp_tokens[prev].end, f"after “{al.hyp_tokens[prev].text}”"


def _anchors(al: Alignment, taken: set[int]) -> dict[int, int]:
    """MT token -> reference token, for MT words outside every candidate that match the reference unmoved."""
    view = token_view(al)
    return {i: view.ref_of[i][0] for i in range(len(al.hyp_tokens))
            if i not in taken and view.ops[i] == "match" and i not in al.shifted and view.ref_of[i]}


def _joinable(group: list[Candidate], c: Candidate, al: Alignment, max_gap: int) -> bool:
    hi = max(g.hi for g in group)
    gap = c.lo - hi
    if gap < 0 or gap > max_gap:
        return False
    if gap and (c.kind == SHIFT or any(g.kind == SHIFT for g in group if g.hi == hi)):
        return False
    return not any(al.hyp_tokens[t].text in SENTENCE_END for t in range(hi, c.lo))


def _join(group: list[Candidate], al: Alignment, anchors: dict[int, int]) -> Candidate:
    lo, hi = min(c.lo for c in group), max(c.hi for c in group)
    left = max((anchors[i] for i in anchors if i < lo), default=-1)
    right = min((anchors[i] for i in anchors if i >= hi), default=len(al.ref_tokens))
    members = sorted({r for c in group for r in c.ref_idx})
    ref_idx = list(range(left + 1, right)) if left < right else members
    ops = [op for c in group for op in c.ops] + ["match"] * sum(
        1 for t in range(lo, hi) if not any(c.lo <= t < c.hi for c in group))
    toks = al.hyp_tokens
    start, end = (toks[lo].start, toks[hi - 1].end) if hi > lo else (group[0].start, group[0].end)
    conf = sum(c.confidence * max(c.hi - c.lo, 1) for c in group) / sum(max(c.hi - c.lo, 1) for c in group)
    return Candidate(EDIT, start, end, lo, hi, group[0].ref, ref_idx, ops, confidence=conf)


def phrases(cands: Sequence[Candidate], alignments: Sequence[Alignment], max_gap: int = DEFAULT_GAP) -> list[Candidate]:
    """One candidate per error phrase (see the module doc); ``max_gap < 0`` leaves the candidates as they are."""
    if not cands or max_gap < 0:
        return list(cands)
    al = alignments[cands[0].ref]
    ordered = sorted(cands, key=lambda c: (c.lo, c.hi, c.start))
    anchors = _anchors(al, {t for c in ordered for t in range(c.lo, c.hi)})
    groups: list[list[Candidate]] = []
    for c in ordered:
        if groups and _joinable(groups[-1], c, al, max_gap):
            groups[-1].append(c)
        else:
            groups.append([c])
    out = []
    for group in groups:
        if len(group) > 1:
            out.append(_join(group, al, anchors))
            continue
        [c] = group
        if c.kind == SHIFT:
            block = next((b for b in al.shifts if c.lo in b), tuple(range(c.lo, c.hi)))
            c.moved_to, c.ref_text = destination(al, block)
        out.append(c)
    out.sort(key=lambda c: (c.start, c.end))
    return out
