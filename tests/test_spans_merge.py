"""merge -> classify on hand-built TER alignments (no aligner involved), and the MQM-style score."""
from __future__ import annotations

import pytest

from evalkit.results import Span
from evalkit.spans.classify import classify, count_spans, mqm_score
from evalkit.spans.merge import merge, token_view
from evalkit.spans.types import AlignedPair, Alignment, Token


def toks(text: str) -> list[Token]:
    out, pos = [], 0
    for w in text.split(" "):
        out.append(Token(w, pos, pos + len(w)))
        pos += len(w) + 1
    return out


def alignment(hyp: str, ref: str, pairs: list[tuple[int | None, int | None, str]], shifted: set[int] = frozenset(),
              num_shifts: int = 0) -> Alignment:
    return Alignment(toks(hyp), toks(ref), [AlignedPair(*p) for p in pairs], set(shifted), num_shifts)


def spans(hyp: str, ref: str, al: Alignment, **kw: object) -> list[Span]:
    return [classify(c, hyp, al.hyp_tokens, ref, al.ref_tokens) for c in merge([al], **kw)]


def check_offsets(hyp: str, out: list[Span]) -> None:
    for s in out:
        assert 0 <= s.start <= s.end <= len(hyp)
        assert hyp[s.start:s.end] == s.text


def test_substitution_absorbs_adjacent_deletions() -> None:
    hyp, ref = "It remains visible .", "That remains to be seen ."
    al = alignment(hyp, ref, [(0, 0, "sub"), (1, 1, "match"), (2, 2, "sub"), (None, 3, "del"), (None, 4, "del"),
                              (3, 5, "match")])
    out = spans(hyp, ref, al)
    check_offsets(hyp, out)
    assert [(s.start, s.end, s.text, s.ref_text, s.category, s.severity) for s in out] == [
        (0, 2, "It", "That", "mistranslation", "minor"),  # function word for function word
        (11, 18, "visible", "to be seen", "mistranslation", "major"),  # one word for three, content words
    ]


def test_standalone_deletion_is_zero_width_omission_at_its_gap() -> None:
    hyp, ref = "using North Korea’s name", "using the acronym of North Korea’s name"
    al = alignment(hyp, ref, [(0, 0, "match"), (None, 1, "del"), (None, 2, "del"), (None, 3, "del"),
                              (1, 4, "match"), (2, 5, "match"), (3, 6, "match")])
    assert token_view(al).gap_dels == {1: [1, 2, 3]}
    [s] = spans(hyp, ref, al)
    assert (s.start, s.end, s.text, s.ref_text, s.category, s.severity) == (5, 5, "", "the acronym of", "omission", "major")


def test_shifted_block_is_its_own_word_order_span() -> None:
    hyp, ref = "he very likely said it", "he said very likely it"
    al = alignment(hyp, ref, [(0, 0, "match"), (3, 1, "match"), (1, 2, "match"), (2, 3, "match"), (4, 4, "match")],
                   shifted={1, 2}, num_shifts=1)
    [s] = spans(hyp, ref, al)
    assert (s.start, s.end, s.text, s.category, s.severity) == (3, 14, "very likely", "word order", "minor")


def test_several_references_a_stretch_any_reference_supports_is_not_an_error() -> None:
    hyp = "the big house"
    r1, r2 = "the large house", "the big home"
    a1 = alignment(hyp, r1, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "match")])
    a2 = alignment(hyp, r2, [(0, 0, "match"), (1, 1, "match"), (2, 2, "sub")])
    assert merge([a1, a2]) == []
    hyp = "the red house"
    b1 = alignment(hyp, r1, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "match")])
    b2 = alignment(hyp, r2, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "sub")])
    [c] = merge([b1, b2])
    assert (c.start, c.end, c.ref) == (4, 7, 0)  # details from the closer reference (1 edit against 2)
    assert classify(c, hyp, b1.hyp_tokens, r1, b1.ref_tokens).ref_text == "large"


