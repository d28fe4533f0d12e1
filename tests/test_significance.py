"""The significance engine: sacrebleu's paired bootstrap and AR p-values on its WMT17 vectors, Holm, edge cases.

Expected p-values come from two independent places: sacrebleu 2.6.0's own ``PairedTest`` run on the same
16 systems (BLEU, tokenize none, baseline LIUM-NMT, SACREBLEU_SEED 12345; recorded once, below), which
must be reproduced exactly, and the Moses / multeval values sacrebleu's test suite checks against
(``test/test_significance.py``, within 0.01 as there), read from the shared test vectors.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA, require

from evalkit.api import build_metrics
from evalkit.metrics.base import SegmentScoreMetric
from evalkit.stats.multiple import holm
from evalkit.stats.resample import interval
from evalkit.stats.significance import PairedTests, SwapMatrix, env_seed, p_values
from evalkit.stats.table import compute_table
from evalkit.testset import TestSet

BASELINE = "newstest2017.LIUM-NMT.4900.en-de"

# sacrebleu 2.6.0 PairedTest(..., test_type='bs', n_samples=2000) and ('ar', 10000): p-values and, for the
# bootstrap, the system's resampled mean and CI half-width (sacrebleu's estimate_ci).
SACREBLEU_BS2000 = {
    "C-3MA.4959": (0.0004997501249375312, 17.726357473399474, 0.5837132699663847),
    "FBK.4870": (0.018490754622688656, 21.147376377751797, 0.635650381738019),
    "KIT.4950": (0.02448775612193903, 21.159132911509136, 0.6390758557940401),
    "LMU-nmt-reranked.4934": (0.050974512743628186, 21.976447657433926, 0.6282014045869477),
    "LMU-nmt-single.4893": (0.2098950524737631, 21.503381514796384, 0.6338975815764396),
    "PROMT-Rule-based.4735": (0.0004997501249375312, 13.142374455397883, 0.48972399167166003),
    "RWTH-nmt-ensemble.4921": (0.009995002498750625, 21.116715408270412, 0.6107508122510321),
    "SYSTRAN.4847": (0.21239380309845077, 21.51114511816854, 0.6381820710855131),
    "TALP-UPC.4834": (0.0004997501249375312, 16.37174973811901, 0.5494726850418532),
    "online-A.0": (0.0004997501249375312, 16.01778777788801, 0.5550862282777329),
    "online-B.0": (0.38780609695152424, 21.594914712561856, 0.6474091021411397),
    "online-F.0": (0.0004997501249375312, 11.710698411342289, 0.4540480790157986),
    "online-G.0": (0.0004997501249375312, 13.275167447301552, 0.4984437282387244),
    "uedin-nmt.4722": (0.0004997501249375312, 23.40607233435494, 0.6761633618161902),
    "xmu.4910": (0.25987006496751625, 21.71080068339035, 0.6323499394557413),
}
SACREBLEU_BASELINE_BS2000 = (21.625595124374502, 0.6217002092830164)
SACREBLEU_AR10000 = {
    "C-3MA.4959": 9.999000099990002e-05,
    "FBK.4870": 0.0226977302269773,
    "KIT.4950": 0.043195680431956804,
    "LMU-nmt-reranked.4934": 0.08649135086491351,
    "LMU-nmt-single.4893": 0.5792420757924207,
    "PROMT-Rule-based.4735": 9.999000099990002e-05,
    "RWTH-nmt-ensemble.4921": 0.021597840215978402,
    "SYSTRAN.4847": 0.5941405859414058,
    "TALP-UPC.4834": 9.999000099990002e-05,
    "online-A.0": 9.999000099990002e-05,
    "online-B.0": 0.9358064193580642,
    "online-F.0": 9.999000099990002e-05,
    "online-G.0": 9.999000099990002e-05,
    "uedin-nmt.4722": 9.999000099990002e-05,
    "xmu.4910": 0.7097290270972902,
}


# sacrebleu 2.6.0 PairedTest on the first 300 segments, systems FBK and online-B against LIUM-NMT, BLEU
# (tokenize none), chrF and TER; AR with 2000 trials, bootstrap with 1000. TER's AR null has exact ties here.
SLICE = 300
SLICE_SYSTEMS = ["newstest2017.FBK.4870.en-de", "newstest2017.online-B.0.en-de"]
SACREBLEU_SLICE = {
    "ar": {"bleu": [0.7016491754122939, 0.5667166416791605], "chrf": [0.18490754622688654, 0.4892553723138431],
           "ter": [0.7066466766616691, 0.33933033483258374]},
    "bootstrap": {"bleu": [0.24175824175824176, 0.2017982017982018],
                  "chrf": [0.09290709290709291, 0.15884115884115885],
                  "ter": [0.25374625374625376, 0.1258741258741259]},
}


def _read(path: Path) -> list[str]:
    # sacrebleu's test reads its pickle of stripped lines; the shared text files hold the same lines.
    return [line.strip() for line in path.read_text(encoding="utf-8").split("\n")[:-1]]


@pytest.fixture(scope="module")
def wmt17(shared_data_dir: Path):
    vectors_dir = shared_data_dir / "sacrebleu-reference"
    folder = vectors_dir / "wmt17_en_de_systems_txt"
    names = sorted(p.name[:-4] for p in folder.glob("*.txt") if ".reference." not in p.name)
    names.remove(BASELINE)
    names = [BASELINE, *names]
    ts = TestSet(refs=[_read(folder / "newstest2017.reference.en-de.txt")],
                 systems={n: _read(folder / f"{n}.txt") for n in names})
    metrics = build_metrics(["bleu"], {"tokenize": "none"})
    table = compute_table(ts, metrics)
    vectors = json.loads((vectors_dir / "sacrebleu_test_vectors.json").read_text())["files"]["test/test_significance.py"]
    return names, table, vectors


@pytest.fixture(scope="module")
def shared_data_dir() -> Path:
    """../shared/data (or $EVALKIT_SHARED_DATA), skipping with the reason when absent (as conftest does)."""
    require(SHARED_DATA / "sacrebleu-reference" / "wmt17_en_de_systems_txt")
    return SHARED_DATA


def _short(name: str) -> str:
    return name.removeprefix("newstest2017.").removesuffix(".en-de")


def test_paired_bootstrap_reproduces_sacrebleu(wmt17):
    names, table, vectors = wmt17
    tests = PairedTests(table.metrics, table.stats, names, n_bootstrap=2000, seed=12345)
    pairs = [(n, BASELINE) for n in names[1:]]
    got = dict(zip(names[1:], tests.bootstrap("bleu", pairs)))
    assert len(got) == 15
    for name, p in got.items():
        expected_p, mean, half = SACREBLEU_BS2000[_short(name)]
        assert p == pytest.approx(expected_p, abs=1e-12), name
        assert abs(p - vectors["MOSES_P_VALS"][name]) < 1e-2, name  # sacrebleu's own acceptance criterion
    samples = tests.bootstrap_scores("bleu")
    # sacrebleu sums float32 statistics, so its resampled scores differ from ours in the 7th digit.
    for i, name in enumerate(names):
        iv = interval(samples[i], 12345)
        mean, half = SACREBLEU_BASELINE_BS2000 if i == 0 else SACREBLEU_BS2000[_short(name)][1:]
        assert iv.mean == pytest.approx(mean, abs=1e-4), name
        assert iv.half_width == pytest.approx(half, abs=1e-4), name


def test_paired_ar_reproduces_sacrebleu(wmt17):
    names, table, vectors = wmt17
    tests = PairedTests(table.metrics, table.stats, names, n_ar=10000, seed=12345)
    pairs = [(n, BASELINE) for n in names[1:]]
    got = dict(zip(names[1:], tests.ar("bleu", pairs)))
    for name, p in got.items():
        assert p == pytest.approx(SACREBLEU_AR10000[_short(name)], abs=1e-12), name
        assert abs(p - vectors["MULTEVAL_P_VALS"][name][0]) < 1e-2, name  # multeval's BLEU p-value
    # p-values do not depend on the order of a pair; every pair comes from the same shared trials.
    swapped = tests.ar("bleu", [(BASELINE, n) for n in names[1:4]])
    assert np.array_equal(swapped, tests.ar("bleu", pairs[:3]))


def test_ar_ter_agrees_with_multeval(wmt17, shared_data_dir):
    """multeval's second p-value is TER's (tercom); sacrebleu does not test it. The four systems whose TER
    p-values are not at the floor, against the baseline: within 0.01, sacrebleu's tolerance for BLEU."""
    names, _, vectors = wmt17
    folder = shared_data_dir / "sacrebleu-reference" / "wmt17_en_de_systems_txt"
    systems = [BASELINE, "newstest2017.FBK.4870.en-de", "newstest2017.LMU-nmt-single.4893.en-de",
               "newstest2017.RWTH-nmt-ensemble.4921.en-de", "newstest2017.online-B.0.en-de"]
    ts = TestSet(refs=[_read(folder / "newstest2017.reference.en-de.txt")],
                 systems={n: _read(folder / f"{n}.txt") for n in systems})
    table = compute_table(ts, build_metrics(["ter"]))
    tests = PairedTests(table.metrics, table.stats, systems, n_ar=10000)
    got = tests.ar("ter", [(n, BASELINE) for n in systems[1:]])
    for name, p in zip(systems[1:], got):
        assert abs(p - vectors["MULTEVAL_P_VALS"][name][1]) < 1e-2, name


