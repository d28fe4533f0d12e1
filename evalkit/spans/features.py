"""Evidence per MT token for reference-mode spans: what the diff says, and what else we know about the token.

A diff against an independent reference marks every paraphrase, and misses errors in words the reference
happens to share. Each MT token therefore gets a feature row that the span tagger (``tagger``) weighs:

* the diff itself: the token's TER state against the closest reference (match, substitution, insertion,
  shift), whether every reference marks it, whether its word occurs anywhere in a reference;
* similarity evidence: the best contextual cosine of the token with any reference word (MiniLM), its cosine
  and character similarity with the reference word it was aligned to;
* context: how garbled its neighbourhood is (errors cluster), the run of edits it sits in, reference words
  missing right beside it;
* the token itself: punctuation, function word, number, capitalised, length, position, foreign script, copied
  from the source;
* the segment: sentence chrF, TER, MT/reference length ratio, MT length, mean token similarity, so that a
  segment that is a close paraphrase is treated differently from a garbled one;
* consensus (``consensus_features``), when other systems translated the same segment: how many of them
  produce the token, its left and right bigrams, or TER-match it. A word the reference lacks but most
  systems produce is more often a paraphrase; a word no other output has is more often an error.
  Without other systems these are zero and ``n_others`` says so.

Everything is language-independent apart from the small function-word list in ``classify``.
"""
from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
from sacrebleu.metrics import CHRF

from evalkit.spans.classify import is_function, is_punct
from evalkit.spans.crossling import FEATURES as XL_FEATURES
from evalkit.spans.merge import EDIT, OK, SHIFT, TokenView, closest, token_view
from evalkit.spans.types import Alignment, Token

FEATURES: tuple[str, ...] = (
    "state_ok", "state_sub", "state_ins", "state_shift", "bad_all_refs", "in_reference",
    "sim_best", "sim_aligned", "char_ratio_aligned",
    "bad_window1", "bad_window2", "bad_window4", "log_run", "log_gap_deletions",
    "punct", "function", "digit", "capitalised", "log_chars", "position", "foreign_script", "in_source",
    "seg_chrf", "seg_ter", "seg_bad_fraction", "seg_log_len_ratio", "seg_log_tokens", "seg_mean_sim",
    "min_sim_window2",
    "others_have", "others_left_bigram", "others_right_bigram", "others_match", "log_n_others",
)
CONSENSUS = 5
# With cross-lingual evidence (``crossling``): its per-word columns, before the consensus ones (which the
# training drops for a share of segments and which must stay last).
REF_XL_FEATURES: tuple[str, ...] = FEATURES[:-CONSENSUS] + XL_FEATURES + FEATURES[-CONSENSUS:]
_CHRF = CHRF()


def _script(text: str) -> str:
    """The Unicode script family of a word's first letter (first word of its character name)."""
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            return name.split(" ")[0] if name else ""
    return ""


def _window(flags: np.ndarray, radius: int) -> np.ndarray:
    """Fraction of flagged tokens within ``radius`` on each side (the token itself excluded)."""
    n = len(flags)
    if n == 0:
        return flags.astype(np.float32)
    csum = np.concatenate([[0.0], np.cumsum(flags, dtype=np.float64)])
    idx = np.arange(n)
    lo, hi = np.maximum(idx - radius, 0), np.minimum(idx + radius + 1, n)
    count = hi - lo - 1
    total = csum[hi] - csum[lo] - flags
    return np.divide(total, count, out=np.zeros(n), where=count > 0).astype(np.float32)


def _runs(flags: np.ndarray) -> np.ndarray:
    """Length of the run of flagged tokens each token belongs to (0 for unflagged tokens)."""
    out = np.zeros(len(flags), dtype=np.float32)
    i = 0
    while i < len(flags):
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        out[i:j] = j - i
        i = j
    return out


def consensus_features(mt_tokens: Sequence[Token], others: Sequence[Sequence[Token]],
                       others_aligned: Sequence[Alignment]) -> np.ndarray:
    """``(n_tokens, CONSENSUS)``: agreement of each MT token with other systems' outputs of the segment.

    ``others_aligned[k]`` aligns this MT (as hypothesis) with ``others[k]`` (as reference).
    """
    n = len(mt_tokens)
    out = np.zeros((n, CONSENSUS), dtype=np.float32)
    if not others or n == 0:
        return out
    keys = [t.text.casefold() for t in mt_tokens]
    matched = np.zeros(n, dtype=np.float32)
    have = np.zeros(n, dtype=np.float32)
    left = np.zeros(n, dtype=np.float32)
    right = np.zeros(n, dtype=np.float32)
    for toks, al in zip(others, others_aligned, strict=True):
        words = [t.text.casefold() for t in toks]
        bag, bigrams = set(words), set(zip(words, words[1:]))
        for i, w in enumerate(keys):
            have[i] += w in bag
            left[i] += (keys[i - 1], w) in bigrams if i else 1.0
            right[i] += (w, keys[i + 1]) in bigrams if i + 1 < n else 1.0
        for p in al.pairs:
            if p.hyp is not None and p.op == "match" and p.hyp not in al.shifted:
                matched[p.hyp] += 1
    k = float(len(others))
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = have / k, left / k, right / k, matched / k
    out[:, 4] = math.log1p(k)
    return out


