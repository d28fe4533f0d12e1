"""Meta-evaluation: statistics on hand-computed examples, and the WMT23 figures reproduced from the files."""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA, require
from evalkit.cli import main
from evalkit.metaeval import stats as st
from evalkit.metaeval.pipeline import run_metaeval

WMT22 = SHARED_DATA / "wmt22-general-zh-en"
WMT24 = SHARED_DATA / "wmt24-general-en-es"
LPS = ["zh-en", "he-en", "en-de"]
STD = {"zh-en": "refA", "he-en": "refB", "en-de": "refA"}


# --- statistics on examples small enough to check by hand -------------------------------------------

def test_agreements_counts_pairs_and_ties():
    assert st.agreements(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])) == 2
    assert st.agreements(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == 1  # tie agrees with tie
    assert st.agreements(np.array([1.0, 1.0]), np.array([2.0, 3.0])) == 0  # ...and with nothing else
    batch = st.agreements(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), np.array([[1.0, 2.0, 3.0]] * 2))
    assert batch.tolist() == [3, 0]


# Two segments, three systems. Segment 0: human [0, 0, -1], metric [1, .75, .25]; segment 1: human
# [-2, -1, -1], metric [0, 1, 2]. Pair by pair (dh, dm): seg 0: (0, .25) (1, .75) (1, .5); seg 1: (-1, -1)
# (-1, -2) (0, -1). acc-eq per threshold: eps=0 -> (2/3 + 2/3)/2; eps=.25 -> (3/3 + 2/3)/2 = 5/6 (best);
# eps=.5 -> (2/3 + 2/3)/2; eps=.75 -> (1/3 + 2/3)/2; eps=1 -> (1/3 + 2/3)/2; eps=2 -> (1/3 + 1/3)/2.
HUMAN = np.array([[0.0, 0.0, -1.0], [-2.0, -1.0, -1.0]])
METRIC = np.array([[1.0, 0.75, 0.25], [0.0, 1.0, 2.0]])


def test_acc_eq_and_tau_eq_by_hand():
    pairs = st.ItemPairs.build(HUMAN, METRIC)
    value, eps = st.tie_calibrated(pairs, "acc-eq")
    assert value[0] == pytest.approx(5 / 6) and eps[0] == 0.25
    # tau-eq at eps=.25: seg 0 (3 - 0)/3, seg 1 (2 - 1)/3
    value, eps = st.tie_calibrated(pairs, "tau-eq")
    assert value[0] == pytest.approx(2 / 3) and eps[0] == 0.25


def test_tau_b_by_hand_and_against_scipy():
    # each segment: 2 concordant, 1 pair tied in human only -> 2 / sqrt(2 * 3)
    pairs = st.ItemPairs.build(HUMAN, METRIC)
    per_item = st.tau_b_per_item(pairs)
    assert per_item == pytest.approx([2 / math.sqrt(6)] * 2)
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    h = rng.integers(0, 3, (20, 6)).astype(float)
    m = rng.integers(0, 4, (20, 6)).astype(float)
    ours = st.tau_b_per_item(st.ItemPairs.build(h, m))
    ref = [scipy_stats.kendalltau(h[r], m[r]).statistic for r in range(20)]
    np.testing.assert_allclose(ours, ref, equal_nan=True)


def _acc_eq_by_loops(human: np.ndarray, metric: np.ndarray, variant: str) -> tuple[float, float]:
    """The definition, literally: try every threshold, score every pair of every segment."""
    rows = []
    for r in range(human.shape[0]):
        rated = [k for k in range(human.shape[1]) if not (math.isnan(human[r, k]) or math.isnan(metric[r, k]))]
        pairs = [(human[r, a] - human[r, b], metric[r, a] - metric[r, b]) for a, b in itertools.combinations(rated, 2)]
        if pairs:
            rows.append(pairs)
    best = None
    for eps in sorted({0.0} | {abs(dm) for pairs in rows for _, dm in pairs}):
        total = 0.0
        for pairs in rows:
            score = 0
            for dh, dm in pairs:
                if abs(dm) <= eps:
                    good = dh == 0
                else:
                    good = (dh > 0 and dm > 0) or (dh < 0 and dm < 0) or (dh == 0 and dm == 0)
                score += (1 if good else 0) if variant == "acc-eq" else (1 if good else -1)
            total += score / len(pairs)
        value = total / len(rows)
        if best is None or value > best[0] + 1e-12:
            best = (value, eps)
    assert best is not None
    return best