def test_strict_ties_reproduce_sacrebleu_on_every_metric(shared_data_dir):
    folder = shared_data_dir / "sacrebleu-reference" / "wmt17_en_de_systems_txt"
    systems = [BASELINE, *SLICE_SYSTEMS]
    ts = TestSet(refs=[_read(folder / "newstest2017.reference.en-de.txt")[:SLICE]],
                 systems={n: _read(folder / f"{n}.txt")[:SLICE] for n in systems})
    sliced = compute_table(ts, build_metrics(["bleu", "chrf", "ter"], {"tokenize": "none"}), workers=1)
    pairs = [(n, BASELINE) for n in SLICE_SYSTEMS]
    strict = PairedTests(sliced.metrics, sliced.stats, systems, n_bootstrap=1000, n_ar=2000, ties="strict")
    inclusive = PairedTests(sliced.metrics, sliced.stats, systems, n_bootstrap=1000, n_ar=2000)
    for test, by_metric in SACREBLEU_SLICE.items():
        for metric, expected in by_metric.items():
            assert strict.run(test, metric, pairs) == pytest.approx(expected, abs=1e-12), (test, metric)
            assert np.all(inclusive.run(test, metric, pairs) >= strict.run(test, metric, pairs))
    # TER's AR null has exact ties, which the textbook rule counts and sacrebleu's does not.
    assert inclusive.ar("ter", pairs)[0] > strict.ar("ter", pairs)[0]


