"""evalkit's BLEU and chrF equal the official WMT23 scores for every system of zh-en, he-en (refB), en-de.

The official files (``metric-scores/<lp>/BLEU-<ref>.sys.score`` and ``chrF-<ref>.sys.score``, and
their ``.seg.score`` twins) were produced with sacrebleu's defaults. Every system listed in them
is scored, the extra references and the synthetic reference included. Statistics are computed once
for all systems with ``compute_table`` (forked over both cores); the segment scores of those same
statistics are checked against the official segment files.

One input detail: en-de ``AIRC.txt`` begins with a UTF-8 byte-order mark, which the official scoring
kept as a character of the first hypothesis (its chrF is 52.19217; with the mark removed, as every
evalkit reader does, it is 52.19223). To compare the metrics like for like, system outputs are
scored here as the raw lines the official scoring saw, and ``test_bom_is_the_only_input_difference``
checks that the mark is all that evalkit's reader changes.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

import evalkit
from evalkit.api import build_metrics
from evalkit.io.text import read_lines
from evalkit.io.wmt import WMTLayout
from evalkit.stats.table import compute_table
from evalkit.testset import TestSet

PAIRS = ["zh-en", "he-en", "en-de"]


@pytest.fixture(scope="module")
def layout(request: pytest.FixtureRequest) -> WMTLayout:
    wmt23 = request.getfixturevalue("wmt23")
    return WMTLayout(wmt23)


@pytest.fixture(scope="module")
def wmt23(request: pytest.FixtureRequest) -> Path:  # module-scoped twin of conftest's fixture
    from conftest import WMT23, require

    return require(WMT23)


@pytest.fixture(scope="module")
def tables(layout: WMTLayout):
    """(official sys scores, official seg scores, table) per pair and metric name."""
    out = {}
    for lp in PAIRS:
        official = {name: layout.metric_scores(lp, layout.resolve_metric(lp, name)) for name in ("BLEU", "chrF")}
        official_seg = {name: layout.metric_scores(lp, layout.resolve_metric(lp, name), "seg")
                        for name in ("BLEU", "chrF")}
        systems = {s: _raw_lines(_output_path(layout, lp, s)) for s in official["BLEU"]}
        testset = TestSet(refs=[layout.reference(lp)], systems=systems)
        table = compute_table(testset, build_metrics(["bleu", "chrf"]))
        out[lp] = (official, official_seg, table)
    return out


def _output_path(layout: WMTLayout, lp: str, system: str) -> Path:
    return layout.root / "system-outputs" / lp / f"{system}.txt"


def _raw_lines(path: Path) -> list[str]:
    """Lines exactly as mt-metrics-eval reads them (no byte-order mark removed)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def test_bom_is_the_only_input_difference(layout: WMTLayout) -> None:
    for lp in PAIRS:
        for system in layout.system_names(lp, include_synthetic=True):
            raw = _raw_lines(_output_path(layout, lp, system))
            ours = read_lines(_output_path(layout, lp, system), allow_empty=True)
            if (lp, system) == ("en-de", "AIRC"):
                assert raw[0] == "\ufeff" + ours[0] and raw[1:] == ours[1:]
            else:
                assert raw == ours, f"{lp} {system}"


def test_standard_references(layout: WMTLayout) -> None:
    assert layout.resolve_metric("he-en", "BLEU") == "BLEU-refB"
    assert layout.resolve_metric("zh-en", "chrF") == "chrF-refA"
    assert layout.resolve_metric("en-de", "BLEU") == "BLEU-refA"


@pytest.mark.parametrize("lp", PAIRS)
def test_system_scores_equal_official(tables, lp: str) -> None:
    official, _, table = tables[lp]
    expected_systems = {"zh-en": 16, "he-en": 13, "en-de": 13}[lp]
    assert len(official["BLEU"]) == expected_systems
    for ours, theirs in (("bleu", "BLEU"), ("chrf", "chrF")):
        for system, score in official[theirs].items():
            got = table.corpus_score(system, ours)
            assert math.isclose(got, score, rel_tol=0, abs_tol=1e-9), f"{lp} {system} {theirs}: {got} != {score}"


@pytest.mark.parametrize("lp", PAIRS)
def test_segment_scores_equal_official(tables, lp: str) -> None:
    """Sentence BLEU (effective order) and sentence chrF of every segment of a slice of systems."""
    _, official_seg, table = tables[lp]
    for ours, theirs in (("bleu", "BLEU"), ("chrf", "chrF")):
        for system in sorted(official_seg[theirs])[:5]:
            expected = np.array([np.nan if v is None else v for v in official_seg[theirs][system]], dtype=float)
            got = table.segment_scores(system, ours)
            rated = ~np.isnan(expected)
            assert rated.sum() > 0.9 * len(expected)
            np.testing.assert_allclose(got[rated], expected[rated], rtol=0, atol=1e-9,
                                       err_msg=f"{lp} {system} {theirs}")