@pytest.mark.parametrize("variant", ["acc-eq", "tau-eq"])
def test_tie_calibration_equals_exhaustive_search(variant):
    rng = np.random.default_rng(7)
    for _ in range(25):
        n, s = rng.integers(2, 7), rng.integers(2, 6)
        human = rng.integers(0, 3, (n, s)).astype(float)
        metric = np.round(rng.normal(size=(n, s)), 1)
        human[rng.random((n, s)) < 0.2] = np.nan  # unrated
        value, eps = st.tie_calibrated(st.ItemPairs.build(human, metric), variant)
        expected = _acc_eq_by_loops(human, metric, variant)
        assert value[0] == pytest.approx(expected[0], abs=1e-12) and eps[0] == expected[1]


def test_bootstrap_counts_equal_duplicated_segments():
    """Weighting segments by their bootstrap counts is the same as repeating them (epsilon re-optimised)."""
    rng = np.random.default_rng(3)
    human = rng.integers(0, 4, (12, 5)).astype(float)
    metric = rng.normal(size=(12, 5))
    counts = rng.multinomial(12, [1 / 12] * 12, size=6).astype(float)
    pairs = st.ItemPairs.build(human, metric)
    values, eps = st.tie_calibrated(pairs, "acc-eq", counts)
    means = st.item_mean(st.tau_b_per_item(pairs), counts)
    for b in range(6):
        rows = np.repeat(np.arange(12), counts[b].astype(int))
        dup = st.ItemPairs.build(human[rows], metric[rows])
        v, e = st.tie_calibrated(dup, "acc-eq")
        assert values[b] == pytest.approx(v[0], abs=1e-12) and eps[b] == e[0]
        assert means[b] == pytest.approx(st.item_mean(st.tau_b_per_item(dup))[0])


def test_paired_pvalue_is_centred_and_one_sided():
    a = np.array([0.9, 0.8, 0.85, 0.95])
    b = np.array([0.7, 0.75, 0.72, 0.69])
    # delta = .1; centred differences (d - .1): .1, -.05, .03, .16 -> two of four >= .1
    assert st.paired_pvalue(a, b, 0.9, 0.8) == pytest.approx(3 / 5)
    # delta = -.1; centred: -.1, .05, -.03, -.16 -> three of four >= -.1
    assert st.paired_pvalue(b, a, 0.8, 0.9) == pytest.approx(4 / 5)


# --- the WMT23 figures, from the files --------------------------------------------------------------

def _independent_pairwise_accuracy(root: Path, base: str) -> tuple[int, int]:
    """Count agreeing system pairs straight from the text files, without evalkit's readers."""
    agree = total = 0
    for lp in LPS:
        human = dict(line.split("\t") for line in (root / "human-scores" / f"{lp}.mqm.sys.score").read_text().splitlines())
        metric_file = root / "metric-scores" / lp / f"{base}-{STD[lp]}.sys.score"
        metric = dict(line.split("\t") for line in metric_file.read_text().splitlines())
        systems = sorted(s for s in human if s != STD[lp] and human[s] != "None")
        for a, b in itertools.combinations(systems, 2):
            dh = float(human[a]) - float(human[b])
            dm = float(metric[a]) - float(metric[b])
            agree += (dh > 0) == (dm > 0) and (dh < 0) == (dm < 0)
            total += 1
    return agree, total


def test_official_pairwise_accuracy_reproduces_wmt23(wmt23, tmp_path):
    res = run_metaeval(wmt23, LPS, metrics=[], official=["BLEU", "chrF", "COMET"], n_bootstrap=0, cache_dir=None)
    expected = {"BLEU": 0.815, "chrF": 0.795, "COMET": 0.900}
    for base, rounded in expected.items():
        value, _ = res.overall(f"official:{base}", "pairwise_accuracy")
        agree, total = _independent_pairwise_accuracy(wmt23, base)
        assert total == 249
        assert value == agree / total
        assert round(value, 3) == rounded
    assert {lp: len(d.systems) for lp, d in res.data.items()} == {"zh-en": 15, "he-en": 13, "en-de": 12}
    assert "refA" in res.data["he-en"].systems and "refA" not in res.data["zh-en"].systems
    assert "synthetic_ref" not in res.data["zh-en"].systems


