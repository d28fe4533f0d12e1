"""Pure-Python TER with shifts: the fallback when the C extension ``_ter_c`` is not built.

Same algorithm, decisions and limits as ``_ter_c.c`` (and as sacrebleu's ``lib_ter``, itself a port
of tercom); both are checked against sacrebleu segment by segment in the tests.

Words are integer ids (equal ids <=> equal tokens). The edit distance is sacrebleu's beam-limited
Levenshtein distance: row ``i`` (hyp word ``i``) only fills the columns within ``beam`` of
the pseudo-diagonal ``floor(i * m / n)``; the last row is filled completely. Ties prefer
match/substitution, then consuming a hyp word, then consuming a ref word. Each round of shifts
tries every block of 1..10 hyp words that also occurs in the reference at most 50 positions away,
is wrong where it stands and would land on a wrong reference position, and moves it to the hyp
positions aligned with the reference block's neighbourhood; the best candidate wins by (edit
distance gain, block length, earliest hyp start, earliest target). Rounds stop when no candidate
gains or once 1000 candidates have been scored in the whole segment (that round's best is then
dropped, as sacrebleu does).

Speed-ups that cannot change a decision: a candidate's distance matrix is recomputed only from the
first row where the shifted hyp differs from the current one (rows depend only on the hyp prefix),
and matching blocks are found through an index of reference positions per word.
"""
from __future__ import annotations

import math
from bisect import bisect_left

INF = 10**16
MAX_SHIFT_SIZE = 10
MAX_SHIFT_DIST = 50
BEAM_WIDTH = 25
MAX_SHIFT_CANDIDATES = 1000

# Cell operations in matrix terms (row = hyp word, column = ref word).
_DIAG_OK, _DIAG_SUB, _UP, _LEFT, _UNDEF = 0, 1, 2, 3, 4
# Alignment ops, reference rewritten into the hyp: ' ' match, 's' sub, 'i' hyp-only, 'd' ref-only.
_TRACE_CHAR = {_DIAG_OK: " ", _DIAG_SUB: "s", _UP: "i", _LEFT: "d"}


class _Matrix:
    """Beam-limited edit distance rows for one hyp of fixed length against the reference."""

    __slots__ = ("ref", "n", "m", "ratio", "beam", "cost", "op", "lo", "hi")

    def __init__(self, ref: list[int], n: int) -> None:
        m = len(ref)
        self.ref, self.n, self.m = ref, n, m
        self.ratio = m / n if n else 1
        self.beam = math.ceil(self.ratio / 2 + BEAM_WIDTH) if BEAM_WIDTH < self.ratio / 2 else BEAM_WIDTH
        self.cost = [list(range(m + 1))] + [[INF] * (m + 1) for _ in range(n)]
        self.op = [[_LEFT] * (m + 1)] + [[_UNDEF] * (m + 1) for _ in range(n)]
        self.lo = [0] * (n + 1)
        self.hi = [m + 1] + [0] * n

    def fill(self, hyp: list[int], first: int, base: _Matrix | None = None, ops: bool = True) -> int:
        """Compute rows ``first+1..n`` for ``hyp``; row ``first`` is read from ``base`` (or self).

        Returns the distance in the bottom-right cell.
        """
        ref, n, m, ratio, beam = self.ref, self.n, self.m, self.ratio, self.beam
        src = base if base is not None else self
        prev, plo, phi = src.cost[first], src.lo[first], src.hi[first]
        for i in range(first + 1, n + 1):
            pd = math.floor(i * ratio)
            lo = max(0, pd - beam)
            hi = m + 1 if i == n else min(m + 1, pd + beam)
            row = self.cost[i]
            orow = self.op[i]
            w = hyp[i - 1]
            left = INF
            for j in range(lo, hi):
                up = prev[j] if plo <= j < phi else INF
                if j == 0:
                    c, o = up + 1, _UP
                else:
                    c, o = INF, _UNDEF
                    diag = prev[j - 1] if plo <= j - 1 < phi else INF
                    if w == ref[j - 1]:
                        if c > diag:
                            c, o = diag, _DIAG_OK
                    elif c > diag + 1:
                        c, o = diag + 1, _DIAG_SUB
                    if c > up + 1:
                        c, o = up + 1, _UP
                    if c > left + 1:
                        c, o = left + 1, _LEFT
                row[j] = c
                if ops:
                    orow[j] = o
                left = c
            self.lo[i], self.hi[i] = lo, hi
            prev, plo, phi = row, lo, hi
        return (self.cost[n] if n > first else src.cost[n])[m]

    def trace(self) -> str:
        """Alignment ops from the top-left corner, in reference order (see ``_TRACE_CHAR``)."""
        out: list[str] = []
        i, j = self.n, self.m
        while i > 0 or j > 0:
            o = self.op[i][j]
            out.append(_TRACE_CHAR[o])
            if o <= _DIAG_SUB:
                i -= 1
                j -= 1
            elif o == _UP:
                i -= 1
            elif o == _LEFT:
                j -= 1
            else:
                raise RuntimeError("TER backtrace left the beam")
        out.reverse()
        return "".join(out)


