"""sacrebleu's own test vectors reproduced through evalkit's metrics.

The vectors come from ``../shared/data/sacrebleu-reference/sacrebleu_test_vectors.json`` (literals of
sacrebleu's test files); the metric arguments are those of sacrebleu's test functions (read in
mjpost/sacrebleu test/test_bleu.py, test_chrf.py, test_ter.py, test_sentence_bleu.py). Every case
goes through evalkit's path: ``build_metric`` with evalkit's option names, ``segment_stats`` on
prepared references, then ``corpus_score`` (sacrebleu's formula), ``batch_scores`` (evalkit's numpy
formula) and ``segment_scores``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU as SBLEU
from sacrebleu.metrics import CHRF as SCHRF
from sacrebleu.metrics import TER as STER

from conftest import SHARED_DATA, require
from evalkit.metrics import build_metric

VECTORS = SHARED_DATA / "sacrebleu-reference" / "sacrebleu_test_vectors.json"


@lru_cache(maxsize=1)
def _vectors() -> dict[str, Any]:
    if not VECTORS.exists():
        return {}
    return json.loads(VECTORS.read_text(encoding="utf-8"))["files"]


def vec(file: str, name: str) -> list[Any]:
    """The named literal, or one placeholder case that skips when the data is absent."""
    data = _vectors()
    if not data:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"real data not available: {VECTORS}"))]
    return data[f"test/{file}"][name]


def scores(metric: Any, hyps: list[str], refs: list[list[str]]) -> tuple[float, float, np.ndarray]:
    """(corpus_score, batch_scores of the same sum, the statistics) through evalkit's metric."""
    stats = metric.segment_stats(hyps, refs, metric.prepare(refs))
    total = stats.sum(axis=0)
    return metric.corpus_score(total), float(metric.batch_scores(total[None, :])[0]), stats


# ---------------------------------------------------------------- BLEU (test_bleu.py)

RAW = {"tokenize": "none", "smooth_method": "floor", "effective_order": True}


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_raw_bleu_cases"))
def test_raw_bleu(case: list[Any]) -> None:
    hyps, refs, expected = case
    m = build_metric("bleu", {**RAW, "smooth_value": 0.01})
    corpus, batch, _ = scores(m, hyps, refs)
    assert abs(corpus / 100 - expected) < 1e-8
    assert abs(batch / 100 - expected) < 1e-8


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_corpus_bleu_cases"))
def test_corpus_bleu(case: list[Any]) -> None:
    hyps, refs, kwargs, expected = case
    m = build_metric("bleu", kwargs)
    corpus, batch, _ = scores(m, list(hyps), refs)
    assert abs(corpus - expected) < 1e-6
    assert abs(batch - expected) < 1e-6


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_case_effective_order"))
def test_effective_order(case: list[Any]) -> None:
    hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("bleu", {**RAW, "smooth_value": 0.01}), hyps, refs)
    assert abs(corpus / 100 - expected) < 1e-8
    assert abs(batch / 100 - expected) < 1e-8


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_case_statistics"))
def test_bleu_statistics(case: list[Any]) -> None:
    hyps, refs, expected = case
    _, _, stats = scores(build_metric("bleu", {**RAW, "smooth_value": 0.01}), hyps, refs)
    row = stats.sum(axis=0)
    assert row[2:6].tolist() == expected["common"]
    assert row[6:10].tolist() == expected["total"]


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_case_scoring"))
def test_bleu_scoring(case: list[Any]) -> None:
    (stat, sys_len, ref_len), expected = case
    m = build_metric("bleu")
    row = np.array([sys_len, ref_len, *stat["common"], *stat["total"]], dtype=float)
    assert abs(m.corpus_score(row) / 100 - expected) < 1e-8
    assert abs(m.batch_scores(row[None, :])[0] / 100 - expected) < 1e-8


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_case_offset"))
def test_bleu_offset(case: list[Any]) -> None:
    hyps, refs, with_offset, without_offset = case
    zero, zero_batch, _ = scores(build_metric("bleu", {**RAW, "smooth_value": 0.0}), hyps, refs)
    default, default_batch, _ = scores(build_metric("bleu", RAW), hyps, refs)
    assert abs(zero / 100 - without_offset) < 1e-8 and abs(zero_batch / 100 - without_offset) < 1e-8
    assert abs(default / 100 - with_offset) < 1e-8 and abs(default_batch / 100 - with_offset) < 1e-8


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_case_degenerate_stats"))
def test_bleu_degenerate_statistics(case: list[Any]) -> None:
    (stat, sys_len, ref_len), offset, expected = case
    m = build_metric("bleu", {"smooth_method": "floor", "smooth_value": offset})
    row = np.array([sys_len, ref_len, *stat["common"], *stat["total"]], dtype=float)
    assert m.corpus_score(row) / 100 == expected
    assert m.batch_scores(row[None, :])[0] / 100 == expected


