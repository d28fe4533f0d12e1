"""Garbled spans for a whole test set: align -> merge -> classify, in one of two modes.

``post-edit``: the reference corrects this very MT, so every edit TER needs is an error (confidence 1).
Tokens are compared case-sensitively, so a wrong capital is an error too.

``reference``: the reference is an independent translation, and a plain diff flags every paraphrase.
Tokens are compared case-insensitively; spans of function words only are dropped (against an independent
reference they are mostly wording choices); an omission is kept only if a missing reference content word
has no close MT word in MiniLM's contextual embedding space (cosine below ``omission_support``); confidence
is 1 - the mean best cosine of the span's words with the reference. ``support`` (off by default) would
also veto a diff edit whose MT word has a reference word at least that close.
Tuning (``bench/bench_spans.py --tune``, 300 segments each of TED en-de, TED zh-en and BioMQM en-es; never
WMT23, which is test data): every ``support`` threshold from 0.70 to 0.95 *lowered* mean character F1
(0.244 to 0.275, against 0.279 with it off): MiniLM's word similarity barely separates the humans' error
words from paraphrases (precision of diff-flagged words is flat across similarity bins), so the veto only
costs recall. Dropping function-word-only spans helped slightly (0.279 against 0.278); joining edit runs
across one correct word did not (0.276).
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evalkit.errors import InputError
from evalkit.results import Span, SystemResult
from evalkit.spans.align import align
from evalkit.spans.classify import classify, count_spans, is_content, mqm_score
from evalkit.spans.merge import Candidate, merge
from evalkit.spans.tokenize import punct_tokens
from evalkit.spans.types import Alignment, Token
from evalkit.testset import TestSet

if TYPE_CHECKING:
    from evalkit.spans.similarity import WordEncoder

MODES = ("post-edit", "reference")
CHUNK = 1000  # segments encoded together: batches stay full, memory stays bounded


@dataclass(frozen=True)
class ReferenceSettings:
    """Reference-mode evidence thresholds (tuned on TED and BioMQM, see the module doc)."""

    support: float | None = None
    omission_support: float = 0.75
    max_gap: int = 0
    drop_function_only: bool = True


# Han, Hiragana, Katakana: scripts written without spaces, where a character is the unit to align.
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_SPLIT = re.compile(f"[{_CJK_CHARS}]|[^{_CJK_CHARS}]+")


def span_tokens(text: str) -> list[Token]:
    """Words with punctuation split off; Chinese and Japanese characters one by one."""
    out: list[Token] = []
    for tok in punct_tokens(text):
        if not _CJK.search(tok.text):
            out.append(tok)
            continue
        for m in _CJK_SPLIT.finditer(tok.text):
            out.append(Token(m.group(), tok.start + m.start(), tok.start + m.end()))
    return out


def align_tokens(hyp: str, ref: str, *, case_sensitive: bool = True) -> Alignment:
    """TER alignment over words with punctuation split off, so a span never swallows a stray comma."""
    return align(hyp, ref, case_sensitive=case_sensitive, tokenizer=span_tokens)


def _mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown span mode {mode!r}: use one of {', '.join(MODES)}")
    return mode


def spans_post_edit(mt: str, refs: Sequence[str]) -> list[Span]:
    """Every edit from MT to its closest post-edit, classified."""
    alignments = [align_tokens(mt, r) for r in refs if r]
    return _classify_all(mt, refs, alignments, merge(alignments), None)


def _classify_all(mt: str, refs: Sequence[str], alignments: Sequence[Alignment], cands: Sequence[Candidate],
                  conf: Sequence[float] | None) -> list[Span]:
    live = [r for r in refs if r]
    out = []
    for k, c in enumerate(cands):
        al = alignments[c.ref]
        out.append(classify(c, mt, al.hyp_tokens, live[c.ref], al.ref_tokens,
                            confidence=1.0 if conf is None else conf[k]))
    return out


class ReferenceAnnotator:
    """Reference-mode spans, with the encoder's word vectors computed in batches for many segments."""

    def __init__(self, settings: ReferenceSettings | None = None, encoder: WordEncoder | None = None) -> None:
        from evalkit.spans.similarity import WordEncoder

        self.settings = settings or ReferenceSettings()
        self.encoder = encoder if encoder is not None else WordEncoder()

    def annotate(self, mts: Sequence[str], refs: Sequence[Sequence[str]]) -> list[list[Span]]:
        """Spans for each MT ``mts[i]`` against its references ``refs[i]``, in blocks of ``CHUNK`` segments."""
        out: list[list[Span]] = []
        for a in range(0, len(mts), CHUNK):
            out.extend(self._annotate(mts[a:a + CHUNK], refs[a:a + CHUNK]))
        return out

    def _annotate(self, mts: Sequence[str], refs: Sequence[Sequence[str]]) -> list[list[Span]]:
        live = [[r for r in rs if r] for rs in refs]
        aligns = [[align_tokens(mt, r, case_sensitive=False) for r in rs] for mt, rs in zip(mts, live, strict=True)]
        texts: list[str] = []
        toks: list[list[Token]] = []
        keep: list[bool] = []
        for mt, rs, als in zip(mts, live, aligns):
            if als:
                texts.append(mt)
                toks.append(als[0].hyp_tokens)
                keep.append(False)
            for r, al in zip(rs, als):
                texts.append(r)
                toks.append(al.ref_tokens)
                keep.append(True)
        vecs = iter(self.encoder.encode(texts, toks, keep))
        return [self._segment(mt, rs, als, vecs) for mt, rs, als in zip(mts, live, aligns)]

    def _segment(self, mt: str, refs: list[str], als: list[Alignment], vecs: Iterator[np.ndarray]) -> list[Span]:
        if not als:
            return []
        s = self.settings
        mt_vec = next(vecs)
        ref_vecs = [next(vecs) for _ in refs]
        sims = [mt_vec @ rv.T if len(mt_vec) and len(rv) else np.zeros((len(mt_vec), len(rv))) for rv in ref_vecs]
        hyp_best = [m.max(axis=1) if m.shape[1] else np.zeros(m.shape[0]) for m in sims]
        ref_best = [m.max(axis=0) if m.shape[0] else np.zeros(m.shape[1]) for m in sims]
        supported = [(hb >= s.support).tolist() for hb in hyp_best] if s.support is not None else None
        cands, conf = [], []
        for c in merge(als, supported=supported, max_gap=s.max_gap):
            al = als[c.ref]
            if c.kind == "omission":
                missing = [j for j in c.ref_idx if is_content(al.ref_tokens[j].text)]
                scores = [float(ref_best[c.ref][j]) for j in missing]
                if not missing or min(scores) >= s.omission_support:
                    continue
                conf.append(1.0 - float(np.mean(scores)))
            else:
                words = [al.hyp_tokens[i].text for i in range(c.lo, c.hi)]
                refw = [al.ref_tokens[j].text for j in c.ref_idx]
                if s.drop_function_only and c.kind != "shift" and not any(is_content(w) for w in words + refw):
                    continue
                conf.append(1.0 - float(np.mean([max(hb[i] for hb in hyp_best) for i in range(c.lo, c.hi)])))
            cands.append(c)
        return _classify_all(mt, refs, als, cands, [min(1.0, max(0.0, x)) for x in conf])


def annotate_testset(testset: TestSet, mode: str = "post-edit",
                     settings: ReferenceSettings | None = None) -> dict[str, list[list[Span]]]:
    """``{system: [spans of segment i]}`` for every system of the test set."""
    mode = _mode(mode)
    refs = [testset.segment_refs(i) for i in range(len(testset))]
    if mode == "post-edit":
        return {name: [spans_post_edit(h, r) for h, r in zip(hyps, refs)] for name, hyps in testset.systems.items()}
    annotator = ReferenceAnnotator(settings)
    return {name: annotator.annotate(hyps, refs) for name, hyps in testset.systems.items()}


def attach_spans(system_result: SystemResult, spans: Sequence[Sequence[Span]]) -> None:
    """Set ``spans`` and ``mqm`` on every segment and the system's ``span_counts``."""
    if len(spans) != len(system_result.segments):
        raise InputError(f"{system_result.name}: {len(spans)} span lists for {len(system_result.segments)} segments")
    for seg, seg_spans in zip(system_result.segments, spans):
        seg.spans = list(seg_spans)
        seg.mqm = mqm_score(seg_spans)
    system_result.span_counts = count_spans(spans)
