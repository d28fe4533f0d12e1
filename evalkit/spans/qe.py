"""No-reference spans (``--spans qe``): source and MT only, from cross-lingual evidence and a trained tagger.

Per MT word (span tokens) the evidence is ``crossling``'s: is it linked to a source word, how similar is its
best source word and by what margin, how long is the unlinked run it sits in; plus its neighbourhood
(unlinked words and weakest similarity around it, source words missing right beside it), the word itself
(punctuation, function word, number, capital, length, position, foreign script, copied from the source),
the segment (unlinked share, mean similarity, MT/source length ratio) and, when several systems are scored
together, the same consensus features as reference mode (other outputs of the segment are no reference).
A tagger of the same kind as reference mode's (``tagger.SpanTagger``, its own weights
``weights/qe-tagger.json``, trained by ``evalkit train-spans --config configs/train-spans-qe.toml`` on TED
and BioMQM training parts, never WMT23) gives P(error) and P(major) per word. Flagged words form spans,
joined across up to ``phrase_gap`` words within a sentence; with ``QESettings(omissions=True)`` unlinked
source content words become omissions anchored where they belong. ``ref_text`` holds the source words the span translates (or, for an omission,
the missing source words): in this mode there is no reference.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.errors import InputError
from evalkit.results import Span
from evalkit.spans.classify import is_content, is_punct
from evalkit.spans.crossling import CrossEncoder, CrossEvidence, anchor, cross_evidence
from evalkit.spans.features import CONSENSUS, _majority_script, _runs, _window, consensus_features, word_surface
from evalkit.spans.phrases import SENTENCE_END
from evalkit.spans.types import Token

QE_FEATURES: tuple[str, ...] = (
    "xl_linked", "xl_best", "xl_margin", "xl_unlinked_run", "unlinked_window1", "unlinked_window2",
    "min_best_window1", "omission_beside", "log_unlinked_run",
    "punct", "function", "digit", "capitalised", "log_chars", "position", "foreign_script", "in_source",
    "seg_unlinked_fraction", "seg_mean_best", "seg_log_len_ratio", "seg_log_tokens", "seg_omitted_fraction",
    "others_have", "others_left_bigram", "others_right_bigram", "others_match", "log_n_others",
)


@dataclass(frozen=True)
class QESettings:
    """QE-mode decisions, chosen on 250 TED dev items per pair (en-de, zh-en; with and without consensus).

    ``threshold`` overrides the tagger's own; ``threshold_offset`` raises the tagger's (its dev selection
    favours recall; +0.03 gave the best mean WMT23-QE-rule F1 there, .222 against .212); ``omissions``
    adds unlinked source words as zero-width spans: off, as on dev they added no F1 (en-de .191/.190) and
    cost some on zh-en (.284 against .290) with 4 spurious spans per segment from single Chinese characters;
    the omission evidence still feeds the tagger (``omission_beside``, ``seg_omitted_fraction``).
    """

    threshold: float | None = None
    threshold_offset: float = 0.03
    phrase_gap: int = 2
    omissions: bool = False


@dataclass
class QEEvidence:
    mt_tokens: list[Token]
    src_tokens: list[Token]
    cross: CrossEvidence
    features: np.ndarray
    consensus: bool = False


def qe_features(mt_tokens: Sequence[Token], src_tokens: Sequence[Token], ev: CrossEvidence,
                consensus: np.ndarray | None = None) -> np.ndarray:
    """``(n_tokens, len(QE_FEATURES))`` float32 rows for the MT tokens."""
    n = len(mt_tokens)
    x = np.zeros((n, len(QE_FEATURES)), dtype=np.float32)
    if n == 0:
        return x
    col = {name: k for k, name in enumerate(QE_FEATURES)}
    xl = ev.features()
    x[:, col["xl_linked"]], x[:, col["xl_best"]], x[:, col["xl_margin"]] = xl[:, 0], xl[:, 1], xl[:, 2]
    x[:, col["xl_unlinked_run"]] = xl[:, 4]
    unlinked = (xl[:, 0] == 0).astype(np.float32)
    x[:, col["unlinked_window1"]] = _window(unlinked, 1)
    x[:, col["unlinked_window2"]] = _window(unlinked, 2)
    x[:, col["min_best_window1"]] = [xl[max(i - 1, 0):i + 2, 1].min() for i in range(n)]
    x[:, col["log_unlinked_run"]] = np.log1p(_runs(unlinked))
    omitted = ev.omissions(src_tokens, mt_tokens)
    gaps = np.zeros(n + 1, dtype=np.float32)
    for gap, run in omitted:
        gaps[gap] += len(run)
    x[:, col["omission_beside"]] = np.log1p(gaps[:-1] + gaps[1:])
    main_script = _majority_script(mt_tokens)
    src_words = {t.text.casefold() for t in src_tokens if len(t.text) > 1}
    for i, t in enumerate(mt_tokens):
        word_surface(x[i], col, t.text, i / max(n - 1, 1), main_script, src_words)
    x[:, col["seg_unlinked_fraction"]] = unlinked.mean()
    x[:, col["seg_mean_best"]] = float(xl[:, 1].mean())
    x[:, col["seg_log_len_ratio"]] = math.log(n / max(len(src_tokens), 1))
    x[:, col["seg_log_tokens"]] = math.log1p(n)
    x[:, col["seg_omitted_fraction"]] = sum(len(r) for _, r in omitted) / max(len(src_tokens), 1)
    if consensus is not None:
        x[:, -CONSENSUS:] = consensus
    return x


class QEAnnotator:
    """QE-mode spans for many segments; sources shared by several systems are encoded once."""

    def __init__(self, settings: QESettings | None = None, encoder: CrossEncoder | None = None,
                 tagger: object | None = None) -> None:
        self.settings = settings or QESettings()
        self.encoder = encoder if encoder is not None else CrossEncoder()
        self._tagger = tagger
        self._sources: dict[str, np.ndarray] = {}  # sources are shared by every system: encoded once

    @property
    def tagger(self):  # noqa: ANN201 - SpanTagger
        if self._tagger is None:
            from evalkit.spans.tagger import QE_TAGGER, load_tagger

            self._tagger = load_tagger(QE_TAGGER, QE_FEATURES)
        return self._tagger

    def evidence(self, mts: Sequence[str], srcs: Sequence[str | None],
                 others: Sequence[Sequence[str]] | None = None) -> list[QEEvidence]:
        """Feature rows per segment (what ``annotate`` decides on and ``train-spans`` learns from)."""
        from evalkit.spans.pipeline import align_tokens, span_tokens

        if len(srcs) != len(mts) or (others is not None and len(others) != len(mts)):
            raise InputError("qe spans: MT, sources and other outputs differ in length")
        srcs = [s or "" for s in srcs]
        mt_tok = [span_tokens(m) for m in mts]
        uniq = list(dict.fromkeys(srcs))
        src_tok = {s: span_tokens(s) for s in uniq}
        todo = [s for s in uniq if s not in self._sources]
        self._sources.update(zip(todo, self.encoder.encode(todo, [src_tok[s] for s in todo])))
        src_vec = self._sources
        mt_vec = self.encoder.encode(list(mts), mt_tok)
        out = []
        for k, (mt, src) in enumerate(zip(mts, srcs)):
            cross = cross_evidence(mt_vec[k][0], src_vec[src][0])
            cons, has = None, False
            if others is not None:
                other = [o for o in others[k] if o and o.strip()]
                has = bool(other)
                als = [align_tokens(mt, o, case_sensitive=False) for o in other]
                cons = consensus_features(mt_tok[k], [al.ref_tokens for al in als], als)
            out.append(QEEvidence(mt_tok[k], src_tok[src], cross,
                                  qe_features(mt_tok[k], src_tok[src], cross, cons), has))
        return out

    def annotate(self, mts: Sequence[str], srcs: Sequence[str | None],
                 others: Sequence[Sequence[str]] | None = None) -> list[list[Span]]:
        """Spans per segment, in blocks of ``pipeline.CHUNK`` segments so that memory stays bounded."""
        from evalkit.spans.pipeline import CHUNK

        out: list[list[Span]] = []
        for a in range(0, len(mts), CHUNK):
            sl = slice(a, a + CHUNK)
            evidence = self.evidence(mts[sl], srcs[sl], others[sl] if others is not None else None)
            out.extend(self.segment(mt, src or "", ev) for mt, src, ev in zip(mts[sl], srcs[sl], evidence))
        return out

    def threshold(self, consensus: bool) -> float:
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self.tagger.threshold_for(consensus) + self.settings.threshold_offset

    def segment(self, mt: str, src: str, ev: QEEvidence) -> list[Span]:
        toks = ev.mt_tokens
        if not toks:
            return []
        out = self.tagger.outputs(ev.features)
        flagged = out[:, 0] >= self.threshold(ev.consensus)
        spans = [self._span(mt, src, ev, lo, hi, out) for lo, hi in _groups(toks, flagged, self.settings.phrase_gap)]
        if self.settings.omissions:
            for gap, run in ev.cross.omissions(ev.src_tokens, toks):
                at = anchor(toks, gap)
                words = src[ev.src_tokens[run[0]].start:ev.src_tokens[run[-1]].end]
                conf = 1.0 - float(ev.cross.sim[:, run].max())
                spans.append(Span(at, at, "", "omission", "major", words, round(min(1.0, max(0.0, conf)), 3)))
        return sorted(spans, key=lambda s: (s.start, s.end))

    def _span(self, mt: str, src: str, ev: QEEvidence, lo: int, hi: int, out: np.ndarray) -> Span:
        toks = ev.mt_tokens
        words = [t.text for t in toks[lo:hi]]
        linked = sorted(j for i, j in ev.cross.links if lo <= i < hi)
        if all(is_punct(w) for w in words):
            category = "punctuation"
        elif not linked:
            category = "addition"
        else:
            category = "mistranslation"
        major = out.shape[1] > 1 and self.tagger.major_threshold is not None and any(is_content(w) for w in words) \
            and float(out[lo:hi, 1].mean()) >= self.tagger.major_threshold
        src_text = src[ev.src_tokens[linked[0]].start:ev.src_tokens[linked[-1]].end] if linked else ""
        start, end = toks[lo].start, toks[hi - 1].end
        conf = round(min(1.0, max(0.0, float(out[lo:hi, 0].mean()))), 3)
        return Span(start, end, mt[start:end], category, "major" if major else "minor", src_text, conf)


def _groups(toks: Sequence[Token], flagged: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Runs of flagged tokens, joined across up to ``max_gap`` unflagged tokens that end no sentence."""
    runs: list[tuple[int, int]] = []
    i, n = 0, len(toks)
    while i < n:
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j < n and flagged[j]:
            j += 1
        if runs and i - runs[-1][1] <= max_gap and not any(toks[t].text in SENTENCE_END
                                                            for t in range(runs[-1][1], i)):
            runs[-1] = (runs[-1][0], j)
        else:
            runs.append((i, j))
        i = j
    return runs
