"""Resegment a hypothesis to the reference's segmentation by minimum word edit distance.

This is mwerSegmenter's idea (Matusov et al., 2005): among all ways of cutting the hypothesis
word stream into as many pieces as the reference has segments, pick the one whose summed
Levenshtein distance to the reference segments is smallest. That optimum is one Levenshtein
alignment of the two concatenated word streams in which a cut falls where the path leaves the last
word of a reference segment.

Two additions make the cuts land where a reader would put them when the hypothesis is a free
translation (few shared words, so many cuts cost the same): a cut that does not follow
sentence-final punctuation costs ``CUT_PENALTY`` edits (``CAPITAL_FACTOR`` of that before a
capitalised word). Both constants were chosen on WMT22 zh-en and WMT17 en-de system outputs
(random merges and splits of their lines, realigned to the reference), never on WMT23.

The alignment runs row by row (one row per reference word) in numpy, inside a band of columns
around a path anchored on words that occur once on each side, so a 2,000-segment document takes
seconds, not the hours of a full quadratic table. Each cell carries the column of the last cut on
its best path, and the cut columns of every path alive at a segment end are kept, so the cuts are
read back without storing the table.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

import numpy as np

from evalkit.io.document import Document

# Half-width of the band of hypothesis positions kept per reference token.
BAND = 300
# Extra cost of a cut that does not follow sentence-final punctuation (in token edits).
CUT_PENALTY = 5.0
# A cut before a capitalised word (not after a sentence end) costs this fraction of the penalty.
CAPITAL_FACTOR = 0.5
_INF = 1e18
_NO_CUT = 1e12  # inside a hypothesis word: never cut there

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# Hypothesis words (the pieces that may not be cut): runs of non-space characters; CJK characters stand alone.
_WORD = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
# Tokens for matching: a word's letters and digits, and each punctuation mark on its own.
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|\S")
_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'"})
_FINAL = set(".!?;…。！？")
_OPENERS = "([{„«¿¡‚"
_TIE = 1e-3


def _tokens(word: str) -> list[str]:
    """Matching keys of one word: case-folded, quotes of every style alike ("„Ein" -> ['"', 'ein'])."""
    return [t.casefold().translate(_QUOTES) for t in _TOKEN.findall(word)] or [word]


def realign(
    hyp_segments: Sequence[str],
    ref_segments: Sequence[str],
    band: int = BAND,
    cut_penalty: float = CUT_PENALTY,
    capital: float = CAPITAL_FACTOR,
) -> list[str]:
    """The hypothesis text re-cut into ``len(ref_segments)`` segments, minimising token edit distance.

    Every hypothesis word lands in exactly one output segment, in order; only the cuts move, and
    only between words. Reference segments without words get an empty hypothesis segment.
    """
    text = " ".join(s.strip() for s in hyp_segments)
    words = list(_WORD.finditer(text))
    ref_tokens = [[t for w in _WORD.findall(seg) for t in _tokens(w)] for seg in ref_segments]
    nonempty = [k for k, toks in enumerate(ref_tokens) if toks]
    out = [""] * len(ref_segments)
    if not nonempty:
        if out:
            out[-1] = text.strip()
        return out
    hyp_tokens: list[str] = []
    word_start: list[int] = []  # token position where each word starts
    for w in words:
        word_start.append(len(hyp_tokens))
        hyp_tokens.extend(_tokens(w.group()))
    word_at = {pos: i for i, pos in enumerate(word_start)}
    word_at[len(hyp_tokens)] = len(words)
    costs = cut_costs([w.group() for w in words], cut_penalty, capital)
    token_costs = np.full(len(hyp_tokens) + 1, _NO_CUT)
    for pos, i in word_at.items():
        token_costs[pos] = costs[i]
    cuts = cut_points(hyp_tokens, [ref_tokens[k] for k in nonempty], band, cut_cost=token_costs)
    bounds = [0, *(word_at[c] for c in cuts), len(words)]
    for k, a, b in zip(nonempty, bounds, bounds[1:]):
        out[k] = text[words[a].start():words[b - 1].end()] if b > a else ""
    return out


def realign_document(hyp: Document, ref: Document) -> tuple[list[str], list[int] | None]:
    """The hypothesis document's segments, cut like the reference's.

    When both have the same paragraphs, only paragraphs whose sentence counts differ are re-cut
    (so a disagreement cannot spread past a paragraph end); their indices are returned. Otherwise
    the whole document is re-cut, and ``None`` says so. Nothing is re-cut when the segmentations
    already agree paragraph by paragraph.
    """
    if len(hyp.segments) == len(ref.segments) and hyp.paragraphs == ref.paragraphs:
        return list(hyp.segments), []
    known = len(hyp.paragraphs) == len(hyp.segments) and len(ref.paragraphs) == len(ref.segments)
    if not known or set(hyp.paragraphs) != set(ref.paragraphs):
        return realign(hyp.segments, ref.segments), None
    out: list[str] = []
    changed: list[int] = []
    for p in sorted(set(ref.paragraphs)):
        h = [s for s, q in zip(hyp.segments, hyp.paragraphs) if q == p]
        r = [s for s, q in zip(ref.segments, ref.paragraphs) if q == p]
        if len(h) != len(r):
            changed.append(p)
            h = realign(h, r)
        out.extend(h)
    return out, changed


def cut_costs(words: Sequence[str], penalty: float = CUT_PENALTY, capital: float = CAPITAL_FACTOR) -> np.ndarray:
    """Extra cost of a cut before each word position ``0..m``.

    Free at both ends and wherever a sentence-final mark stands between the last letter or digit
    and the cut (so on either side of a detached quote or bracket after a sentence end: the
    matching of punctuation tokens then decides); ``capital * penalty`` before a capitalised word;
    ``penalty`` elsewhere. Where matching cannot decide, a token of cost (``_TIE``) keeps a detached
    mark with its side: closing marks and stray periods with the words before, opening brackets with
    the words after.
    """
    m = len(words)
    cost = np.full(m + 1, float(penalty))
    ended = False  # a sentence-final mark since the last letter or digit
    for i, w in enumerate(words):
        if i > 0:
            if ended:
                cost[i] = 0.0
            elif w.lstrip(_OPENERS + "\"'“‘")[:1].isupper():
                cost[i] = capital * penalty
            if not any(ch.isalnum() for ch in w) and w[0] not in _OPENERS + "\"'“‘":
                cost[i] += _TIE
            if all(ch in _OPENERS for ch in words[i - 1]):
                cost[i] += _TIE
        for ch in w:
            if ch.isalnum():
                ended = False
            elif ch in _FINAL:
                ended = True
    cost[0] = cost[m] = 0.0
    return cost


def cut_points(
    hyp: Sequence[str],
    ref_segments: Sequence[Sequence[str]],
    band: int = BAND,
    cut_cost: np.ndarray | None = None,
) -> list[int]:
    """Word positions at which to cut ``hyp`` (``len(ref_segments) - 1`` of them, non-decreasing).

    Rows are reference tokens, columns hypothesis positions 0..m; ``cost[i]`` is the edit distance
    of the reference so far against ``hyp[:i]`` plus cut costs, and ``last_cut[i]`` the last cut on
    that path. Row ``j`` only looks at columns within ``band`` of ``guide[j]`` (see ``band_centers``).
    A punctuation mark never stands for a word: substituting one for the other costs 2 (a deletion
    and an insertion), so a stray period is not traded for a missing word.
    """
    n_seg = len(ref_segments)
    if n_seg <= 1:
        return []
    ref = [w for seg in ref_segments for w in seg]
    vocab: dict[str, int] = {}
    h = np.fromiter((vocab.setdefault(w, len(vocab)) for w in hyp), dtype=np.int64, count=len(hyp))
    m = len(h)
    penalty = np.zeros(m + 1) if cut_cost is None else np.asarray(cut_cost, dtype=np.float64)
    hp = np.concatenate([[-2], h])
    marks = np.concatenate([[False], [_is_mark(t) for t in hyp]])
    cols = np.arange(m + 1, dtype=np.int64)
    guide = band_centers(hyp, ref)
    # Row 0: only insertions.
    lo, hi = 0, min(m, band) + 1
    cost = np.arange(lo, hi, dtype=np.float64)
    last_cut = np.zeros(hi - lo, dtype=np.int64)
    # saved[k] = (lo, last_cut) at the end row of segment k: the previous cut of each live path.
    saved: list[tuple[int, np.ndarray]] = []
    row = 0
    for k, seg in enumerate(ref_segments):
        for j, word in enumerate(seg):
            row += 1
            new_segment = j == 0 and k > 0
            if new_segment:
                saved.append((lo, last_cut))
                cost, last_cut = _start_segment(cost, lo, hi, penalty, cols)
            center = int(guide[row])
            nlo = max(0, min(center - band, hi - 1))  # the window must overlap the previous one
            nhi = max(min(m, center + band) + 1, nlo + 1)
            if row == len(ref):
                nlo, nhi = min(nlo, m), m + 1  # the path must end at the last hypothesis word
            cost, last_cut = _row(cost, last_cut, lo, hi, nlo, nhi, hp, marks, vocab.get(word, -1), _is_mark(word),
                                  cols)
            lo, hi = nlo, nhi
    cuts = [int(last_cut[m - lo])]
    for k in range(n_seg - 2, 0, -1):
        slo, prev = saved[k]
        cuts.append(int(prev[cuts[-1] - slo]))
    return cuts[::-1]


def band_centers(hyp: Sequence[str], ref: Sequence[str]) -> np.ndarray:
    """Expected hypothesis position for each reference position ``0..len(ref)``.

    Words that occur exactly once on each side pair up; the longest chain of such pairs in the same
    order on both sides (patience diff) anchors the path, and positions between anchors are
    interpolated. Following the cheapest cell row by row instead goes astray when the two texts
    share few words (free translations), where the costs along a row are nearly flat.
    """
    n, m = len(ref), len(hyp)
    hyp_pos: dict[str, int] = {}
    hyp_count: dict[str, int] = {}
    for i, w in enumerate(hyp):
        hyp_pos[w] = i
        hyp_count[w] = hyp_count.get(w, 0) + 1
    ref_count: dict[str, int] = {}
    for w in ref:
        ref_count[w] = ref_count.get(w, 0) + 1
    pairs = [(j, hyp_pos[w]) for j, w in enumerate(ref) if ref_count[w] == 1 and hyp_count.get(w) == 1]
    chain = _longest_increasing([i for _, i in pairs])
    xs = [0.0] + [pairs[c][0] + 0.5 for c in chain] + [float(n)]
    ys = [0.0] + [pairs[c][1] + 0.5 for c in chain] + [float(m)]
    return np.rint(np.interp(np.arange(n + 1), xs, ys)).astype(np.int64)


def _longest_increasing(values: Sequence[int]) -> list[int]:
    """Indices of a longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list[int] = []
    tail_idx: list[int] = []
    back = [-1] * len(values)
    for idx, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_idx.append(idx)
        else:
            tails[k] = v
            tail_idx[k] = idx
        back[idx] = tail_idx[k - 1] if k > 0 else -1
    out: list[int] = []
    idx = tail_idx[-1] if tail_idx else -1
    while idx >= 0:
        out.append(idx)
        idx = back[idx]
    return out[::-1]