def with_cross_lingual(x: np.ndarray, xl: np.ndarray) -> np.ndarray:
    """``FEATURES`` rows with the ``XL_FEATURES`` columns inserted before the consensus ones."""
    return np.concatenate([x[:, :-CONSENSUS], xl.astype(np.float32), x[:, -CONSENSUS:]], axis=1)


def segment_features(
    mt: str,
    refs: Sequence[str],
    alignments: Sequence[Alignment],
    sims: Sequence[np.ndarray],
    src: str | None = None,
    consensus: np.ndarray | None = None,
) -> np.ndarray:
    """``(n_tokens, len(FEATURES))`` float32 rows for the MT tokens of ``alignments[0].hyp_tokens``.

    ``alignments`` are case-insensitive span-token alignments of the MT with each reference, ``sims[r]`` the
    ``(n_tokens, n_ref_tokens)`` word cosines with reference ``r`` (``similarity.cosines``), ``consensus`` the
    rows of ``consensus_features`` (zeros when absent).
    """
    toks = alignments[0].hyp_tokens
    n = len(toks)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return x
    views: list[TokenView] = [token_view(al) for al in alignments]
    best = closest(alignments)
    al, view = alignments[best], views[best]
    col = {name: k for k, name in enumerate(FEATURES)}

    state = view.state
    bad = np.array([s != OK for s in state], dtype=np.float32)
    bad_all = np.array([all(v.bad[i] for v in views) for i in range(n)], dtype=np.float32)
    x[:, col["state_ok"]] = [s == OK for s in state]
    x[:, col["state_sub"]] = [s == EDIT and view.ops[i] == "sub" for i, s in enumerate(state)]
    x[:, col["state_ins"]] = [s == EDIT and view.ops[i] == "ins" for i, s in enumerate(state)]
    x[:, col["state_shift"]] = [s == SHIFT for s in state]
    x[:, col["bad_all_refs"]] = bad_all
    ref_words = {t.text.casefold() for a in alignments for t in a.ref_tokens}
    x[:, col["in_reference"]] = [t.text.casefold() in ref_words for t in toks]

    best_sim = np.max([m.max(axis=1) if m.shape[1] else np.zeros(n) for m in sims], axis=0)
    x[:, col["sim_best"]] = best_sim
    aligned = np.ones(n, dtype=np.float32)
    ratio = np.ones(n, dtype=np.float32)
    for i in range(n):
        if state[i] == OK or not view.ref_of[i]:
            if state[i] != OK:
                aligned[i] = ratio[i] = 0.0
            continue
        j = view.ref_of[i][0]
        aligned[i] = sims[best][i, j] if sims[best].shape[1] else 0.0
        ratio[i] = difflib.SequenceMatcher(None, toks[i].text.casefold(), al.ref_tokens[j].text.casefold()).ratio()
    x[:, col["sim_aligned"]] = aligned
    x[:, col["char_ratio_aligned"]] = ratio

    x[:, col["bad_window1"]] = _window(bad, 1)
    x[:, col["bad_window2"]] = _window(bad, 2)
    x[:, col["bad_window4"]] = _window(bad, 4)
    x[:, col["log_run"]] = np.log1p(_runs(bad))
    gaps = np.zeros(n + 1, dtype=np.float32)
    for g, dels in view.gap_dels.items():
        gaps[g] = len(dels)
    x[:, col["log_gap_deletions"]] = np.log1p(gaps[:-1] + gaps[1:])

    main_script = _majority_script(r for a in alignments for r in a.ref_tokens)
    src_words = {w.casefold() for w in (src or "").split() if len(w) > 1}
    for i, t in enumerate(toks):
        word_surface(x[i], col, t.text, i / max(n - 1, 1), main_script, src_words)
    win = np.array([best_sim[max(i - 2, 0):i + 3].min() for i in range(n)], dtype=np.float32)
    x[:, col["min_sim_window2"]] = win

    live = [r for r in refs if r]
    ref_len = max(len(al.ref_tokens), 1)
    x[:, col["seg_chrf"]] = _CHRF.sentence_score(mt, live).score / 100.0 if live else 0.0
    x[:, col["seg_ter"]] = min(al.edits / ref_len, 2.0) / 2.0
    x[:, col["seg_bad_fraction"]] = bad.mean()
    x[:, col["seg_log_len_ratio"]] = math.log(n / ref_len) if ref_len else 0.0
    x[:, col["seg_log_tokens"]] = math.log1p(n)
    x[:, col["seg_mean_sim"]] = float(best_sim.mean())
    if consensus is not None:
        x[:, -CONSENSUS:] = consensus
    return x


def _majority_script(tokens: Iterable[Token]) -> str:
    counts: dict[str, int] = {}
    for t in tokens:
        s = _script(t.text)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else ""


def word_surface(row: np.ndarray, col: dict[str, int], w: str, position: float, main_script: str | None,
                 src_words: set[str]) -> None:
    """The surface columns every span tagger reads for one MT word (its kind, length, place, script, and
    whether it appears verbatim in the source: names and numbers are copied, not translated)."""
    row[col["punct"]] = is_punct(w)
    row[col["function"]] = is_function(w)
    row[col["digit"]] = any(c.isdigit() for c in w)
    row[col["capitalised"]] = w[:1].isupper()
    row[col["log_chars"]] = math.log(len(w))
    row[col["position"]] = position
    script = _script(w)
    row[col["foreign_script"]] = bool(script and main_script and script != main_script)
    row[col["in_source"]] = w.casefold() in src_words
