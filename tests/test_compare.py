"""``evalkit compare``: ranking against WMT23's official scores, clusters against p-values, CLI and outputs."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from conftest import WMT23, require

import evalkit
from evalkit.cli import main
from evalkit.comparison import Comparison, span_error_rates
from evalkit.io.wmt import WMTLayout
from evalkit.report.compare_html import render_page, render_section
from evalkit.report.latex import compare_table, escape
from evalkit.stats.clusters import clusters, cut_points

WORDS = ("the committee said on monday that new rules for river water quality would be published "
         "after a long review of farming data from three regions").split()


def synthetic() -> tuple[list[str], dict[str, list[str]]]:
    """40 reference sentences and three systems of clearly different quality (exact / light / heavy damage)."""
    rng = np.random.default_rng(0)
    refs = [" ".join(rng.choice(WORDS, size=int(rng.integers(6, 14)))) for _ in range(40)]
    good = list(refs)
    for i in range(0, 40, 5):
        good[i] = " ".join(refs[i].split()[:-1])
    mid = [" ".join(w for j, w in enumerate(r.split()) if j % 3 != 1) for r in refs]
    bad = [" ".join(reversed(r.split()[: len(r.split()) // 2])) for r in refs]
    return refs, {"good": good, "mid": mid, "bad_sys": bad}


@pytest.fixture
def files(tmp_path: Path) -> tuple[list[Path], Path]:
    refs, systems = synthetic()
    paths = []
    for name, hyps in systems.items():
        p = tmp_path / f"{name}.txt"
        p.write_text("\n".join(hyps) + "\n", encoding="utf-8")
        paths.append(p)
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    return paths, ref


def assert_clusters_consistent(c: Comparison) -> None:
    """Every system in a higher cluster is significantly better than every one below (consistency), and
    wherever no line is drawn some pair across it is not (maximality)."""
    alpha = c.settings["alpha"]
    for cs in c.clusters:
        higher = c.metrics[cs.metric].higher_is_better
        ranked = [s.name for s in c.ranked(cs.metric)]
        assert [n for g in cs.groups for n in g] == ranked

        def sig_better(a: str, b: str) -> bool:
            p = c.pair(a, b, cs.metric, cs.test)
            return p.p_corrected < alpha and (p.delta > 0 if higher else p.delta < 0)

        for gi, group in enumerate(cs.groups):
            for lower in cs.groups[gi + 1:]:
                assert all(sig_better(a, b) for a in group for b in lower), (cs.metric, group, lower)
        for pos in range(len(ranked) - 1):
            if not any(ranked[pos] == g[-1] for g in cs.groups[:-1]):
                above, below = ranked[: pos + 1], ranked[pos + 1:]
                assert not all(sig_better(a, b) for a in above for b in below), (cs.metric, pos)


@pytest.fixture(scope="module")
def wmt23_zh_en():
    layout = WMTLayout(require(WMT23))
    systems = layout.system_outputs("zh-en")
    c = evalkit.compare(systems, [layout.reference("zh-en")], metrics=["bleu", "chrf"])
    return layout, systems, c


def test_wmt23_ranking_equals_official_scores(wmt23_zh_en):
    layout, systems, c = wmt23_zh_en
    for metric, official_name in (("bleu", "BLEU"), ("chrf", "chrF")):
        official = layout.metric_scores("zh-en", layout.resolve_metric("zh-en", official_name))
        expected = sorted(systems, key=lambda n: -official[n])
        assert [s.name for s in c.ranked(metric)] == expected
        for s in c.systems:
            assert s.metrics[metric].score == pytest.approx(official[s.name], abs=1e-6)
            lo, hi = s.metrics[metric].ci
            assert lo <= s.metrics[metric].mean <= hi


def test_wmt23_clusters_consistent_with_pvalues(wmt23_zh_en):
    _, systems, c = wmt23_zh_en
    n_pairs = len(systems) * (len(systems) - 1) // 2
    assert len(c.pairs) == 2 * n_pairs  # two metrics, bootstrap only
    assert c.settings["n_bootstrap"] >= 2 * n_pairs / 0.05  # enough resolution for Holm over all pairs
    assert all(len(cs.groups) > 1 for cs in c.clusters)
    assert_clusters_consistent(c)


def test_cluster_rule_by_hand():
    # A > C, A > D, B > D significant; B~C, A~B, C~D not: only the line after B? No: A>C but B~C.
    # Lines: after A needs A>B (no); after B needs A>C, A>D, B>C (no); after C needs A>D, B>D, C>D (no).
    better = np.zeros((4, 4), dtype=bool)
    better[0, 2] = better[0, 3] = better[1, 3] = True
    assert cut_points(better) == []
    better[2, 3] = True
    assert clusters(["A", "B", "C", "D"], better) == [["A", "B", "C"], ["D"]]
    assert clusters(["A"], np.zeros((1, 1), dtype=bool)) == [["A"]]


def test_synthetic_compare_clusters_and_win_tie_loss(files):
    refs, systems = synthetic()
    c = evalkit.compare(systems, [refs], metrics=["bleu", "chrf", "ter"], test="both", n=2000)
    assert_clusters_consistent(c)
    assert [s.name for s in c.ranked("bleu")] == ["good", "mid", "bad_sys"]
    # Segment outcomes against sacrebleu's own sentence BLEU.
    sb = [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(systems["good"], refs)]
    sm = [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(systems["mid"], refs)]
    p = c.pair("good", "mid", "bleu", "bootstrap")
    assert (p.wins, p.ties, p.losses) == (sum(x > y + 1e-9 for x, y in zip(sb, sm)),
                                         sum(abs(x - y) <= 1e-9 for x, y in zip(sb, sm)),
                                         sum(y > x + 1e-9 for x, y in zip(sb, sm)))
    assert p.delta == pytest.approx(sacrebleu.corpus_bleu(systems["good"], [refs]).score
                                    - sacrebleu.corpus_bleu(systems["mid"], [refs]).score)
    # TER: lower is better, so "good" wins segments where its TER is lower.
    t = c.pair("good", "mid", "ter", "ar")
    assert t.delta < 0 and t.wins > t.losses
    assert c.pair("mid", "good", "ter", "ar").wins == t.losses


def test_cli_json_shape(files, tmp_path):
    paths, ref = files
    out = tmp_path / "cmp.json"
    rc = main(["compare", "-t", *map(str, paths), "-r", str(ref), "-m", "bleu", "chrf", "--test", "both",
               "--n", "500", "--format", "json", "-o", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "evalkit.compare/1"
    assert [s["name"] for s in data["systems"]] == ["good", "mid", "bad_sys"]
    for s in data["systems"]:
        for m in ("bleu", "chrf"):
            ms = s["metrics"][m]
            assert set(ms) >= {"score", "mean", "ci", "ci_half_width", "rank", "cluster"}
            assert ms["ci"][0] <= ms["mean"] <= ms["ci"][1]
    assert len(data["pairs"]) == 3 * 2 * 2  # pairs x metrics x tests
    for p in data["pairs"]:
        assert set(p) >= {"a", "b", "metric", "test", "p_value", "p_corrected", "delta", "wins", "ties", "losses"}
        assert p["test"] in ("bootstrap", "ar") and p["p_value"] <= p["p_corrected"] <= 1.0
        assert p["n_samples"] == 500
    assert {(c["metric"], c["test"]) for c in data["clusters"]} == {("bleu", "bootstrap"), ("chrf", "bootstrap")}
    assert data["settings"]["seed"] == 12345 and data["settings"]["correction"] == "holm"


def test_cli_baseline_by_path_and_errors(files, tmp_path, capsys):
    paths, ref = files
    out = tmp_path / "b.json"
    assert main(["compare", "-t", *map(str, paths), "-r", str(ref), "-m", "bleu", "--baseline", str(paths[1]),
                 "--format", "json", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {(p["a"], p["b"]) for p in data["pairs"]} == {("good", "mid"), ("bad_sys", "mid")}
    assert data["clusters"] == [] and data["settings"]["baseline"] == "mid"
    capsys.readouterr()
    assert main(["compare", "-t", *map(str, paths), "-r", str(ref), "--baseline", "midd"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'mid'" in err[0]
    assert main(["compare", "-t", str(paths[0]), "-r", str(ref)]) == 2
    assert "at least two systems" in capsys.readouterr().err
    assert main(["compare", "-t", *map(str, paths), "-r", str(ref), "--seed", "-3"]) == 2
    assert main(["compare", "-t", *map(str, paths), "-r", str(ref), "--n", "1"]) == 2
    assert "--seed" in capsys.readouterr().err


def test_cli_text_and_config(files, tmp_path, capsys):
    paths, ref = files
    conf = tmp_path / "cmp.toml"
    conf.write_text(f'[compare]\nhyp = {json.dumps([str(p) for p in paths])}\nref = ["{ref}"]\n'
                    'metrics = ["bleu"]\ntest = "ar"\nn = 300\n', encoding="utf-8")
    assert main(["compare", "--config", str(conf), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["tests"] == ["ar"] and data["settings"]["n_ar"] == 300
    assert main(["compare", "--config", str(conf)]) == 0
    text = capsys.readouterr().out
    assert "BLEU" in text and "cluster" in text and "good" in text


def test_latex_table(files):
    refs, systems = synthetic()
    systems = {"sys_1 & co": systems["good"], "100%$#": systems["mid"], "x": systems["bad_sys"]}
    c = evalkit.compare(systems, [refs], metrics=["bleu", "ter"], n=1000)
    tex = compare_table(c)
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"sys\_1 \& co" in tex and r"100\%\$\#" in tex and "sys_1 &" not in tex
    assert escape(r"a\b~^{}") == r"a\textbackslash{}b\textasciitilde{}\textasciicircum{}\{\}"
    rows = [line for line in tex.splitlines() if line.endswith(r"\\") and "System" not in line]
    assert len(rows) == 3


def test_html_page_and_section(files):
    refs, systems = synthetic()
    systems = {"<b>bold</b>": systems["good"], "mid": systems["mid"], "bad": systems["bad_sys"]}
    c = evalkit.compare(systems, [refs], metrics=["bleu", "chrf"], n=1000)
    page = render_page(c)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("<svg") >= 4  # a heatmap and a CI plot per metric
    assert "Content-Security-Policy" in page
    section = str(render_section(c))
    assert section.startswith("\n<section") or section.lstrip().startswith("<section")
    assert section.count("<circle") == 2 * 3  # one dot per system per metric
    # 3x3 heatmap per metric, plus one legend swatch per p-value band
    assert section.count("<rect x=") >= 2 * 9


def test_span_error_rates_by_hand():
    rates = span_error_rates(["major", "minor", "major", "critical"], 200)
    assert rates == {"minor": 0.5, "major": 1.0, "critical": 0.5, "all": 2.0}
    assert span_error_rates([], 0) == {}


@pytest.mark.skipif(importlib.util.find_spec("evalkit.spans.pipeline") is None, reason="span pipeline not installed")
def test_compare_with_post_edit_spans():
    hyps_a = ["the cat sat on the mat today", "a dog barked loudly"]
    hyps_b = ["the cat sit in mat", "a dog barked loudly"]
    refs = [["the cat sat on the mat today", "a dog barked loudly"]]
    c = evalkit.compare({"A": hyps_a, "B": hyps_b}, refs, metrics=["bleu"], spans="post-edit", n=200)
    a, b = c.system("A"), c.system("B")
    assert a.words == 11 and b.words == 9
    assert a.span_error_rates is not None and a.span_error_rates["all"] == 0.0
    assert b.span_error_rates is not None and b.span_error_rates["all"] > 0.0


def test_segment_score_metric_goes_through_the_same_engine():
    """Neural metrics are SegmentScoreMetrics (rows [score, 1]): compare treats them like any other metric."""
    from evalkit.metrics.base import SegmentScoreMetric
    from evalkit.stats.significance import PairedTests
    from evalkit.stats.table import compute_table
    from evalkit.testset import TestSet

    class Length(SegmentScoreMetric):
        name = "len"
        display = "len"

        def signature(self, bootstrap=None) -> str:
            return "len"

        def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
            return np.array([len(h.split()) / 20.0 for h in hyps])

    refs, systems = synthetic()
    ts = TestSet(refs=[refs], systems=dict(systems))
    table = compute_table(ts, {"len": Length()}, workers=1)
    c = evalkit.compare(testset=ts, table=table, test="both", n=3000)
    assert c.decimals("len") == 4
    for s in c.systems:
        assert s.metrics["len"].score == pytest.approx(np.mean([len(h.split()) / 20.0 for h in systems[s.name]]))
    engine = PairedTests(table.metrics, table.stats, list(systems), n_bootstrap=3000, n_ar=3000)
    pairs = [(p.a, p.b) for p in c.pairs if p.test == "ar"]
    assert [p.p_value for p in c.pairs if p.test == "ar"] == pytest.approx(list(engine.ar("len", pairs)))
    assert_clusters_consistent(c)