def test_own_bleu_chrf_equal_official_files(wmt23, tmp_path):
    """he-en (13 systems incl. refA, against refB): evalkit's BLEU/chrF are the official scores, so the
    accuracies, Pearson and segment statistics are identical; a second run comes from the cache."""
    kw = dict(metrics=["bleu", "chrf"], official=["BLEU", "chrF"], n_bootstrap=100, cache_dir=tmp_path)
    res = run_metaeval(wmt23, ["he-en"], **kw)
    for own, official in (("bleu", "official:BLEU"), ("chrf", "official:chrF")):
        np.testing.assert_allclose(res.metrics[own]["he-en"].sys, res.metrics[official]["he-en"].sys, rtol=1e-12)
        np.testing.assert_allclose(res.metrics[own]["he-en"].seg, res.metrics[official]["he-en"].seg, rtol=1e-9)
        a, b = res.stats[own]["he-en"], res.stats[official]["he-en"]
        assert (a.agree, a.n_pairs) == (b.agree, b.n_pairs)
        assert a.pearson == pytest.approx(b.pearson, abs=1e-12)
        assert a.seg == pytest.approx(b.seg, abs=1e-12)
    assert res.stats["bleu"]["he-en"].agree == 62 and res.stats["chrf"]["he-en"].agree == 64
    lo, hi = res.ci(res.overall("bleu", "pairwise_accuracy")[1])
    assert lo <= 62 / 78 <= hi
    again = run_metaeval(wmt23, ["he-en"], **kw)
    assert again.timings["cache_hits"] == 26 and again.timings["cache_misses"] == 0
    assert again.stats["bleu"]["he-en"].seg == res.stats["bleu"]["he-en"].seg


