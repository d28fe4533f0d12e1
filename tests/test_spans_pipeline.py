"""align -> merge -> classify end to end: offsets, the seed's garbles, both modes, results and the CLI's config."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import evalkit
from conftest import ROOT, SHARED_DATA, require
from evalkit.errors import InputError
from evalkit.results import Span
from evalkit.spans.classify import count_spans, mqm_score
from evalkit.spans import pipeline
from evalkit.spans.pipeline import (
    ReferenceAnnotator,
    ReferenceSettings,
    annotate_testset,
    span_tokens,
    spans_post_edit,
)
from evalkit.testset import TestSet

# Raw sentences of seeds/000_2179a3658f654c48.txt with the team's corrections (references/).
SEED_GARBLES = [
    ("“What exactly are they doing? It remains visible. “These are things we have to solve,” he added.",
     "“What exactly are they doing? That remains to be seen. These are things we have to work out,” he added.",
     "It remains visible."),
    ("then it is a “serious” problem in which measures must be taken, but not He gave more details, arguing that "
     "analysts are evaluating the situation.",
     "then it is a “serious” problem on which measures must be taken, but he did not give more details, arguing "
     "that analysts are evaluating the situation.",
     "but not He gave more details"),
    ("and that it is recruiting a large number of interpreters before the language barrier.",
     "and that it is recruiting a large number of interpreters to overcome the language barrier.",
     "before the language barrier"),
]


def valid(mt: str, spans: list[Span]) -> bool:
    return all(0 <= s.start <= s.end <= len(mt) and mt[s.start:s.end] == s.text for s in spans)


def major_inside(mt: str, spans: list[Span], garble: str) -> list[Span]:
    a = mt.index(garble)
    b = a + len(garble)
    return [s for s in spans if s.severity in ("major", "critical") and s.start < b and s.end > a]


@pytest.mark.parametrize(("mt", "ref", "garble"), SEED_GARBLES)
def test_seed_garbles_are_major_spans(mt: str, ref: str, garble: str) -> None:
    spans = spans_post_edit(mt, [ref])
    assert valid(mt, spans)
    assert major_inside(mt, spans, garble), [(s.text, s.severity) for s in spans]


def test_seed_example_spans_in_detail() -> None:
    mt, ref, _ = SEED_GARBLES[2]
    [span] = spans_post_edit(mt, [ref])
    assert (span.text, span.ref_text, span.category, span.severity, span.confidence) == (
        "before", "to overcome", "mistranslation", "major", 1.0)
    mt = "For Lloyd Austin, number one in the United States Department of Defense"
    [span] = spans_post_edit(mt, ["For Lloyd Austin, head of the United States Department of Defense"])
    assert (span.start, span.end, span.text, span.ref_text, span.severity) == (18, 31, "number one in", "head of", "major")
    mt = "using North Korea’s formal name"
    [span] = spans_post_edit(mt, ["using the acronym of North Korea’s formal name"])
    assert (span.start, span.end, span.ref_text, span.category) == (5, 5, "the acronym of", "omission")


def test_identical_and_empty_references() -> None:
    assert spans_post_edit("Same text.", ["Same text."]) == []
    assert spans_post_edit("Some text.", []) == []
    [s] = spans_post_edit("Some text", ["Some text."])
    assert (s.start, s.end, s.ref_text, s.category) == (9, 9, ".", "omission")


def test_chinese_and_japanese_align_character_by_character() -> None:
    assert [t.text for t in span_tokens("我们站在GPT-4上。")] == ["我", "们", "站", "在", "GPT-4", "上", "。"]
    [s] = spans_post_edit("我们站在地球上。", ["我们站在月球上。"])
    assert (s.start, s.end, s.text, s.ref_text) == (4, 5, "地", "月")


def test_offsets_always_valid_on_real_segments() -> None:
    from evalkit.io.mqm import char_set, read_ted

    data = read_ted(require(SHARED_DATA / "google-mqm-ted"), "zhen")
    items = data.items[:150]
    for it in items:
        spans = spans_post_edit(it.mt, it.refs)
        assert valid(it.mt, spans)
    # several references: a second, different reference can only remove error characters
    checked = 0
    for a, b in itertools.pairwise(items[:60]):
        if a.seg != b.seg:
            continue
        one = char_set(a.mt, [(s.start, s.end) for s in spans_post_edit(a.mt, a.refs)])
        two = char_set(a.mt, [(s.start, s.end) for s in spans_post_edit(a.mt, [*a.refs, b.mt])])
        assert two <= one
        checked += 1
    assert checked > 10


def test_multi_reference_support_through_a_testset() -> None:
    ts = TestSet(refs=[["the large house"], ["the big home"]], systems={"a": ["the big house"], "b": ["the red house"]})
    out = annotate_testset(ts, "post-edit")
    assert out["a"] == [[]]
    [[span]] = out["b"]
    assert (span.text, span.ref_text) == ("red", "large")


def test_score_attaches_spans_mqm_and_counts() -> None:
    hyps = [mt for mt, _, _ in SEED_GARBLES]
    refs = [ref for _, ref, _ in SEED_GARBLES]
    result = evalkit.score(hyps, [refs], metrics=["bleu"], spans="post-edit")
    system = result.systems[0]
    for seg, mt, ref in zip(system.segments, hyps, refs):
        assert seg.spans == spans_post_edit(mt, [ref])
        assert seg.mqm == mqm_score(seg.spans)
    assert system.span_counts == count_spans([seg.spans for seg in system.segments])
    data = result.to_dict()["systems"][0]["segments"][2]
    assert data["spans"][0]["text"] == "before" and data["mqm"] == 5.0
    with pytest.raises(InputError):
        evalkit.score(hyps, [refs], metrics=["bleu"], spans="diff")


def test_reference_mode_with_the_packaged_tagger(monkeypatch: pytest.MonkeyPatch) -> None:
    annotator = ReferenceAnnotator()
    pairs = [SEED_GARBLES[2][:2],
             ("Russia has suffered more than 600,000 soldier casualties",
              "Russia has suffered more than 600,000 military casualties"),
             ("He said it was in the house.", "He said that it was at home."),
             ("using North Korea’s formal name", "using the acronym of North Korea’s formal name")]
    out = annotator.annotate([m for m, _ in pairs], [[r] for _, r in pairs])
    for (mt, _), spans in zip(pairs, out):
        assert valid(mt, spans)
    garble, _, _, omission = out
    [span] = [s for s in garble if "before" in s.text]  # the core edit, perhaps grown over flagged neighbours
    assert span.ref_text == "to overcome" and span.category == "mistranslation" and 0.0 < span.confidence <= 1.0
    assert [(s.start, s.end, s.category) for s in omission] == [(5, 5, "omission")]  # "acronym" has no close word
    assert len(annotator.encoder._cache) == len(pairs)  # the references stay cached, the MT does not
    monkeypatch.setattr(pipeline, "CHUNK", 1)
    assert annotator.annotate([m for m, _ in pairs], [[r] for _, r in pairs]) == out
    strict = ReferenceAnnotator(ReferenceSettings(threshold=0.99), encoder=annotator.encoder)
    assert [s for s in strict.annotate([pairs[2][0]], [[pairs[2][1]]])[0] if s.start < s.end] == []


def test_seed_against_references_folder() -> None:
    from evalkit.io.loader import load_testset

    seed = ROOT / "seeds" / "000_2179a3658f654c48.txt"
    ref = require(ROOT / "references" / "000_2179a3658f654c48.txt")
    ts = load_testset([seed], [ref], input_format="document")
    [spans] = annotate_testset(ts, "post-edit").values()
    hyps = next(iter(ts.systems.values()))
    for mt, seg_spans in zip(hyps, spans):
        assert valid(mt, seg_spans)
    for _, _, garble in SEED_GARBLES:
        [i] = [k for k, mt in enumerate(hyps) if garble in mt]
        assert major_inside(hyps[i], spans[i], garble), (garble, [(s.text, s.severity) for s in spans[i]])


def test_default_config_turns_spans_on() -> None:
    text = Path(ROOT / "configs" / "default.toml").read_text(encoding="utf-8")
    assert 'spans = "post-edit"' in text


def test_post_edit_mode_reproduces_mlqe_pe_word_tags() -> None:
    """MLQE-PE's official OK/BAD word tags come from TER between the MT and its post-edit.

    Tags are per token, so this compares TER's fragments (``phrase_gap=-1``), not the phrase spans.
    """
    from evalkit.io.text import read_lines

    folder = require(SHARED_DATA / "mlqe-pe" / "data" / "post-editing" / "dev" / "en-de-dev")
    mts, pes, tags = (read_lines(folder / f"dev.{k}")[:200] for k in ("mt", "pe", "tags"))
    tp = fp = fn = 0
    for mt, pe, line in zip(mts, pes, tags):
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", mt)]
        gold = [t == "BAD" for t in line.split()[1::2]]
        assert len(gold) == len(words)
        spans = [s for s in spans_post_edit(mt, [pe], phrase_gap=-1) if s.end > s.start]
        for (a, b), g in zip(words, gold):
            bad = any(s.start < b and s.end > a for s in spans)
            tp, fp, fn = tp + (bad and g), fp + (bad and not g), fn + (g and not bad)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert tp > 300
    assert precision > 0.97 and recall > 0.95, (precision, recall)