def test_holm_hand_computed():
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .02 .03 .06 .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([0.02]) == pytest.approx([0.02])
    assert holm([]).shape == (0,)


def test_p_value_definition_and_ties():
    null = np.array([[0.1, 0.5, 0.5, 0.9]])
    assert p_values(null, np.array([0.5]))[0] == pytest.approx((3 + 1) / 5)
    assert p_values(null, np.array([0.5]), "strict")[0] == pytest.approx((1 + 1) / 5)
    assert p_values(null, np.array([1.0]))[0] == pytest.approx(1 / 5)


class _Scores(SegmentScoreMetric):
    """A segment-score metric (as neural metrics are): the score is a number written in the hypothesis."""

    name = "num"
    display = "num"

    def signature(self, bootstrap=None) -> str:
        return "num"

    def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        return np.array([float(h) for h in hyps])


def _brute_force(a: np.ndarray, b: np.ndarray, n_boot: int, n_ar: int, seed: int) -> tuple[float, float]:
    """Loop-per-sample versions of both tests for mean-of-segment metrics, from the same draws."""
    obs = abs(a.mean() - b.mean())
    idx = np.random.default_rng(seed).choice(len(a), (n_boot, len(a)))
    d = np.array([abs(a[r].mean() - b[r].mean()) for r in idx])
    c = d - d.mean()
    p_bs = (np.sum(c >= obs - 1e-9) + 1) / (n_boot + 1)
    mask = np.random.default_rng(seed).integers(2, size=(n_ar, len(a)), dtype=bool)
    t = np.array([abs(np.where(m, b, a).mean() - np.where(m, a, b).mean()) for m in mask])
    p_ar = (np.sum(t >= obs - 1e-9) + 1) / (n_ar + 1)
    return p_bs, p_ar


def test_segment_score_metric_matches_brute_force():
    rng = np.random.default_rng(7)
    n = 60
    a, b = rng.normal(0.5, 0.2, n), rng.normal(0.45, 0.2, n)
    metric = _Scores()
    stats = {("A", "num"): metric.segment_stats([str(float(x)) for x in a], [], None),
             ("B", "num"): metric.segment_stats([str(float(x)) for x in b], [], None)}
    tests = PairedTests({"num": metric}, stats, ["A", "B"], n_bootstrap=500, n_ar=2000, seed=3)
    p_bs, p_ar = _brute_force(a, b, 500, 2000, 3)
    assert tests.bootstrap("num", [("A", "B")])[0] == pytest.approx(p_bs)
    assert tests.ar("num", [("A", "B")])[0] == pytest.approx(p_ar)
    assert 0.0 < p_ar < 1.0


def test_identical_systems_are_not_significant():
    metric = _Scores()
    x = [str(float(v)) for v in np.linspace(0, 1, 40)]
    stats = {(s, "num"): metric.segment_stats(x, [], None) for s in ("A", "B")}
    tests = PairedTests({"num": metric}, stats, ["A", "B"], n_bootstrap=200, n_ar=500)
    assert tests.bootstrap("num", [("A", "B")])[0] == 1.0
    assert tests.ar("num", [("A", "B")])[0] == 1.0
    # sacrebleu's strict '>' reports the smallest possible p-value for identical systems.
    strict = PairedTests({"num": metric}, stats, ["A", "B"], n_bootstrap=200, n_ar=500, ties="strict")
    assert strict.bootstrap("num", [("A", "B")])[0] == pytest.approx(1 / 201)
    assert strict.ar("num", [("A", "B")])[0] == pytest.approx(1 / 501)


def test_swap_products_in_blocks_equal_one_product():
    swaps = SwapMatrix(50, 300, seed=1, chunk=64)
    stats = np.random.default_rng(0).integers(0, 9, size=(50, 4)).astype(float)
    assert np.array_equal(swaps.products(stats), swaps.mask.astype(float) @ stats)


def test_env_seed(monkeypatch):
    monkeypatch.delenv("SACREBLEU_SEED", raising=False)
    assert env_seed() == 12345
    monkeypatch.setenv("SACREBLEU_SEED", "None")
    assert env_seed() is None
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    assert env_seed() == 7
