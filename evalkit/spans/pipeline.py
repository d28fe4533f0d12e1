"""Garbled spans for a whole test set: align -> merge -> classify, in one of two modes.

``post-edit``: the reference corrects this very MT, so every edit TER needs is an error (confidence 1).
Tokens are compared case-sensitively, so a wrong capital is an error too.

``reference``: the reference is an independent translation, and a plain diff flags every paraphrase.
Tokens are aligned case-insensitively; each MT token gets the evidence rows of ``features`` (diff state,
MiniLM similarity with the reference words, garble of its neighbourhood, segment chrF/TER, agreement with
other systems' outputs of the segment when several are scored) and the span tagger (``tagger``, trained on
human MQM spans of TED and BioMQM, never WMT23) gives P(error). Merge then works on the tokens that are
flagged (P >= the tagger's threshold, one for segments with consensus evidence and one for segments
without) *and* edited against every reference: a stretch that any reference
supports is no error on its own. A span grows over flagged neighbours the references do share (human
spans cover the garbled phrase, not just the changed word). An omission is kept only if a missing
reference content word has no close MT word (MiniLM cosine below ``omission_support``). Confidence is the
mean P(error) of the span's tokens, for an omission 1 - the mean best cosine of the missing words.
Severity: a span with a content word is major when its tokens' mean P(major error) (the tagger's second
output) reaches the tagger's ``major_threshold``, else minor; omissions, critical spans (numbers, negation)
and the always-minor categories (punctuation, capitalisation, spelling) follow ``classify``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from evalkit.errors import InputError
from evalkit.results import Span, SystemResult
from evalkit.spans.align import align
from evalkit.spans.classify import MINOR_CATEGORIES, classify, count_spans, is_content, mqm_score
from evalkit.spans.merge import Candidate, merge
from evalkit.spans.phrases import DEFAULT_GAP, phrases
from evalkit.spans.tokenize import punct_tokens
from evalkit.spans.types import Alignment, Token
from evalkit.testset import TestSet

if TYPE_CHECKING:
    from evalkit.spans.similarity import WordEncoder
    from evalkit.spans.tagger import SpanTagger

# qe: source and MT only (``qe.py``); xcomet: the spans of an XCOMET checkpoint among the run's metrics
MODES = ("post-edit", "reference", "qe", "xcomet")
CHUNK = 1000  # segments encoded together: batches stay full, memory stays bounded


@dataclass(frozen=True)
class ReferenceSettings:
    """Reference-mode decisions: ``threshold`` overrides the tagger's own (higher: fewer, surer spans)."""

    threshold: float | None = None
    omission_support: float = 0.75
    extend: bool = True
    phrase_gap: int = 2  # chosen on TED dev segments: same F1, fewer spans than 1 (see phrases.py)


@dataclass
class Evidence:
    """One segment's alignments with its live references and the feature rows of its MT tokens."""

    refs: list[str]
    alignments: list[Alignment]
    features: np.ndarray
    ref_best: list[np.ndarray]  # per reference: each reference word's best cosine with any MT word
    consensus: bool = False  # other systems' outputs of the segment were evidence


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


def spans_post_edit(mt: str, refs: Sequence[str], phrase_gap: int = DEFAULT_GAP) -> list[Span]:
    """Every edit from MT to its closest post-edit, classified; ``phrase_gap < 0`` keeps TER's fragments."""
    alignments = [align_tokens(mt, r) for r in refs if r]
    return _classify_all(mt, refs, alignments, phrases(merge(alignments), alignments, phrase_gap))


def _classify_all(mt: str, refs: Sequence[str], alignments: Sequence[Alignment],
                  cands: Sequence[Candidate]) -> list[Span]:
    live = [r for r in refs if r]
    out = []
    for c in cands:
        al = alignments[c.ref]
        out.append(classify(c, mt, al.hyp_tokens, live[c.ref], al.ref_tokens,
                            confidence=min(1.0, max(0.0, c.confidence))))
    return out


