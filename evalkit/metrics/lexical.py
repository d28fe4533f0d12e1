"""BLEU, chrF, chrF++ and TER: sacrebleu's own tokenisation and n-gram statistics, cached as arrays.

Segment statistics use sacrebleu's preprocessing, tokenizers and n-gram extraction; BLEU and chrF
count clipped matches over the n-grams hypothesis and reference share (the same sums sacrebleu
forms, with less Python work), and TER's edits come from evalkit's aligner. The tests check the
rows against sacrebleu's and the scores against the official WMT23 files. Corpus scores go through
sacrebleu's ``_compute_score_from_stats``; ``batch_scores`` re-implements the same formulas in
numpy for resampling (checked against sacrebleu in the tests).
"""
from __future__ import annotations

import difflib
from typing import Any, ClassVar

import numpy as np
from sacrebleu.metrics import BLEU as _SBLEU
from sacrebleu.metrics import CHRF as _SCHRF
from sacrebleu.metrics import TER as _STER
from sacrebleu.metrics.helpers import extract_all_char_ngrams, extract_all_word_ngrams, extract_word_ngrams

from evalkit.errors import InputError
from evalkit.metrics.base import Metric

_MIN_LOG = -9999999999.0
# Keys evalkit adds to sacrebleu's per-segment reference caches (never sacrebleu's own names).
_SEEN = "evalkit_rows"
_TOTALS = "evalkit_ref_totals"


class _SacreMetric(Metric):
    """Shared plumbing around a sacrebleu metric object."""

    _sb: Any

    def signature(self, bootstrap: tuple[int, int | None] | None = None) -> str:
        args = dict(self._sb.__dict__)
        if bootstrap is not None:
            n_samples, seed = bootstrap
            # sacrebleu writes an unseeded run (SACREBLEU_SEED=None) as "seed:none"
            args["n_bootstrap"], args["seed"] = n_samples, "none" if seed is None else seed
        return self._sb._SIGNATURE_TYPE(args).format()

    def prepare(self, refs, srcs=None) -> Any:
        # Also resolves nrefs for the signature, as sacrebleu does.
        return self._sb._cache_references(refs)

    def part_state(self) -> Any:
        return getattr(self._sb, "num_refs", None)

    def merge_part_state(self, state: Any) -> None:
        """sacrebleu's rule over the union of partitions: one reference count everywhere, else -1 (variable)."""
        if state is None:
            return
        known = getattr(self._sb, "num_refs", None)
        self._sb.num_refs = state if known is None or known == state else -1

    def segment_stats(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        """One row per segment. Systems often agree on a segment (a fifth of WMT23 zh-en outputs are
        repeats), so each segment's reference cache also keeps the rows already computed for it."""
        if prepared is None:
            prepared = self.prepare(refs)
        rows = []
        for h, kw in zip(hyps, prepared):
            seen = kw.setdefault(_SEEN, {})
            row = seen.get(h)
            if row is None:
                row = seen[h] = self._row(h, kw)
            rows.append(row)
        return np.asarray(rows, dtype=np.float64).reshape(len(hyps), -1)

    def _row(self, hyp: str, kw: dict[str, Any]) -> list[float]:
        return self._sb._compute_segment_statistics(self._sb._preprocess_segment(hyp), kw)

    def corpus_score(self, sums: np.ndarray) -> float:
        stats = [int(x) if float(x).is_integer() else float(x) for x in np.asarray(sums).tolist()]
        return float(self._sb._compute_score_from_stats(stats).score)


def _check_tokenizer(name: str | None) -> None:
    """An unknown tokenizer is an input error naming the choices (sacrebleu raises a bare KeyError)."""
    from sacrebleu.metrics.bleu import _TOKENIZERS

    if name is not None and name not in _TOKENIZERS:
        close = difflib.get_close_matches(name, list(_TOKENIZERS), n=2)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"BLEU: unknown tokenizer {name!r}{hint} (choose from {', '.join(_TOKENIZERS)})")