def test_supported_tokens_are_not_errors() -> None:
    hyp, ref = "the big house", "the large house"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "match")])
    assert merge([al], supported=[[False, True, False]]) == []


def test_omission_needs_every_reference_to_miss_words_in_that_gap() -> None:
    hyp = "he did go"
    r1, r2 = "he did not go", "he did go"
    a1 = alignment(hyp, r1, [(0, 0, "match"), (1, 1, "match"), (None, 2, "del"), (2, 3, "match")])
    a2 = alignment(hyp, r2, [(0, 0, "match"), (1, 1, "match"), (2, 2, "match")])
    assert merge([a1, a2]) == []
    [s] = spans(hyp, r1, a1)
    assert (s.start, s.end, s.ref_text, s.category, s.severity) == (6, 6, "not", "omission", "critical")


def test_max_gap_joins_edit_runs_across_one_correct_word() -> None:
    hyp, ref = "number one in the", "head of the"
    al = alignment(hyp, ref, [(0, 0, "sub"), (1, None, "ins"), (2, 1, "sub"), (3, 2, "match")])
    [s] = spans(hyp, ref, al)
    assert (s.text, s.ref_text, s.severity) == ("number one in", "head of", "major")
    hyp, ref = "a red big car", "a blue big van"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "match"), (3, 3, "sub")])
    assert [s.text for s in spans(hyp, ref, al)] == ["red", "car"]
    [s] = spans(hyp, ref, al, max_gap=1)
    assert (s.start, s.end, s.text, s.ref_text) == (2, 13, "red big car", "blue big van")


@pytest.mark.parametrize(
    ("hyp_word", "ref_word", "category", "severity"),
    [
        ("He", "he", "capitalisation", "minor"),
        (",", ";", "punctuation", "minor"),
        ("materiel", "material", "spelling", "minor"),
        ("600", "700", "mistranslation", "critical"),
        ("never", "always", "mistranslation", "critical"),
        ("sending", "deployment", "mistranslation", "minor"),  # one content word for one: minor
        ("in", "on", "mistranslation", "minor"),
    ],
)
def test_single_substitution_categories(hyp_word: str, ref_word: str, category: str, severity: str) -> None:
    hyp, ref = f"x {hyp_word} y", f"x {ref_word} y"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "sub"), (2, 2, "match")])
    [s] = spans(hyp, ref, al)
    assert (s.text, s.ref_text, s.category, s.severity) == (hyp_word, ref_word, category, severity)


def test_same_letters_with_other_spacing_or_hyphens_is_spelling() -> None:
    hyp, ref = "legislator Park Sunwon said", "legislator Park Sun-won said"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "match"), (2, 2, "sub"), (3, 3, "match")])
    [s] = spans(hyp, ref, al)
    assert (s.text, s.ref_text, s.category, s.severity) == ("Sunwon", "Sun-won", "spelling", "minor")
    hyp, ref = "Lee Seong Kweun stated", "Lee Seong-kweun stated"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "sub"), (2, None, "ins"), (3, 2, "match")])
    [s] = spans(hyp, ref, al)
    assert (s.text, s.ref_text, s.category, s.severity) == ("Seong Kweun", "Seong-kweun", "spelling", "minor")


def test_addition_and_whole_clause_garble() -> None:
    hyp, ref = "he said very very clearly", "he said clearly"
    al = alignment(hyp, ref, [(0, 0, "match"), (1, 1, "match"), (2, None, "ins"), (3, None, "ins"), (4, 2, "match")])
    [s] = spans(hyp, ref, al)
    assert (s.text, s.ref_text, s.category, s.severity) == ("very very", "", "addition", "minor")
    hyp, ref = "sky blue tastes loudly", "the sky is blue"
    al = alignment(hyp, ref, [(None, 0, "del"), (0, 1, "match"), (1, 2, "sub"), (2, 3, "sub"), (3, None, "ins")])
    omitted, garble = spans(hyp, ref, al)
    assert (omitted.start, omitted.end, omitted.ref_text, omitted.severity) == (0, 0, "the", "minor")
    assert (garble.text, garble.ref_text, garble.category, garble.severity) == (
        "blue tastes loudly", "is blue", "mistranslation", "major")