def test_cli_json_plot_and_compare(wmt23, tmp_path, capsys):
    out, svg = tmp_path / "me.json", tmp_path / "me.svg"
    rc = main(["metaeval", "--data", str(wmt23), "--lp", "en-de", "--official", "COMET,BLEU", "--n-bootstrap", "100",
               "--format", "json", "-o", str(out), "--plot", str(svg), "--no-cache"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "evalkit.metaeval/1" and doc["n_pairs"] == 66
    comet = doc["metrics"]["official:COMET"]
    assert comet["per_lp"]["en-de"]["agreeing_pairs"] == 64 and comet["pairwise_accuracy"] == 64 / 66
    assert comet["per_lp"]["en-de"]["label"] == "COMET-refA"
    for key in ("pairwise_accuracy_ci", "pearson", "seg_tau", "seg_tau_ci", "seg_tau_epsilon", "seg_tau_b"):
        assert comet.get(key) is not None or comet["per_lp"]["en-de"].get(key) is not None
    assert 0 <= doc["significance"]["pairwise_accuracy"]["official:COMET"]["official:BLEU"] <= 1
    text = svg.read_text()
    assert text.startswith("<svg") and text.count('class="system"') == 2 * 12
    rc = main(["metaeval", "--data", str(wmt23), "--lp", "en-de", "--official", "COMET,BLEU", "--n-bootstrap", "50",
               "--compare", "COMET", "BLEU", "--no-cache"])
    assert rc == 0
    assert "Is official:COMET better than official:BLEU on pairwise_accuracy?" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--lp", "xx-yy"], "no language pair 'xx-yy'"),
    (["--lp", "he-en", "--human", "da-sqm"], "no 'da-sqm' human scores for he-en"),
    (["--lp", "en-de", "--official", "COMETT"], "did you mean COMET"),
    (["--lp", "en-de", "--plot", "x.png"], "ending in .svg"),
    (["--lp", "en-de", "--official", "BLEU", "--compare", "BLEU", "nope"], "no metric 'nope'"),
])
def test_cli_bad_input_is_one_line(wmt23, capsys, argv, message):
    assert main(["metaeval", "--data", str(wmt23), "--no-cache", "--n-bootstrap", "0", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_unknown_folder_is_an_input_error(tmp_path, capsys):
    assert main(["metaeval", "--data", str(tmp_path)]) == 2
    assert "not a WMT data folder" in capsys.readouterr().err


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    from evalkit.metaeval.cache import StatsCache

    cache = StatsCache(tmp_path)
    key = StatsCache.key("xx-yy", "sys", "sig", "digest")
    cache.store("xx-yy", "bleu", "sys/1", key, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(cache.load("xx-yy", "bleu", "sys/1", key), np.arange(6.0).reshape(3, 2))
    path = next(tmp_path.rglob("*.npz"))
    path.write_bytes(b"not a zip")
    assert cache.load("xx-yy", "bleu", "sys/1", key) is None
    assert cache.load("xx-yy", "bleu", "sys/1", StatsCache.key("xx-yy", "sys", "other sig", "digest")) is None


# --- WMT22 DA and WMT24 ranking readers on the real files ----------------------------------------------

def test_wmt22_da_reader():
    from evalkit.io.judgments import da_table, find_da_file, read_da_seg_scores, read_da_sys_scores

    root = require(WMT22)
    seg = read_da_seg_scores(find_da_file(root, "zh-en", "seg"))
    sys_scores = read_da_sys_scores(find_da_file(root, "zh-en", "sys"))
    assert len(seg) == 20820 and min(s.sid for s in seg) == 1 and max(s.sid for s in seg) == 1875
    assert "HUMAN-B" in sys_scores and "JDExploreAcademy" in sys_scores and len(sys_scores) == 13
    table = da_table(seg, 1875)
    for name, (raw, z, n) in sys_scores.items():
        rated = [v for v in table[name] if v is not None]
        assert len(rated) == n
        assert sum(rated) / n == pytest.approx(z, abs=1e-12)  # a system's DA is its segment mean


def test_wmt22_metaeval_against_da():
    root = require(WMT22)
    res = run_metaeval(root, ["zh-en"], metrics=[], official=["bleu", "COMET"], n_bootstrap=0, cache_dir=None)
    d = res.data["zh-en"]
    assert d.human_kind == "da" and len(d.systems) == 12 and "HUMAN-B" not in d.systems
    assert any("HUMAN-B" in n and "bleu-A" in n for n in res.notes)
    # independent count from the two files
    da = {}
    for line in (root / "humaneval/DA/newstest2022-toen/ad-sys-scores-zh-en.csv").read_text().splitlines()[1:]:
        raw, z, _n, name, _all = line.split()
        da[name.rsplit(".", 1)[0]] = float(z)
    bleu = {}
    for line in (root / "scores/automatic-scores.tsv").read_text().splitlines()[1:]:
        pair, system, _id, _c, metric, score = line.split("\t")
        if pair == "zh-en" and metric == "bleu-A":
            bleu[system] = float(score)
    pairs = list(itertools.combinations(sorted(bleu), 2))
    agree = sum((da[a] - da[b] > 0) == (bleu[a] - bleu[b] > 0) for a, b in pairs)
    assert res.stats["official:bleu"]["zh-en"].agree == agree and len(pairs) == 66


def test_wmt24_ranking_reader_and_source():
    from evalkit.io.judgments import read_human_ranking
    from evalkit.metaeval.sources import open_source

    root = require(WMT24)
    ranking = read_human_ranking(root / "humeval" / "generated_human_ranking.tex")
    es = ranking["en-es"]
    assert len(es) == 14 and es[0].name == "HUMAN-A" and es[0].human == 95.3 and es[0].autorank is None
    assert [r.cluster for r in es] == [1, 2, 3, 4, 5, 5, 5, 5, 5, 6, 7, 7, 8, 9]
    llama = next(r for r in es if r.name == "Llama3-70B")
    assert (llama.rank_low, llama.rank_high, llama.track) == (10, 10, "open")
    assert any(r.name == "DLUT_GTCOM" for r in ranking["ja-zh"])
    src = open_source(root)
    assert src.language_pairs() == ["en-es"] and src.segments("en-es")[0] == 1
    assert len(src.segments("en-es")) == 997  # the canary line is not scored
