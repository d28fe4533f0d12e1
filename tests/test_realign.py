"""Realignment: optimal by brute force on small cases, and recovering real segmentations.

The real-data checks take WMT23 system outputs, merge and split their lines at random (a document
segmented differently), realign them to the reference, and count the lines recovered exactly.
Against an independent reference the boundary words of a free translation are sometimes assigned
to the neighbouring segment, so the floors below are the measured rates minus a margin
(measured: he-en 0.95, zh-en 0.91-0.95, en-de 0.92-0.98).
"""
from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from evalkit.io.loader import load_testset
from evalkit.io.realign import cut_costs, cut_points, realign
from evalkit.io.wmt import WMTLayout

SEED = ROOT / "seeds" / "000_2179a3658f654c48.txt"
REFERENCE = ROOT / "references" / "000_2179a3658f654c48.txt"


def _lev(a: list[str], b: list[str]) -> int:
    """Levenshtein distance where a punctuation mark never substitutes for a word."""
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[:], i
        for j, y in enumerate(b, 1):
            sub = 0 if x == y else (1 if x.isalnum() == y.isalnum() else 2)
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + sub)
    return d[-1]


def _total(hyp: list[str], segs: list[list[str]], cuts: list[int], pen: np.ndarray) -> float:
    b = [0, *cuts, len(hyp)]
    return sum(_lev(hyp[b[k]:b[k + 1]], s) for k, s in enumerate(segs)) + sum(pen[c] for c in cuts)


def test_cut_points_are_optimal_by_brute_force() -> None:
    """The banded DP finds the minimum of summed Levenshtein distances plus cut costs."""
    rng = random.Random(1)
    for _ in range(300):
        hyp = [rng.choice("abcd.") for _ in range(rng.randint(0, 9))]
        segs = [[rng.choice("abcd.") for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 4))]
        pen = np.array([rng.choice([0, 0.5, 1.5, 3]) for _ in range(len(hyp) + 1)])
        cuts = cut_points(hyp, segs, band=50, cut_cost=pen)
        best = min(_total(hyp, segs, list(c), pen)
                   for c in itertools.combinations_with_replacement(range(len(hyp) + 1), len(segs) - 1))
        assert cuts == sorted(cuts) and len(cuts) == len(segs) - 1
        assert _total(hyp, segs, cuts, pen) == pytest.approx(best)


def test_narrow_band_still_gives_valid_cuts() -> None:
    rng = random.Random(2)
    for _ in range(200):
        hyp = [rng.choice("abc") for _ in range(rng.randint(0, 30))]
        segs = [[rng.choice("abc") for _ in range(rng.randint(1, 5))] for _ in range(rng.randint(1, 8))]
        cuts = cut_points(hyp, segs, band=rng.choice([1, 2, 3]))
        assert cuts == sorted(cuts) and len(cuts) == len(segs) - 1
        assert all(0 <= c <= len(hyp) for c in cuts)


def test_small_examples() -> None:
    assert realign(["Hello world. How are", "you?"], ["hello world", "how are you"]) == ["Hello world.", "How are you?"]
    assert realign(["x a b c d e f y"], ["a b", "c d", "e f"], cut_penalty=0) == ["x a b", "c d", "e f y"]
    assert realign([""], ["a b", "c d"]) == ["", ""]
    assert realign(["a b"], ["", "a", "", "b", ""], cut_penalty=0) == ["", "a", "", "b", ""]
    # A detached bracket or quote goes with the segment whose reference has it.
    assert realign(["Okay, danke. ( PERSON1) Aber nein."], ["Okay, danke.", "(PERSON1) Aber nein."]) == [
        "Okay, danke.", "( PERSON1) Aber nein."]
    assert realign(['Es ist schlecht. " Ein gutes Spiel. “'], ["Es ist schlecht.", "„Ein gutes Spiel.“"]) == [
        "Es ist schlecht.", '" Ein gutes Spiel. “']
    # CJK text is matched character by character and cut after 。
    assert realign(["美国确认。朝鲜军队在俄罗斯。"], ["美国确认。", "朝鲜军队在俄罗斯。"]) == ["美国确认。", "朝鲜军队在俄罗斯。"]


def test_cut_costs() -> None:
    words = ["It", "ended.", "“", "Then", "he", "left", "Paris", "(AFP).", "Done"]
    # Free at the ends, after "ended." on either side of the detached quote, and after "(AFP).";
    # half price before a capitalised word ("Paris", "(AFP)."); full price before a lower-case one.
    assert cut_costs(words, 5.0, 0.5).tolist() == pytest.approx([0, 5, 0, 0, 5, 5, 2.5, 2.5, 0, 0], abs=0.01)
    # Ties are broken so that a stray period stays with the sentence before it.
    stray = cut_costs(["bases.", ".", "Information"], 5.0, 0.5)
    assert stray[1] > stray[2] == 0