class ReferenceAnnotator:
    """Reference-mode spans, with the encoder's word vectors computed in batches for many segments."""

    def __init__(self, settings: ReferenceSettings | None = None, encoder: WordEncoder | None = None,
                 tagger: SpanTagger | None = None, cross_lingual: bool | None = None) -> None:
        """``cross_lingual``: add ``crossling``'s source evidence to the rows (None: when the tagger reads it)."""
        from evalkit.spans.similarity import WordEncoder

        self.settings = settings or ReferenceSettings()
        self.encoder = encoder if encoder is not None else WordEncoder()
        self._tagger = tagger
        self._cross_lingual = cross_lingual
        self._cross: Any = None
        self._cross_cache: dict[str, np.ndarray] = {}

    @property
    def cross_lingual(self) -> bool:
        if self._cross_lingual is None:
            self._cross_lingual = "xl_linked" in self.tagger.features
        return self._cross_lingual

    @property
    def tagger(self) -> SpanTagger:
        """The packaged tagger unless one was given (loaded on first use: ``evidence`` needs none)."""
        if self._tagger is None:
            from evalkit.spans.tagger import load_tagger

            self._tagger = load_tagger()
        return self._tagger

    def threshold(self, consensus: bool) -> float:
        """The P(error) threshold for a segment with or without other systems' outputs as evidence."""
        return self.tagger.threshold_for(consensus) if self.settings.threshold is None else self.settings.threshold

    def annotate(self, mts: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str | None] | None = None,
                 others: Sequence[Sequence[str]] | None = None) -> list[list[Span]]:
        """Spans for each MT ``mts[i]`` against its references ``refs[i]``.

        ``others[i]`` (optional): other systems' outputs of segment ``i``, the consensus evidence.
        """
        out: list[list[Span]] = []
        for a, ev in self._blocks(mts, refs, srcs, others):
            out.extend(self._segment(mt, e) for mt, e in zip(mts[a:a + CHUNK], ev))
        return out

    def evidence(self, mts: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str | None] | None = None,
                 others: Sequence[Sequence[str]] | None = None) -> list[Evidence]:
        """The feature rows behind ``annotate`` (also what ``evalkit train-spans`` learns from)."""
        return [e for _, ev in self._blocks(mts, refs, srcs, others) for e in ev]

    def _blocks(self, mts: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str | None] | None,
                others: Sequence[Sequence[str]] | None) -> Iterator[tuple[int, list[Evidence]]]:
        """Evidence in blocks of ``CHUNK`` segments: batches stay full, memory stays bounded."""
        if len(refs) != len(mts) or (srcs is not None and len(srcs) != len(mts)) or (
                others is not None and len(others) != len(mts)):
            raise InputError("reference spans: MT, references, sources and other outputs differ in length")
        for a in range(0, len(mts), CHUNK):
            sl = slice(a, a + CHUNK)
            yield a, self._evidence(mts[sl], refs[sl], srcs[sl] if srcs is not None else None,
                                    others[sl] if others is not None else None)

    def _evidence(self, mts: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str | None] | None,
                  others: Sequence[Sequence[str]] | None) -> list[Evidence]:
        from evalkit.spans.features import consensus_features, segment_features
        from evalkit.spans.similarity import best_per_column, cosines

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
        out = []
        for k, (mt, rs, als) in enumerate(zip(mts, live, aligns)):
            if not als:
                out.append(Evidence(rs, als, np.zeros((0, 0), dtype=np.float32), []))
                continue
            mt_vec = next(vecs)
            sims = [cosines(mt_vec, next(vecs)) for _ in rs]
            other = [o for o in others[k] if o and o.strip()] if others is not None else []
            cons = None
            if others is not None:
                other_als = [align_tokens(mt, o, case_sensitive=False) for o in other]
                cons = consensus_features(als[0].hyp_tokens, [al.ref_tokens for al in other_als], other_als)
            src = srcs[k] if srcs is not None else None
            out.append(Evidence(rs, als, segment_features(mt, rs, als, sims, src, cons),
                                [best_per_column(m) for m in sims], bool(other)))
        if self.cross_lingual:
            self._add_cross_lingual(mts, srcs, out)
        return out

    def _add_cross_lingual(self, mts: Sequence[str], srcs: Sequence[str | None] | None,
                           evidence: list[Evidence]) -> None:
        """Append ``crossling``'s columns (zeros without a source); sources and references are encoded once."""
        from evalkit.spans.crossling import FEATURES as XL, CrossEncoder, cross_evidence
        from evalkit.spans.features import with_cross_lingual

        if self._cross is None:
            self._cross = CrossEncoder()
        live = [(k, ev) for k, ev in enumerate(evidence) if ev.alignments]
        shared = {t: span_tokens(t) for k, ev in live for t in (srcs[k] if srcs is not None else None, ev.refs[0]) if t}
        todo = [t for t in shared if t not in self._cross_cache]
        if todo:
            self._cross_cache.update(zip(todo, (v[0] for v in self._cross.encode(todo, [shared[t] for t in todo]))))
        mt_vecs = self._cross.encode([mts[k] for k, _ in live], [ev.alignments[0].hyp_tokens for _, ev in live])
        for (k, ev), mt_vec in zip(live, mt_vecs):
            src = srcs[k] if srcs is not None else None
            xl = np.zeros((len(ev.features), len(XL)), dtype=np.float32)
            if src:
                xl = cross_evidence(mt_vec[0], self._cross_cache[src], self._cross_cache[ev.refs[0]]).features()
            ev.features = with_cross_lingual(ev.features, xl)
        for ev in evidence:
            if not ev.alignments:
                ev.features = np.zeros((0, 0), dtype=np.float32)

    def _segment(self, mt: str, ev: Evidence) -> list[Span]:
        als = ev.alignments
        if not als:
            return []
        toks = als[0].hyp_tokens
        out = self.tagger.outputs(ev.features) if toks else np.zeros((0, 2), dtype=np.float32)
        prob = out[:, 0]
        flagged = (prob >= self.threshold(ev.consensus)).tolist()
        cands = merge(als, supported=[[not f for f in flagged]] * len(als))
        claimed = {i for c in cands if c.kind != "omission" for i in range(c.lo, c.hi)}
        kept = []
        for c in cands:
            if c.kind == "omission":
                missing = [j for j in c.ref_idx if is_content(als[c.ref].ref_tokens[j].text)]
                scores = [float(ev.ref_best[c.ref][j]) for j in missing]
                if not missing or min(scores) >= self.settings.omission_support:
                    continue
                c.confidence = 1.0 - float(np.mean(scores))
            else:
                lo, hi = c.lo, c.hi
                while self.settings.extend and lo > 0 and flagged[lo - 1] and lo - 1 not in claimed:
                    lo -= 1
                while self.settings.extend and hi < len(toks) and flagged[hi] and hi not in claimed:
                    hi += 1
                claimed.update(range(lo, hi))
                c.lo, c.hi, c.start, c.end = lo, hi, toks[lo].start, toks[hi - 1].end
                c.confidence = float(prob[lo:hi].mean())
            kept.append(c)
        spans = _classify_all(mt, ev.refs, als, phrases(kept, als, self.settings.phrase_gap))
        if self.tagger.major_threshold is None or out.shape[1] < 2:
            return spans
        return [self._severity(s, out[:, 1], toks) for s in spans]

    def _severity(self, span: Span, major: np.ndarray, toks: Sequence[Token]) -> Span:
        """Minor or major by the tagger's P(major) over the span's tokens, where the rules leave room.

        Omissions, critical spans (numbers, negation), the always-minor categories (punctuation,
        capitalisation, spelling) and spans without a content word keep the severity ``classify`` gave.
        """
        if span.start == span.end or span.severity == "critical" or span.category in MINOR_CATEGORIES:
            return span
        inside = [i for i, t in enumerate(toks) if t.start >= span.start and t.end <= span.end]
        if not any(is_content(toks[i].text) for i in inside):
            return span
        p = float(major[inside].mean())
        return replace(span, severity="major" if p >= self.tagger.major_threshold else "minor")