class BLEU(_SacreMetric):
    """sacreBLEU. Sentence scores use effective order, as sacrebleu's ``sentence_bleu`` does."""

    name: ClassVar[str] = "bleu"
    display: ClassVar[str] = "BLEU"
    integer_stats: ClassVar[bool] = True

    def __init__(
        self,
        tokenize: str | None = None,
        lowercase: bool = False,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        max_ngram_order: int = 4,
        effective_order: bool = False,
        trg_lang: str = "",
    ) -> None:
        _check_tokenizer(tokenize)
        if max_ngram_order < 1:
            raise InputError(f"BLEU: --max-ngram-order must be at least 1, got {max_ngram_order}")
        kw = dict(lowercase=lowercase, tokenize=tokenize, smooth_method=smooth_method, smooth_value=smooth_value,
                  max_ngram_order=max_ngram_order, trg_lang=trg_lang)
        try:
            self._sb = _SBLEU(effective_order=effective_order, **kw)
            self._sent = _SBLEU(effective_order=True, **kw)
        except (ImportError, OSError, RuntimeError) as exc:  # optional tokenizers (mecab, sentencepiece models)
            reason = " ".join(str(exc).split())
            raise InputError(f"BLEU: tokenizer {tokenize!r} is not available here: {reason}") from None
        self.max_order = max_ngram_order
        self.smooth_method = smooth_method
        self.smooth_value = _SBLEU.SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
        self.effective_order = effective_order

    def _row(self, hyp: str, kw: dict[str, Any]) -> list[float]:
        """sacrebleu's statistics, counted over the n-grams hypothesis and references share.

        Totals per order are ``len - n + 1``, and clipped matches are summed over the shared keys
        only (sacrebleu loops over every hypothesis n-gram): same numbers, less Python work.
        """
        ref_ngrams, ref_lens = kw["ref_ngrams"], kw["ref_lens"]
        hyp_ngrams, hyp_len = extract_all_word_ngrams(self._sb._preprocess_segment(hyp), 1, self.max_order)
        correct = [0] * self.max_order
        for gram in hyp_ngrams.keys() & ref_ngrams.keys():
            h, r = hyp_ngrams[gram], ref_ngrams[gram]
            correct[len(gram) - 1] += h if h < r else r
        total = [max(0, hyp_len - k) for k in range(self.max_order)]
        return [hyp_len, self._sb._get_closest_ref_len(hyp_len, ref_lens), *correct, *total]

    def _vector_bleu(self, sums: np.ndarray, effective_order: bool) -> np.ndarray:
        sums = np.asarray(sums, dtype=np.float64)
        n = self.max_order
        sys_len, ref_len = sums[:, 0], sums[:, 1]
        correct = sums[:, 2:2 + n].copy()
        total = sums[:, 2 + n:2 + 2 * n].copy()
        B = sums.shape[0]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1)), 0.0), 1.0)
            prec = np.zeros((B, n))
            smooth_mteval = np.ones(B)
            alive = np.ones(B, dtype=bool)
            eff = np.full(B, n, dtype=np.int64)
            for k in range(n):
                if self.smooth_method == "add-k" and k > 0:
                    correct[:, k] += self.smooth_value
                    total[:, k] += self.smooth_value
                alive &= total[:, k] != 0
                if effective_order:
                    eff = np.where(alive, k + 1, eff)
                zero = correct[:, k] == 0
                safe_total = np.where(total[:, k] == 0, 1.0, total[:, k])
                if self.smooth_method == "exp":
                    smooth_mteval = np.where(alive & zero, smooth_mteval * 2, smooth_mteval)
                    p_zero = 100.0 / (smooth_mteval * safe_total)
                elif self.smooth_method == "floor":
                    p_zero = 100.0 * self.smooth_value / safe_total
                else:
                    p_zero = np.zeros(B)
                p = np.where(zero, p_zero, 100.0 * correct[:, k] / safe_total)
                prec[:, k] = np.where(alive, p, 0.0)
            logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), _MIN_LOG)
            mask = np.arange(n)[None, :] < eff[:, None]
            mean_log = (logs * mask).sum(axis=1) / eff
            score = bp * np.exp(mean_log)
        any_correct = (sums[:, 2:2 + n] != 0).any(axis=1)
        return np.where(any_correct, score, 0.0)

    def batch_scores(self, sums: np.ndarray) -> np.ndarray:
        return self._vector_bleu(sums, self.effective_order)

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        return self._vector_bleu(stats, True)

    def sentence_score_exact(self, row: np.ndarray) -> float:
        return float(self._sent._compute_score_from_stats([int(x) for x in row]).score)