@pytest.mark.parametrize("case", vec("test_bleu.py", "test_bleu_max_order"))
def test_bleu_max_ngram_order(case: list[Any]) -> None:
    order, hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("bleu", {"max_ngram_order": order}), hyps, refs)
    assert f"{corpus:.2f}" == expected
    assert f"{batch:.2f}" == expected


# ---------------------------------------------------------------- chrF (test_chrf.py)

CHRF3 = {"chrf_char_order": 6, "chrf_word_order": 0, "chrf_beta": 3}


@pytest.mark.parametrize("case", vec("test_chrf.py", "test_cases"))
def test_chrf_eps_smoothing(case: list[Any]) -> None:
    hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("chrf", {**CHRF3, "chrf_eps_smoothing": True}), hyps, [refs])
    assert abs(corpus - expected) < 1e-4
    assert abs(batch - expected) < 1e-4


@pytest.mark.parametrize("case", vec("test_chrf.py", "test_cases_effective_order"))
def test_chrf_effective_order(case: list[Any]) -> None:
    hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("chrf", CHRF3), hyps, [refs])
    assert abs(corpus - expected) < 1e-4
    assert abs(batch - expected) < 1e-4


@pytest.mark.parametrize("case", vec("test_chrf.py", "test_cases_keep_whitespace"))
def test_chrf_keep_whitespace(case: list[Any]) -> None:
    hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("chrf", {**CHRF3, "chrf_whitespace": True}), hyps, [refs])
    assert abs(corpus - expected) < 1e-4
    assert abs(batch - expected) < 1e-4


@pytest.mark.parametrize("case", vec("test_chrf.py", "test_sentence_level_chrf"))
def test_chrf_sentence_level(case: list[Any]) -> None:
    hyp, refs, expected = case
    m = build_metric("chrf", {"chrf_eps_smoothing": True})
    stats = m.segment_stats([hyp], [[r] for r in refs], m.prepare([[r] for r in refs]))
    assert abs(m.segment_scores(stats)[0] - expected) < 1e-4


# ---------------------------------------------------------------- TER (test_ter.py, test_tokenizer_ter.py)

@pytest.mark.parametrize("case", vec("test_ter.py", "test_cases"))
def test_ter(case: list[Any]) -> None:
    hyps, refs, expected = case
    corpus, batch, _ = scores(build_metric("ter"), hyps, [refs])
    assert abs(corpus - 100 * expected) < 1e-3
    assert abs(batch - 100 * expected) < 1e-3


@pytest.mark.parametrize(
    "group, options, changed_by",
    [
        ("test_cases_default", {}, {"ter_case_sensitive": True}),
        ("test_cases_no_punct", {"ter_no_punct": True}, {}),
        ("test_cases_norm", {"ter_normalized": True}, {}),
        ("test_cases_asian", {"ter_normalized": True, "ter_asian_support": True}, {"ter_normalized": True}),
    ],
)
def test_ter_tokenizer_options(group: str, options: dict[str, bool], changed_by: dict[str, bool]) -> None:
    """Each option reaches TER: the input scores 0 against sacrebleu's expected tokenisation, and
    the option switched off (where that changes the tokens) no longer does."""
    cases = vec("test_tokenizer_ter.py", group)
    if not isinstance(cases[0], list):
        pytest.skip(f"real data not available: {VECTORS}")
    hyps = [c[0] for c in cases if c[1]]
    refs = [c[1] for c in cases if c[1]]
    corpus, _, _ = scores(build_metric("ter", options), hyps, [refs])
    assert corpus == 0.0
    plain, _, _ = scores(build_metric("ter", changed_by), hyps, [refs])
    assert plain > 0.0