def annotate_testset(testset: TestSet, mode: str = "post-edit", settings: ReferenceSettings | None = None,
                     metrics: dict[str, Any] | None = None) -> dict[str, list[list[Span]]]:
    """``{system: [spans of segment i]}`` for every system of the test set.

    In reference mode the other systems' outputs of each segment are the consensus evidence; in xcomet
    mode the spans are those of the XCOMET checkpoint among ``metrics`` (read back, not recomputed).
    """
    mode = _mode(mode)
    if mode == "xcomet":
        from evalkit.neural.comet.spans import annotate_xcomet

        return annotate_xcomet(testset, metrics or {})
    if mode == "qe":
        return _annotate_qe(testset)
    if not testset.has_references:
        raise InputError(f"--spans {mode} aligns the MT with a reference; none was given (-r/--ref)")
    refs = [testset.segment_refs(i) for i in range(len(testset))]
    if mode == "post-edit":
        return {name: [spans_post_edit(h, r) for h, r in zip(hyps, refs)] for name, hyps in testset.systems.items()}
    annotator = ReferenceAnnotator(settings)
    return {name: annotator.annotate(hyps, refs, testset.srcs, _others(testset.systems, name))
            for name, hyps in testset.systems.items()}


def _others(systems: dict[str, list[str]], name: str) -> list[list[str]] | None:
    """Other systems' outputs of each segment (consensus evidence), or None with one system."""
    if len(systems) < 2:
        return None
    hyps = systems[name]
    return [[o[i] for other, o in systems.items() if other != name] for i in range(len(hyps))]