def _reseg(lines: list[str], rng: random.Random) -> list[str]:
    """Merge runs of 1-3 lines and split some at a random space."""
    merged, i = [], 0
    while i < len(lines):
        k = rng.choice([1, 1, 1, 2, 3])
        merged.append(" ".join(lines[i:i + k]))
        i += k
    out = []
    for s in merged:
        w = s.split()
        if len(w) > 6 and rng.random() < 0.3:
            c = rng.randint(1, len(w) - 1)
            out += [" ".join(w[:c]), " ".join(w[c:])]
        else:
            out.append(s)
    return out


def _recovered(got: list[str], want: list[str]) -> float:
    return sum(" ".join(g.split()) == " ".join(w.split()) for g, w in zip(got, want)) / len(want)


@pytest.mark.parametrize(
    "lp, start, stop, systems, floor",
    [
        ("he-en", 0, None, ["GPT4-5shot"], 0.92),  # the whole 1,910-segment test set as one document
        ("zh-en", 1000, 1300, ["ANVITA", "HW-TSC", "ONLINE-B"], 0.88),
        ("en-de", 300, 400, ["AIRC", "ONLINE-A", "ZengHuiMT"], 0.85),  # paragraphs of several sentences
    ],
)
def test_recovers_wmt23_segmentation(wmt23: Path, lp: str, start: int, stop: int | None, systems: list[str],
                                     floor: float) -> None:
    layout = WMTLayout(wmt23)
    ref = layout.reference(lp)[start:stop]
    for name in systems:
        hyp = layout.system_output(lp, name)[start:stop]
        shuffled = _reseg(hyp, random.Random(7))
        assert len(shuffled) != len(hyp)
        t0 = time.perf_counter()
        got = realign(shuffled, ref)
        elapsed = time.perf_counter() - t0
        assert len(got) == len(ref)
        assert " ".join(got).split() == " ".join(hyp).split()  # every word once, in order
        rate = _recovered(got, hyp)
        assert rate >= floor, f"{lp} {name}: {rate:.3f} of segments recovered (floor {floor})"
        assert elapsed < 60, f"{lp} {name}: realignment took {elapsed:.1f}s"


def test_recovers_own_segmentation(wmt23: Path) -> None:
    """Realigned to its own original lines, a system output gets (almost) all of them back."""
    hyp = WMTLayout(wmt23).system_output("zh-en", "ONLINE-A")[1000:1300]
    got = realign(_reseg(hyp, random.Random(3)), hyp)
    assert " ".join(got).split() == " ".join(hyp).split()
    assert _recovered(got, hyp) >= 0.95


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_document_paragraph_realigned_when_sentences_differ(tmp_path: Path) -> None:
    """Two sentences of one paragraph joined by a semicolon: only that paragraph is re-cut, at the
    semicolon, where the reference has its sentence end."""
    text = SEED.read_text(encoding="utf-8")
    joined = text.replace("sent to Russian territory. Both Russia", "sent to Russian territory; both Russia")
    assert joined != text
    hyp = _write(tmp_path / "mt.txt", joined)
    ts = load_testset([hyp], [REFERENCE], input_format="document")
    segs = ts.systems["mt"]
    assert len(segs) == len(ts.refs[0]) == 33
    i = next(k for k, s in enumerate(segs) if s.startswith("In total, according to Seoul"))
    assert segs[i].endswith("more than eight million artillery shells and rockets have been sent to Russian territory;")
    assert segs[i + 1] == "both Russia and North Korea deny involvement in arms transfers."
    assert any("paragraph(s) 23 split into sentences differently" in n for n in ts.notes)
    untouched = load_testset([SEED], [REFERENCE], input_format="document")
    assert [s for k, s in enumerate(segs) if k not in (i, i + 1)] == [
        s for k, s in enumerate(untouched.systems["000_2179a3658f654c48"]) if k not in (i, i + 1)]


def test_document_realigned_whole_when_paragraphs_differ(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    merged = text.replace(
        "drones and that it is recruiting a large number of interpreters before the language barrier.\n\n",
        "drones and that it is recruiting a large number of interpreters before the language barrier. ")
    assert merged != text
    hyp = _write(tmp_path / "mt.txt", merged)
    ts = load_testset([hyp], [REFERENCE], input_format="document")
    segs = ts.systems["mt"]
    assert len(segs) == 33
    assert any("resegmented to the reference's 33 by minimum edit distance (the paragraphs differ)" in n
               for n in ts.notes)
    original = load_testset([SEED], [REFERENCE], input_format="document").systems["000_2179a3658f654c48"]
    assert segs == original


def test_every_word_kept_on_random_texts() -> None:
    """Whatever the lengths and vocabularies, the output is the hypothesis words, in order, cut in place
    (between whitespace-separated words; CJK characters are words of their own)."""
    rng = random.Random(5)
    vocab = ["the", "The", "man.", "dog", "bit", "(it)", "“Yes”,", "—", ".", "Paris", "did?", "美国", "。"]
    for _ in range(150):
        words = vocab[:11] if rng.random() < 0.5 else vocab
        hyp = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 6))]
        ref = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 9))]
        got = realign(hyp, ref, band=rng.choice([2, 5, 300]))
        assert len(got) == len(ref)
        assert all(g == g.strip() for g in got)
        assert "".join("".join(got).split()) == "".join("".join(hyp).split())
        if words is not vocab:
            assert " ".join(got).split() == " ".join(hyp).split()