# ---------------------------------------------------------------- sentence BLEU (test_sentence_bleu.py)

def _sentence_bleu(sys: str, ref: str, method: str, value: float | None, lowercase: bool, tok: str) -> float:
    opts: dict[str, Any] = {"smooth_method": method, "smooth_value": value, "lowercase": lowercase, "tokenize": tok}
    m = build_metric("bleu", opts)
    stats = m.segment_stats([sys], [[ref]], m.prepare([[ref]]))
    return float(m.segment_scores(stats)[0])


@pytest.mark.parametrize("case", vec("test_sentence_bleu.py", "test_cases"))
def test_sentence_bleu(case: list[Any]) -> None:
    method, value, lowercase, tok, expected = case
    data = _vectors()["test/test_sentence_bleu.py"]
    got = _sentence_bleu(data["SYS"], data["REF"], method, value, lowercase, tok)
    assert abs(got - expected) < 1e-3


@pytest.mark.parametrize("case", vec("test_sentence_bleu.py", "test_cases_zero_bleu"))
def test_sentence_bleu_zero(case: list[Any]) -> None:
    method, value, lowercase, tok, expected = case
    data = _vectors()["test/test_sentence_bleu.py"]
    assert abs(_sentence_bleu(data["SYS_0"], data["REF_0"], method, value, lowercase, tok) - expected) < 1e-3


# ---------------------------------------------------------------- signatures

@pytest.mark.parametrize(
    "name, options, reference",
    [
        ("bleu", {}, lambda: SBLEU()),
        ("bleu", {"tokenize": "intl", "lowercase": True, "smooth_method": "floor", "smooth_value": 0.2},
         lambda: SBLEU(tokenize="intl", lowercase=True, smooth_method="floor", smooth_value=0.2)),
        ("bleu", {"trg_lang": "zh"}, lambda: SBLEU(trg_lang="zh")),
        ("chrf", {}, lambda: SCHRF()),
        ("chrf", {"chrf_beta": 3, "chrf_whitespace": True, "lowercase": True},
         lambda: SCHRF(beta=3, whitespace=True, lowercase=True)),
        ("chrf++", {}, lambda: SCHRF(word_order=2)),
        ("ter", {}, lambda: STER()),
        ("ter", {"ter_normalized": True, "ter_no_punct": True, "ter_case_sensitive": True},
         lambda: STER(normalized=True, no_punct=True, case_sensitive=True)),
    ],
)
def test_signature_is_sacrebleus(name: str, options: dict[str, Any], reference: Any) -> None:
    hyps = ["The dog bit the man.", "It wasn't surprising."]
    refs = [["The dog bit the man.", "It was not unexpected."], ["The dog had bit the man.", "No one was surprised."]]
    m = build_metric(name, options)
    m.segment_stats(hyps, refs, m.prepare(refs))
    sb = reference()
    sb.corpus_score(hyps, refs)
    assert m.signature() == sb.get_signature().format()
    sb_bs = reference()
    sb_bs.corpus_score(hyps, refs, n_bootstrap=20)
    assert m.signature((20, 12345)) == sb_bs.get_signature().format()
    assert "bs:20|seed:12345" in m.signature((20, 12345))
    assert "bs:20|seed:none" in m.signature((20, None))  # sacrebleu's spelling of an unseeded run


def test_sacrebleu_version_is_the_pinned_one() -> None:
    """The vectors and signatures are those of sacrebleu 2.6 (pyproject pins >=2.6,<2.7)."""
    require(VECTORS)
    assert sacrebleu.__version__.startswith("2.6.")