def perform_shift(words: list, start: int, length: int, target: int) -> list:
    """Move ``words[start:start+length]`` to ``target`` (an index of the unshifted list), tercom-style."""
    if target < start:
        return words[:target] + words[start:start + length] + words[target:start] + words[start + length:]
    if target > start + length:
        return words[:start] + words[start + length:target] + words[start:start + length] + words[target:]
    return words[:start] + words[start + length:length + target] + words[start:start + length] + words[length + target:]


def _common_prefix(a: list[int], b: list[int], upto: int) -> int:
    k = upto
    n = len(a)
    while k < n and a[k] == b[k]:
        k += 1
    return k


def ter(hyp: list[int], ref: list[int], shifts: bool = True) -> tuple[int, int, str, list[int], list[tuple[int, int, int]]]:
    """TER of integer-coded words (``shifts=False``: plain beam edit distance, as tercom ``-d 0``).

    Returns ``(num_shifts, edit_distance, trace, perm, shifts)``: ``trace`` aligns the shifted hyp with
    the reference (``' '``/``s``/``i``/``d``), ``perm[k]`` is the original index of the shifted hyp's
    word ``k``, and ``shifts`` lists each applied shift as (start, length, target) on the hyp as it
    was at that round.
    """
    n, m = len(hyp), len(ref)
    if m == 0:
        return 0, n, "i" * n, list(range(n)), []
    positions: dict[int, list[int]] = {}
    for j, w in enumerate(ref):
        positions.setdefault(w, []).append(j)

    words = list(hyp)
    perm = list(range(n))
    cur = _Matrix(ref, n)
    scratch = _Matrix(ref, n)
    score = cur.fill(words, 0)
    applied: list[tuple[int, int, int]] = []
    checked = 0
    while shifts:
        trace = cur.trace()
        # Alignment of the trace: ref position -> hyp position, and which words are wrong.
        align = [0] * m
        hyp_err = [0] * (n + 1)  # prefix sums
        ref_err = [0] * (m + 1)
        ph = pr = -1
        for t in trace:
            if t == " " or t == "s":
                ph += 1
                pr += 1
                align[pr] = ph
                bad = t == "s"
                hyp_err[ph + 1] = hyp_err[ph] + bad
                ref_err[pr + 1] = ref_err[pr] + bad
            elif t == "i":
                ph += 1
                hyp_err[ph + 1] = hyp_err[ph] + 1
            else:
                pr += 1
                align[pr] = ph
                ref_err[pr + 1] = ref_err[pr] + 1

        best: tuple[int, int, int, int] | None = None
        best_words: list[int] = words
        stop = False
        for sh in range(n):
            cands = positions.get(words[sh])
            if not cands:
                continue
            k = bisect_left(cands, sh - MAX_SHIFT_DIST)
            while k < len(cands) and cands[k] <= sh + MAX_SHIFT_DIST:
                sr = cands[k]
                k += 1
                length = 0
                while words[sh + length] == ref[sr + length] and length < MAX_SHIFT_SIZE:
                    length += 1
                    if (hyp_err[sh + length] - hyp_err[sh] and ref_err[sr + length] - ref_err[sr]
                            and not sh <= align[sr] < sh + length):
                        prev_idx = -1
                        for off in range(-1, length):
                            idx = 0 if sr + off == -1 else align[sr + off] + 1
                            if idx == prev_idx:
                                continue
                            prev_idx = idx
                            shifted = perform_shift(words, sh, length, idx)
                            first = _common_prefix(words, shifted, min(sh, idx))
                            gain = score - (scratch.fill(shifted, first, cur, ops=False) if first < n else score)
                            checked += 1
                            cand = (gain, length, -sh, -idx)
                            if best is None or cand > best:
                                best, best_words = cand, shifted
                        if checked >= MAX_SHIFT_CANDIDATES:
                            stop = True
                            break
                    if n == sh + length or m == sr + length:
                        break
                if stop:
                    break
            if stop:
                break

        if checked >= MAX_SHIFT_CANDIDATES or best is None or best[0] <= 0:
            break
        _, length, neg_sh, neg_idx = best
        applied.append((-neg_sh, length, -neg_idx))
        perm = perform_shift(perm, -neg_sh, length, -neg_idx)
        first = _common_prefix(words, best_words, 0)
        words = best_words
        score = cur.fill(words, first)
    return len(applied), score, cur.trace(), perm, applied