class CHRF(_SacreMetric):
    """chrF (word_order=0) and chrF++ (word_order=2)."""

    name: ClassVar[str] = "chrf"
    display: ClassVar[str] = "chrF2"
    integer_stats: ClassVar[bool] = True

    def __init__(
        self,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        whitespace: bool = False,
        eps_smoothing: bool = False,
    ) -> None:
        if char_order < 1 or word_order < 0:
            raise InputError(f"chrF: the character order must be at least 1 and the word order at least 0 "
                             f"(got {char_order} and {word_order})")
        self._sb = _SCHRF(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase,
                          whitespace=whitespace, eps_smoothing=eps_smoothing)
        self.order = char_order + word_order
        self.beta = beta
        self.eps_smoothing = eps_smoothing

    def prepare(self, refs, srcs=None) -> Any:
        cache = super().prepare(refs, srcs)
        for kw in cache:
            kw[_TOTALS] = [[sum(c.values()) for c in ngrams] for ngrams in kw["ref_ngrams"]]
        return cache

    def _row(self, hyp: str, kw: dict[str, Any]) -> list[float]:
        """sacrebleu's statistics (best reference by its f-score), with each reference's n-gram totals
        counted once and matches summed over shared n-grams only: same numbers, less Python work."""
        sb = self._sb
        hyp = sb._preprocess_segment(hyp)
        hyp_ngrams = extract_all_char_ngrams(hyp, sb.char_order, sb.whitespace)
        if sb.word_order > 0:
            words = sb._remove_punctuation(hyp)
            hyp_ngrams.extend(extract_word_ngrams(words, n) for n in range(1, sb.word_order + 1))
        hyp_totals = [sum(c.values()) for c in hyp_ngrams]
        best: list[float] = []
        best_f = -1.0
        for ref_ngrams, ref_totals in zip(kw["ref_ngrams"], kw[_TOTALS]):
            stats: list[float] = []
            for hc, rc, ht, rt in zip(hyp_ngrams, ref_ngrams, hyp_totals, ref_totals):
                match = 0
                for gram in hc.keys() & rc.keys():
                    h, r = hc[gram], rc[gram]
                    match += h if h < r else r
                stats += (ht if rt else 0, rt, match)
            f = sb._compute_f_score(stats)
            if f > best_f:
                best_f, best = f, stats
        return best

    @property
    def display(self) -> str:  # type: ignore[override]
        return "chrF" + str(self.beta) + "+" * (self.order - self._sb.char_order)

    def batch_scores(self, sums: np.ndarray) -> np.ndarray:
        sums = np.asarray(sums, dtype=np.float64)
        eps = 1e-16
        factor = float(self.beta ** 2)
        B = sums.shape[0]
        score = np.zeros(B)
        avg_p = np.zeros(B)
        avg_r = np.zeros(B)
        eff = np.zeros(B)
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(self.order):
                h, r, m = sums[:, 3 * i], sums[:, 3 * i + 1], sums[:, 3 * i + 2]
                p = np.where(h > 0, m / np.where(h > 0, h, 1), eps)
                rc = np.where(r > 0, m / np.where(r > 0, r, 1), eps)
                denom = factor * p + rc
                score = score + np.where(denom > 0, (1 + factor) * p * rc / np.where(denom > 0, denom, 1), eps)
                both = (h > 0) & (r > 0)
                avg_p = avg_p + np.where(both, p, 0.0)
                avg_r = avg_r + np.where(both, rc, 0.0)
                eff = eff + both
            if self.eps_smoothing:
                return 100 * score / self.order
            avg_p = np.where(eff > 0, avg_p / np.where(eff > 0, eff, 1), 0.0)
            avg_r = np.where(eff > 0, avg_r / np.where(eff > 0, eff, 1), 0.0)
            num = (1 + factor) * avg_p * avg_r
            den = factor * avg_p + avg_r
            return np.where(avg_p + avg_r > 0, 100 * num / np.where(den > 0, den, 1), 0.0)


class CHRFPP(CHRF):
    name: ClassVar[str] = "chrf++"

    def __init__(self, char_order: int = 6, word_order: int = 2, **kw: Any) -> None:
        super().__init__(char_order=char_order, word_order=word_order, **kw)


class TER(_SacreMetric):
    """Translation Edit Rate with tercom's shift heuristics (lower is better).

    Statistics are ``[best edits, average reference length]`` as in sacrebleu; the edit distance
    itself comes from evalkit's aligner, which reproduces sacrebleu's counts exactly.
    """

    name: ClassVar[str] = "ter"
    display: ClassVar[str] = "TER"
    higher_is_better: ClassVar[bool] = False

    def __init__(
        self,
        normalized: bool = False,
        no_punct: bool = False,
        asian_support: bool = False,
        case_sensitive: bool = False,
    ) -> None:
        self._sb = _STER(normalized=normalized, no_punct=no_punct, asian_support=asian_support,
                         case_sensitive=case_sensitive)

    def _row(self, hyp: str, kw: dict[str, Any]) -> list[float]:
        from evalkit.spans.align import ter_edits

        words_hyp = self._sb._preprocess_segment(hyp).split()
        ref_words = kw["ref_words"]
        best = int(1e16)
        ref_total = 0
        for words_ref in ref_words:
            ref_total += len(words_ref)
            best = min(best, ter_edits(words_hyp, words_ref))
        return [best, ref_total / len(ref_words)]

    def batch_scores(self, sums: np.ndarray) -> np.ndarray:
        sums = np.asarray(sums, dtype=np.float64)
        edits, ref_len = sums[:, 0], sums[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100 * np.where(ref_len > 0, edits / np.where(ref_len > 0, ref_len, 1), np.where(edits > 0, 1.0, 0.0))