def test_mqm_score_weights_and_counts() -> None:
    seg = [Span(0, 1, "a", "mistranslation", "major"), Span(2, 3, ",", "punctuation", "minor"),
           Span(4, 4, "", "omission", "critical"), Span(5, 6, "b", "spelling", "minor")]
    assert mqm_score(seg) == 5 + 0.1 + 10 + 1
    assert mqm_score([]) == 0
    assert count_spans([seg, seg[:1]]) == {"mistranslation": {"major": 2}, "punctuation": {"minor": 1},
                                           "omission": {"critical": 1}, "spelling": {"minor": 1}}


def test_phrase_step_joins_one_garble_with_its_full_correction() -> None:
    from evalkit.spans.pipeline import spans_post_edit

    mt = "“What exactly are they doing? It remains visible. “These are things we have to solve,” he added."
    ref = "“What exactly are they doing? That remains to be seen. These are things we have to work out,” he added."
    fragments = spans_post_edit(mt, [ref], phrase_gap=-1)
    assert [s.text for s in fragments][:4] == ["It", "visible", ".", "“"]
    out = spans_post_edit(mt, [ref])
    check_offsets(mt, out)
    assert [(s.text, s.ref_text, s.category, s.severity) for s in out] == [
        ("It remains visible. “", "That remains to be seen.", "mistranslation", "major"),
        ("solve", "work out", "mistranslation", "major"),
    ]


def test_a_moved_word_beside_an_edit_joins_it_instead_of_reading_as_itself() -> None:
    from evalkit.spans.pipeline import spans_post_edit

    mt = "However, the size of its troops has weaknesses analyzed by experts, which is why analysts question " \
         "how much they would actually help."
    ref = "However, the size of its army hides weaknesses pointed out by experts, which is why analysts question " \
          "how much North Korean troops would actually help Russia."
    out = spans_post_edit(mt, [ref])
    check_offsets(mt, out)
    assert not any(s.category == "word order" and s.text == s.ref_text for s in out)
    [first] = [s for s in out if "troops" in s.text]
    assert (first.text, first.ref_text) == ("troops has weaknesses analyzed", "army hides weaknesses pointed out")


def test_a_shift_on_its_own_shows_the_block_and_where_it_belongs() -> None:
    from evalkit.spans.pipeline import spans_post_edit

    mt = "He quickly went home and slept"
    [s] = spans_post_edit(mt, ["He went home quickly and slept"])
    assert (s.text, s.category, s.moved_to, s.ref_text) == ("quickly", "word order", mt.index(" and"), "after “home”")
    [s] = spans_post_edit("the cat sat on the mat today", ["today the cat sat on the mat"])
    assert (s.text, s.moved_to, s.ref_text) == ("today", 0, "at the start")


def test_moved_to_survives_json_and_reads_as_a_move() -> None:
    import evalkit
    from evalkit.report.text import span_lines
    from evalkit.results import Result

    result = evalkit.score(["He quickly went home and slept"], [["He went home quickly and slept"]], metrics=["bleu"],
                           spans="post-edit")
    data = result.to_dict()
    assert data["systems"][0]["segments"][0]["spans"][0]["moved_to"] == 20
    [span] = Result.from_dict(data).systems[0].segments[0].spans
    assert span.moved_to == 20
    assert str(span_lines([span])) == "minor word order: “quickly” → move after “home” (character 20)"


def test_phrases_keep_exact_offsets_and_never_cross_a_sentence_end() -> None:
    from evalkit.spans.pipeline import spans_post_edit

    mt = "Das ist gut. Er kam spät heim und aß nichts."
    ref = "Das war gut. Sie kam früh nach Hause und trank nichts."
    out = spans_post_edit(mt, [ref])
    check_offsets(mt, out)
    assert not any("." in s.text[:-1] for s in out)
    assert len(out) < len(spans_post_edit(mt, [ref], phrase_gap=-1))
