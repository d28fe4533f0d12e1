"""Merge: the MT tokens an alignment marks as not OK become candidate spans with character offsets.

A candidate is one of three kinds: ``edit`` (substituted or added MT words; reference words deleted right
beside them are absorbed into it), ``shift`` (a block of correct words that TER had to move), ``omission``
(reference words with no MT counterpart, anchored as a zero-width span in the gap where they belong).
With several references, a token is an error only if *every* reference marks it, and an omission only
if every reference misses words in the same gap: a stretch that any reference supports is not flagged.
Details (which reference words stand instead) come from the closest reference (fewest TER edits).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evalkit.spans.types import Alignment

OK, EDIT, SHIFT = "ok", "edit", "shift"


@dataclass
class Candidate:
    """A stretch of MT tokens ``hyp[lo:hi]`` (empty for omissions) with the reference tokens behind it.

    ``start``/``end`` are character offsets into the MT; for an omission both equal the anchor.
    ``ref_idx`` indexes the tokens of reference ``ref``; ``ops`` lists the alignment ops involved.
    ``moved_to``/``ref_text``: for a word-order span, the MT offset where the block belongs and how to say it.
    """

    kind: str
    start: int
    end: int
    lo: int
    hi: int
    ref: int
    ref_idx: list[int] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    confidence: float = 1.0
    moved_to: int | None = None
    ref_text: str | None = None


@dataclass
class TokenView:
    """One alignment seen from the MT side: a state per MT token, deletions per gap (0..n)."""

    state: list[str]
    ops: list[str]
    ref_of: list[list[int]]
    gap_dels: dict[int, list[int]]

    @property
    def bad(self) -> list[bool]:
        return [s != OK for s in self.state]


def token_view(al: Alignment) -> TokenView:
    """Per MT token: ``ok`` / ``edit`` / ``shift``; reference deletions grouped by the MT gap they sit in.

    A deletion next to an edited MT token (in reference order) is absorbed by that token, so that
    "visible" / "to be seen" is one substitution rather than a substitution plus an omission.
    """
    n = len(al.hyp_tokens)
    state = [OK] * n
    ops = ["match"] * n
    ref_of: list[list[int]] = [[] for _ in range(n)]
    gap_dels: dict[int, list[int]] = {}
    pairs = al.pairs
    for p in pairs:
        if p.hyp is None:
            continue
        ops[p.hyp] = p.op
        if p.ref is not None:
            ref_of[p.hyp].append(p.ref)
        if p.op in ("sub", "ins"):
            state[p.hyp] = EDIT
        elif p.hyp in al.shifted:
            state[p.hyp] = SHIFT
    i = 0
    while i < len(pairs):
        if pairs[i].op != "del":
            i += 1
            continue
        j = i
        while j < len(pairs) and pairs[j].op == "del":
            j += 1
        dels = [p.ref for p in pairs[i:j] if p.ref is not None]
        before = pairs[i - 1].hyp if i > 0 else None
        after = pairs[j].hyp if j < len(pairs) else None
        if before is not None and state[before] == EDIT:
            ref_of[before].extend(dels)
        elif after is not None and state[after] == EDIT:
            ref_of[after][:0] = dels
        else:
            gap = before + 1 if before is not None else (after if after is not None else n)
            gap_dels.setdefault(gap, []).extend(dels)
        i = j
    return TokenView(state, ops, ref_of, gap_dels)


def closest(alignments: Sequence[Alignment]) -> int:
    """Index of the reference needing the fewest TER edits (the first on ties): it supplies a span's details."""
    return min(range(len(alignments)), key=lambda r: (alignments[r].edits, r))


def merge(
    alignments: Sequence[Alignment],
    *,
    supported: Sequence[Sequence[bool]] | None = None,
    max_gap: int = 0,
) -> list[Candidate]:
    """Candidate spans of one MT segment aligned with each of its references.

    ``supported[r][i]`` (optional) marks MT token ``i`` as backed by reference ``r`` on other evidence
    (e.g. embedding similarity), so it is not an error even where the diff disagrees.
    ``max_gap``: edit runs separated by at most this many correct tokens become one span.
    """
    if not alignments:
        return []
    views = [token_view(al) for al in alignments]
    best = closest(alignments)
    al, view = alignments[best], views[best]
    toks = al.hyp_tokens
    n = len(toks)
    bad = [all(v.bad[i] and not (supported and supported[r][i]) for r, v in enumerate(views)) for i in range(n)]
    state = [view.state[i] if bad[i] else OK for i in range(n)]

    out: list[Candidate] = []
    i = 0
    while i < n:
        if state[i] == OK:
            i += 1
            continue
        kind = state[i]
        j = i + 1
        while j < n:
            if state[j] == kind:
                j += 1
                continue
            k = j
            while k < n and state[k] == OK and k - j < max_gap:
                k += 1
            bridge = kind == EDIT and j < k < n and state[k] == EDIT
            if bridge and not any(g in view.gap_dels for g in range(j, k + 1)):
                j = k
                continue
            break
        refs = sorted({r for t in range(i, j) for r in view.ref_of[t]})
        ops = [view.ops[t] for t in range(i, j)]
        out.append(Candidate(kind, toks[i].start, toks[j - 1].end, i, j, best, refs, ops))
        i = j

    for gap, dels in sorted(view.gap_dels.items()):
        if not all(gap in v.gap_dels for v in views):
            continue
        if (gap > 0 and state[gap - 1] != OK) or (gap < n and state[gap] != OK):
            prev = next((c for c in out if c.kind == EDIT and (c.hi == gap or c.lo == gap)), None)
            if prev is not None:
                prev.ref_idx = sorted(set(prev.ref_idx) | set(dels))
                prev.ops.append("del")
                continue
        anchor = toks[gap - 1].end if gap > 0 else (toks[0].start if n else 0)
        out.append(Candidate("omission", anchor, anchor, gap, gap, best, list(dels), ["del"] * len(dels)))
    out.sort(key=lambda c: (c.start, c.end))
    return out
