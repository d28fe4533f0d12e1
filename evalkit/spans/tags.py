"""OK/BAD word tags and gap tags for MT tokens, from a TER alignment of the MT with its post-edit.

This is the WMT / MLQE-PE word-level QE convention (the Unbabel corpus builder on top of tercom):

* the MT is aligned with the post-edit by tercom **without shifts** (``-d 0``), case-insensitively,
  on whitespace tokens;
* an MT word is BAD when it is substituted or has no post-edit counterpart, and also when tercom
  matched it only case-insensitively (the tag compares the original tokens);
* the gap after the k-th MT word (gap 0 precedes the first word) is BAD when post-edit words are
  missing there.

``tag_alignment(..., shifts=True)`` is an evalkit extension for span finding: words moved by a shift
are BAD (misplaced), and a missing word is placed after the MT word that precedes it once shifted.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.errors import InputError
from evalkit.spans.align import align
from evalkit.spans.types import Alignment

OK, BAD = "OK", "BAD"


@dataclass(frozen=True)
class WordTags:
    """Tags for N MT tokens: ``words`` (N) and ``gaps`` (N + 1, gap i precedes word i)."""

    words: list[str]
    gaps: list[str]

    def interleaved(self) -> list[str]:
        """MLQE-PE order, 2N + 1 tags: gap, word, gap, word, ..., gap."""
        out = [self.gaps[0]]
        for w, g in zip(self.words, self.gaps[1:]):
            out += [w, g]
        return out


def tag_alignment(a: Alignment, *, case_sensitive_tags: bool = True) -> WordTags:
    """Tags from an alignment of MT (hyp) with its post-edit (ref)."""
    n = len(a.hyp_tokens)
    words = [OK] * n
    gaps = [OK] * (n + 1)
    for i in a.shifted:
        words[i] = BAD
    last_hyp: int | None = None  # MT index of the last MT word seen, in (shifted) reference order
    for p in a.pairs:
        if p.hyp is None:
            gaps[0 if last_hyp is None else last_hyp + 1] = BAD
            continue
        if p.op != "match" or (case_sensitive_tags and a.hyp_tokens[p.hyp].text != a.ref_tokens[p.ref].text):
            words[p.hyp] = BAD
        last_hyp = p.hyp
    return WordTags(words, gaps)


def word_tags(mt: str, pe: str, *, shifts: bool = False, case_sensitive_tags: bool = True) -> WordTags:
    """MLQE-PE style tags for whitespace tokens of ``mt`` given its post-edit ``pe``."""
    return tag_alignment(align(mt, pe, shifts=shifts), case_sensitive_tags=case_sensitive_tags)


@dataclass(frozen=True)
class TagAgreement:
    """Share of word tags and of gap tags equal to a gold standard, and of segments equal throughout."""

    words: float
    gaps: float
    segments: float
    n_words: int
    n_gaps: int
    n_segments: int


def agreement(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> TagAgreement:
    """Compare interleaved (2N+1) tag sequences segment by segment; lengths must match."""
    if len(pred) != len(gold):
        raise InputError(f"{len(pred)} predicted segments but {len(gold)} gold segments")
    w = g = nw = ng = same = 0
    for i, (p, t) in enumerate(zip(pred, gold)):
        if len(p) != len(t):
            raise InputError(f"segment {i}: {len(p)} predicted tags but {len(t)} gold tags")
        w += sum(a == b for a, b in zip(p[1::2], t[1::2]))
        g += sum(a == b for a, b in zip(p[0::2], t[0::2]))
        nw += len(t) // 2
        ng += len(t) // 2 + 1
        same += list(p) == list(t)
    return TagAgreement(w / max(nw, 1), g / max(ng, 1), same / max(len(gold), 1), nw, ng, len(gold))