# ---------------------------------------------------------------- sentence scores, resampling and CIs

SLICE = slice(0, 120)


@pytest.fixture(scope="module")
def he_en_slice(layout: WMTLayout):
    """120 he-en segments of two systems with both references (refB, the standard one, first)."""
    refs = [layout.reference("he-en", "refB")[SLICE], layout.reference("he-en", "refA")[SLICE]]
    systems = {s: layout.system_output("he-en", s)[SLICE] for s in ("ONLINE-A", "NLLB_Greedy")}
    return refs, systems


SACRE = {
    "bleu": lambda: BLEU(effective_order=True),
    "chrf": lambda: CHRF(),
    "chrf++": lambda: CHRF(word_order=2),
    "ter": lambda: TER(),
}


@pytest.mark.parametrize("name", list(SACRE))
@pytest.mark.parametrize("nrefs", [1, 2])
def test_sentence_scores_equal_sacrebleu_sentence_score(he_en_slice, name: str, nrefs: int) -> None:
    refs, systems = he_en_slice
    refs = refs[:nrefs]
    metric = build_metrics([name])[name]
    prepared = metric.prepare(refs)
    sb = SACRE[name]()
    for hyps in list(systems.values())[: 1 if name == "ter" else None]:  # sacrebleu's own TER is slow
        got = metric.segment_scores(metric.segment_stats(hyps, refs, prepared))
        want = [sb.sentence_score(h, [r[i] for r in refs]).score for i, h in enumerate(hyps)]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", list(SACRE))
def test_batch_scores_equal_corpus_score_on_resampled_sums(he_en_slice, name: str) -> None:
    """The numpy formula (used for every bootstrap sample) equals sacrebleu's on random resamples."""
    refs, systems = he_en_slice
    metric = build_metrics([name])[name]
    stats = metric.segment_stats(systems["ONLINE-A"], refs, metric.prepare(refs))
    rng = np.random.default_rng(0)
    counts = np.stack([np.bincount(rng.integers(0, len(stats), size=k), minlength=len(stats))
                       for k in (1, 2, 5, 30, 120, 120, 240)]).astype(float)
    sums = counts @ stats
    np.testing.assert_allclose(metric.batch_scores(sums), [metric.corpus_score(s) for s in sums], rtol=0, atol=1e-9)


def test_confidence_intervals_equal_sacrebleus_and_are_reproducible(he_en_slice) -> None:
    """Same draw as sacrebleu (seed 12345): equal mean and half-width, up to sacrebleu's float32 sums."""
    refs, systems = he_en_slice
    hyps = systems["ONLINE-A"]
    names = list(SACRE)
    first = evalkit.score(hyps, refs, metrics=names, confidence=True, workers=1).systems[0].metrics
    again = evalkit.score(hyps, refs, metrics=names, confidence=True, workers=1).systems[0].metrics
    other = evalkit.score(hyps, refs, metrics=names, confidence=True, seed=7, workers=1).systems[0].metrics
    for name in names:
        sb = BLEU() if name == "bleu" else SACRE[name]()  # corpus BLEU without effective order
        want = sb.corpus_score(hyps, refs, n_bootstrap=1000)
        got = first[name]
        assert got.score == pytest.approx(want.score, abs=1e-9)
        assert got.ci_mean == pytest.approx(want._mean, abs=1e-5)
        assert got.ci_half_width == pytest.approx(want._ci, abs=1e-5)
        assert got.signature == sb.get_signature().format()
        assert (got.ci, got.ci_mean) == (again[name].ci, again[name].ci_mean)
        assert other[name].ci != got.ci and "seed:7" in other[name].signature


@pytest.mark.parametrize(
    "name, options",
    [("bleu", {}), ("bleu", {"tokenize": "intl", "lowercase": True, "max_ngram_order": 6}), ("chrf", {}),
     ("chrf++", {}), ("chrf", {"chrf_whitespace": True, "lowercase": True, "chrf_char_order": 4})],
)
def test_statistics_rows_equal_sacrebleus(he_en_slice, name: str, options: dict) -> None:
    """evalkit's faster n-gram matching gives sacrebleu's own rows, two references, several options."""
    refs, systems = he_en_slice
    metric = build_metrics([name], options)[name]
    prepared = metric.prepare(refs)
    for hyps in systems.values():
        ours = metric.segment_stats(hyps, refs, prepared).tolist()
        theirs = [metric._sb._compute_segment_statistics(metric._sb._preprocess_segment(h), kw)
                  for h, kw in zip(hyps, prepared)]
        assert ours == [[float(x) for x in row] for row in theirs]