def _annotate_qe(testset: TestSet) -> dict[str, list[list[Span]]]:
    from evalkit.spans.qe import QEAnnotator

    if testset.srcs is None:
        raise InputError("--spans qe reads the source and the MT; no source was given (-s/--src)")
    annotator = QEAnnotator()
    return {name: annotator.annotate(hyps, testset.srcs, _others(testset.systems, name))
            for name, hyps in testset.systems.items()}


def span_signature(mode: str, settings: ReferenceSettings | None = None, metrics: dict[str, Any] | None = None) -> str:
    """How the spans were found, so that they can be reproduced (like a metric's signature)."""
    from evalkit import __version__

    if _mode(mode) == "xcomet":
        from evalkit.neural.comet.spans import xcomet_metric

        return xcomet_metric(metrics or {}).span_signature()
    if mode == "qe":
        from evalkit.spans.crossling import LAYER as XL_LAYER
        from evalkit.spans.crossling import OMISSION_SIM
        from evalkit.spans.qe import QE_FEATURES, QESettings
        from evalkit.spans.tagger import QE_TAGGER, load_tagger

        q = QESettings()
        return (f"mode:qe|inputs:src+mt|align:simalign-argmax|encoder:multilingual-e5-small@layer{XL_LAYER}|"
                f"{load_tagger(QE_TAGGER, QE_FEATURES).signature}|offset:{q.threshold_offset:g}|"
                f"omissions:{f'{OMISSION_SIM:g}' if q.omissions else 'off'}|phrase-gap:{q.phrase_gap}|"
                f"version:{__version__}")
    if mode == "post-edit":
        return (f"mode:post-edit|align:ter-shifts|tok:span|case:sensitive|phrase-gap:{DEFAULT_GAP}|"
                f"version:{__version__}")
    from evalkit.neural.encoder import DEFAULT_ENCODER
    from evalkit.spans.similarity import LAYER
    from evalkit.spans.tagger import load_tagger

    s = settings or ReferenceSettings()
    tagger = load_tagger()
    if s.threshold is not None:
        tagger = replace(tagger, threshold=s.threshold, single_threshold=None)
    return (f"mode:reference|align:ter-shifts|tok:span|case:insensitive|{tagger.signature}|"
            f"omission:{s.omission_support:g}|phrase-gap:{s.phrase_gap}|encoder:{DEFAULT_ENCODER}@layer{LAYER}|"
            f"version:{__version__}")


def attach_spans(system_result: SystemResult, spans: Sequence[Sequence[Span]]) -> None:
    """Set ``spans`` and ``mqm`` on every segment and the system's ``span_counts``."""
    if len(spans) != len(system_result.segments):
        raise InputError(f"{system_result.name}: {len(spans)} span lists for {len(system_result.segments)} segments")
    for seg, seg_spans in zip(system_result.segments, spans):
        seg.spans = list(seg_spans)
        seg.mqm = mqm_score(seg_spans)
    system_result.span_counts = count_spans(spans)