def _is_mark(token: str) -> bool:
    return not any(ch.isalnum() for ch in token)


def _row(
    cost: np.ndarray, last_cut: np.ndarray, plo: int, phi: int, lo: int, hi: int,
    hp: np.ndarray, marks: np.ndarray, word: int, word_is_mark: bool, cols: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One reference token: costs and last cuts over columns ``lo..hi-1`` from the previous row.

    ``hp[i]`` is the hypothesis token before column ``i`` (``hp[0]`` matches nothing) and
    ``marks[i]`` whether it is punctuation; ``cols`` is ``arange(m + 1)``.
    """
    width = hi - lo
    prev = np.full(width + 1, _INF)  # the previous row over columns lo-1 .. hi-1
    prev_cut = np.zeros(width + 1, dtype=np.int64)
    a, b = max(lo - 1, plo), min(hi, phi)
    prev[a - lo + 1:b - lo + 1] = cost[a - plo:b - plo]
    prev_cut[a - lo + 1:b - lo + 1] = last_cut[a - plo:b - plo]
    up = prev[1:] + 1.0
    diag = prev[:-1] + (hp[lo:hi] != word) + (marks[lo:hi] != word_is_mark)
    take_diag = diag <= up
    run, origin = _insertions(np.where(take_diag, diag, up), cols[lo:hi])
    return run, np.where(take_diag, prev_cut[:-1], prev_cut[1:])[origin]


def _start_segment(
    cost: np.ndarray, lo: int, hi: int, penalty: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cut after the last word of a segment: a row before the next segment's first word, where
    hypothesis words may still be inserted (they open the next segment); the cut is the column left."""
    run, origin = _insertions(cost + penalty[lo:hi], cols[lo:hi])
    return run, cols[lo:hi][origin]


def _insertions(best: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moves along a row: ``cost[i] = min over i' <= i of best[i'] + (i - i')``, and that ``i'``
    (the latest one on ties)."""
    shifted = best - cols
    run = np.minimum.accumulate(shifted)
    origin = np.maximum.accumulate(np.where(shifted == run, np.arange(len(best)), -1))
    return run + cols, origin
