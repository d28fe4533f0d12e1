"""MQM span readers (WMT23 ratings, TED inline marks, BioMQM offsets) and character-level agreement."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHARED_DATA, require
from evalkit.errors import InputError
from evalkit.io.mqm import (MQMError, MQMItem, char_agreement, char_set, locate, parse_inline, qe_char_agreement,
                             read_biomqm, read_ted, read_wmt23)


def _wmt_layout(root: Path) -> Path:
    lp = "xx-en"
    for sub in ("system-outputs/xx-en", "sources", "references", "human-scores"):
        (root / sub).mkdir(parents=True)
    (root / "sources" / f"{lp}.txt").write_text("s1\ns2\n", encoding="utf-8")
    (root / "references" / f"{lp}.refA.txt").write_text("The cat sat.\nA dog ran.\n", encoding="utf-8")
    (root / "system-outputs" / lp / "sysA.txt").write_text("The cat sit.\nA dog runs fast.\n", encoding="utf-8")
    (root / "system-outputs" / lp / "refA.txt").write_text("The cat sat.\nA dog ran.\n", encoding="utf-8")
    e1 = {"errors": [{"start": 8, "end": 11, "category": "fluency/grammar", "severity": "minor", "score": 1,
                      "is_source_error": False}]}
    e2 = {"errors": [{"start": 6, "end": 15, "category": "accuracy/mistranslation", "severity": "major", "score": 5,
                      "is_source_error": False},
                     {"start": 0, "end": 2, "category": "accuracy/omission", "severity": "major", "score": 5,
                      "is_source_error": True}]}
    rater1 = ["sysA\t" + json.dumps(e1), "sysA\tNone", "refA\tNone", "refA\tNone"]
    rater2 = ["sysA\tNone", "sysA\t" + json.dumps(e2), "refA\tNone", "refA\tNone"]
    (root / "human-scores" / f"{lp}.mqm.rater1.seg.rating").write_text("\n".join(rater1) + "\n", encoding="utf-8")
    (root / "human-scores" / f"{lp}.mqm.rater2.seg.rating").write_text("\n".join(rater2) + "\n", encoding="utf-8")
    return root


def test_wmt23_ratings_union_of_raters_reference_excluded(tmp_path: Path) -> None:
    data = read_wmt23(_wmt_layout(tmp_path), "xx-en")
    assert [(it.system, it.seg, it.refs) for it in data.items] == [("sysA", "1", ["The cat sat."]),
                                                                    ("sysA", "2", ["A dog ran."])]
    first, second = data.items
    assert [(first.mt[e.start:e.end], e.severity) for e in first.errors] == [("sit", "minor")]
    assert [(second.mt[e.start:e.end], e.severity) for e in second.errors] == [("runs fast", "major")]
    assert first.has_error and second.has_error


def test_ted_inline_marks_and_reference_row(tmp_path: Path) -> None:
    folder = tmp_path / "ted" / "xxen"
    folder.mkdir(parents=True)
    head = "system\tdoc\tdoc_id\tseg_id\trater\tsource\ttarget\tcategory\tseverity\tcomment"
    rows = [
        "sysA\tt1\t1\t1\tr1\tsrc one\tthe <v>dog</v> barked\tAccuracy/Mistranslation\tMajor\t",
        "sysA\tt1\t1\t1\tr1\tsrc one\tthe dog <v>barked</v>\tFluency/Grammar\tMinor\t",
        "sysA\tt1\t1\t2\tr1\tsrc two\tall fine\tNo-error\tNo-error\t",
        "sysA\tt1\t1\t3\tr1\tsrc <v>three</v>\tshort\tAccuracy/Omission\tMajor\t",
        "ref\tt1\t1\t1\tr2\tsrc one\tthe cat barked\tNo-error\tNo-error\t",
        "ref\tt1\t1\t2\tr2\tsrc two\tall fine\tNo-error\tNo-error\t",
        "ref\tt1\t1\t3\tr2\tsrc three\tshort three\tNo-error\tNo-error\t",
    ]
    (folder / "mqm_ted_xxen.tsv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    data = read_ted(tmp_path, "xxen")
    by_seg = {it.seg: it for it in data.items}
    assert set(by_seg) == {"1", "2", "3"} and all(it.system == "sysA" for it in data.items)
    one = by_seg["1"]
    assert one.mt == "the dog barked" and one.refs == ["the cat barked"]
    assert [(one.mt[e.start:e.end], e.severity) for e in one.errors] == [("dog", "major"), ("barked", "minor")]
    assert not by_seg["2"].has_error
    assert by_seg["3"].has_error and by_seg["3"].errors == []  # marked on the source side: no MT characters


def test_biomqm_offsets_checked_against_term(tmp_path: Path) -> None:
    ref = [{"filename": "d1", "SEG_ID": "1", "source": "s", "target": "la casa roja", "target_errors": []},
           {"filename": "d1", "SEG_ID": "2", "source": "s", "target": "el perro", "target_errors": []}]
    sys_a = [
        {"filename": "d1", "SEG_ID": "1", "source": "s", "target": "la casa verde", "source_errors": [],
         "target_errors": [{"term": "verde", "startIndex": 8, "endIndex": 12, "severity": "Major",
                            "error_category": "Accuracy", "error_subcategory": "Mistranslation"},
                           {"term": "la", "startIndex": 0, "endIndex": 2, "severity": "Neutral"}]},
        {"filename": "d1", "SEG_ID": "2", "source": "s", "target": "el gato", "source_errors": [],
         "target_errors": [{"term": "perro", "startIndex": 3, "endIndex": 7, "severity": "Minor"}]},
    ]
    (tmp_path / "reference.json").write_text(json.dumps(ref), encoding="utf-8")
    (tmp_path / "sysA.json").write_text(json.dumps(sys_a), encoding="utf-8")
    data = read_biomqm(tmp_path)
    assert data.skipped == 1  # "perro" is nowhere in "el gato"
    [item] = data.items
    assert item.refs == ["la casa roja"]
    assert [(item.mt[e.start:e.end], e.severity) for e in item.errors] == [("verde", "major")]


def test_locate_and_parse_inline() -> None:
    assert locate("la casa verde", "verde", 8, 12) == (8, 13)  # inclusive end
    assert locate("la casa verde", "verde", 8, 13) == (8, 13)  # exclusive end
    assert locate("la casa verde", "casa", 40, 43) == (3, 7)  # offsets off: the only occurrence
    assert locate("la la", "la", 9, 10) is None  # ambiguous
    assert parse_inline("a <v>bc</v> d") == ("a bc d", (2, 4))
    assert parse_inline("no marks") == ("no marks", None)


def test_char_agreement_counts_non_whitespace_characters() -> None:
    item = MQMItem("s", "1", "", "ab cd ef", ["x"], [MQMError(0, 5, "major", "x"), MQMError(6, 8, "minor", "y")])
    assert char_set(item.mt, [(1, 4)]) == {1, 3}
    prf = char_agreement([item], [[(3, 8)]])
    assert (prf.tp, prf.pred, prf.gold) == (4, 4, 6)  # predicted c d e f; gold a b c d e f
    assert prf.precision == 1.0 and prf.recall == pytest.approx(4 / 6) and prf.f1 == pytest.approx(0.8)
    major = char_agreement([item], [[(3, 8)]], ("major",))
    assert (major.tp, major.pred, major.gold) == (2, 4, 4)


def test_qe_rule_hand_computed() -> None:
    """WMT23 QE task 2: whitespace counts, wrong severity 0.5, clean items cost precision, omission marks its anchor."""
    items = [
        MQMItem("s", "1", "", "ab cd ef", ["x"], [MQMError(0, 5, "major", "x"), MQMError(6, 8, "minor", "y")]),
        MQMItem("s", "2", "", "xyz", ["x"]),
        MQMItem("s", "3", "", "hello", ["x"], [MQMError(1, 3, "major", "x"), MQMError(2, 4, "minor", "y")]),
    ]
    pred = [[(3, 8, "minor")], [(0, 0, "major")], [(2, 3, "critical"), (5, 5, "major")]]
    prf = qe_char_agreement(items, pred)
    # 1: c,d (gold major, minor predicted) 0.5 each, the space after d a false positive, e,f 1 each: tp 3 of 5 / 7
    # 2: the zero-width span marks x: 1 predicted; 3: l (gold both) 1; the end anchor 1 predicted; gold e,l,l
    assert (prf.tp, prf.pred, prf.gold) == (4.0, 8, 10)
    assert prf.precision == 0.5 and prf.recall == 0.4 and prf.f1 == pytest.approx(4 / 9)
    assert qe_char_agreement(items[1:2], [[]]).f1 == 0.0


def test_bad_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_biomqm(tmp_path)
    with pytest.raises(InputError):
        read_ted(tmp_path, "ende")


def test_real_data_spans_lie_inside_the_mt() -> None:
    wmt23 = require(SHARED_DATA / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23")
    data = read_wmt23(wmt23, "en-de")
    assert len({it.system for it in data.items}) == 12 and "refA" not in {it.system for it in data.items}
    assert all(0 <= e.start <= e.end <= len(it.mt) for it in data.items for e in it.errors)
    ted = read_ted(require(SHARED_DATA / "google-mqm-ted"), "ende")
    assert len(ted.items) == 529 * 13
    assert sum(len(it.errors) for it in ted.items) > 3000
