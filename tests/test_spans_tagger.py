"""Reference-mode evidence and the span tagger: features by hand, the numpy forward pass, the decision rule."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evalkit.errors import InputError, ModelError
from evalkit.spans.features import CONSENSUS, FEATURES, _runs, _window, consensus_features, segment_features
from evalkit.spans.pipeline import ReferenceAnnotator, ReferenceSettings, align_tokens, span_tokens
from evalkit.spans.tagger import SpanTagger, load_tagger, parse_tagger


def _tagger(weights: list[float], bias: float, threshold: float = 0.5) -> SpanTagger:
    n = len(FEATURES)
    w = np.zeros((1, n), np.float32)
    w[0, : len(weights)] = weights
    return SpanTagger(np.zeros(n, np.float32), np.ones(n, np.float32), ((w, np.array([bias], np.float32)),),
                      threshold, "test")


def test_windows_and_runs_by_hand() -> None:
    flags = np.array([1, 1, 0, 0, 1, 0], dtype=np.float32)
    assert _window(flags, 1).tolist() == pytest.approx([1.0, 0.5, 0.5, 0.5, 0.0, 1.0])
    assert _window(flags, 2).tolist() == pytest.approx([0.5, 1 / 3, 0.75, 0.5, 0.0, 0.5])
    assert _runs(flags).tolist() == [2, 2, 0, 0, 1, 0]


def test_consensus_features_by_hand() -> None:
    mt = "the cat sat"
    others = ["the cat sat", "a dog sat"]
    toks = span_tokens(mt)
    als = [align_tokens(mt, o, case_sensitive=False) for o in others]
    f = consensus_features(toks, [al.ref_tokens for al in als], als)
    assert f.shape == (3, CONSENSUS)
    assert f[:, 0].tolist() == [0.5, 0.5, 1.0]  # "the", "cat" in one of two outputs, "sat" in both
    assert f[:, 1].tolist() == [1.0, 0.5, 0.5]  # left bigrams: (start), "the cat", "cat sat"
    assert f[:, 2].tolist() == [0.5, 0.5, 1.0]  # right bigrams: "the cat", "cat sat", (end)
    assert f[:, 3].tolist() == [0.5, 0.5, 1.0]  # TER matches
    assert f[:, 4].tolist() == pytest.approx([np.log(3)] * 3)
    assert not consensus_features(toks, [], []).any()


def test_segment_features_diff_columns() -> None:
    mt, ref = "He went to the shop yesterday", "He walked to the shop"
    als = [align_tokens(mt, ref, case_sensitive=False)]
    n, m = len(als[0].hyp_tokens), len(als[0].ref_tokens)
    x = segment_features(mt, [ref], als, [np.eye(n, 8, dtype=np.float32) @ np.eye(m, 8, dtype=np.float32).T])
    col = {k: i for i, k in enumerate(FEATURES)}
    assert x.shape == (6, len(FEATURES))
    assert x[:, col["state_ok"]].tolist() == [1, 0, 1, 1, 1, 0]
    assert x[:, col["state_sub"]].tolist() == [0, 1, 0, 0, 0, 0]
    assert x[:, col["state_ins"]].tolist() == [0, 0, 0, 0, 0, 1]
    assert x[:, col["in_reference"]].tolist() == [1, 0, 1, 1, 1, 0]
    assert x[:, col["seg_ter"]].tolist() == pytest.approx([2 / 5 / 2] * 6)  # 2 edits over 5 reference words
    assert not x[:, -CONSENSUS:].any()


def test_forward_pass_equals_numpy_by_hand() -> None:
    rng = np.random.default_rng(0)
    n = len(FEATURES)
    w1, b1 = rng.normal(size=(4, n)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    w2, b2 = rng.normal(size=(1, 4)).astype(np.float32), rng.normal(size=1).astype(np.float32)
    mean, scale = rng.normal(size=n).astype(np.float32), rng.uniform(0.5, 2, size=n).astype(np.float32)
    tagger = SpanTagger(mean, scale, ((w1, b1), (w2, b2)), 0.3, "x")
    x = rng.normal(size=(5, n)).astype(np.float32)
    h = np.maximum(((x - mean) / scale) @ w1.T + b1, 0) @ w2.T + b2
    assert tagger.predict(x) == pytest.approx(1 / (1 + np.exp(-h[:, 0])), rel=1e-5)
    again = parse_tagger(tagger.to_json(), "mem")
    assert again.predict(x) == pytest.approx(tagger.predict(x)) and again.threshold == 0.3
    with pytest.raises(ModelError):
        tagger.predict(x[:, :3])


def test_weights_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a span-tagger"):
        parse_tagger("{}", "x.json")
    doc = json.loads(_tagger([], 0).to_json())
    doc["features"] = doc["features"][:-1]
    with pytest.raises(ModelError, match="retrain"):
        parse_tagger(json.dumps(doc), "old.json")
    with pytest.raises(ModelError, match="no span-tagger weights"):
        load_tagger(tmp_path / "missing.json")


def test_packaged_tagger_loads_with_its_training_report() -> None:
    tagger = load_tagger()
    assert 0.0 < tagger.threshold < 1.0 and len(tagger.mean) == len(FEATURES)
    from evalkit.spans.tagger import DEFAULT_TAGGER

    report = json.loads(DEFAULT_TAGGER.read_text(encoding="utf-8"))["training"]
    assert report["threshold"] == tagger.threshold
    for part, row in report["dev"].items():  # with other systems' outputs it beat the diff on held-out TED
        if "no consensus" not in part:
            assert row["tagger F"] > row["diff F"] and row["tagger major F"] > row["diff major F"], part


def test_reference_mode_beats_the_naive_diff_on_held_out_ted() -> None:
    """TED en-de test segments (never seen in training), all systems' outputs as consensus evidence: char F1."""
    from conftest import SHARED_DATA, require
    from evalkit.io.mqm import char_agreement, read_ted
    from evalkit.spans.baselines import naive_diff
    from evalkit.spans.train import others_of, ted_fold, usable

    ted = read_ted(require(SHARED_DATA / "google-mqm-ted"), "ende")
    items = [it for it in usable(ted.items) if ted_fold(it.seg) == "test"][:260]
    spans = ReferenceAnnotator().annotate([it.mt for it in items], [it.refs for it in items],
                                          [it.src for it in items], others_of(items, ted.items))
    ours = char_agreement(items, [[(s.start, s.end) for s in seg] for seg in spans])
    naive = char_agreement(items, [naive_diff(it.mt, it.refs[0]) for it in items])
    flag_all = char_agreement(items, [[(0, len(it.mt))] for it in items])
    assert ours.f1 > naive.f1 > flag_all.f1, (ours.f1, naive.f1, flag_all.f1)


def test_decision_rule_threshold_support_and_extension() -> None:
    """Spans hold flagged tokens edited against every reference, grown over flagged neighbours."""
    col = FEATURES.index("state_ok")
    mt = "He went to the shop yesterday"
    edited_only = ReferenceAnnotator(tagger=_tagger([0.0] * col + [-10.0], 5.0))  # P high unless state_ok
    [spans] = edited_only.annotate([mt], [["He walked to the shop"]])
    assert [(s.text, s.category) for s in spans] == [("went", "mistranslation"), ("yesterday", "addition")]
    assert all(0.9 < s.confidence <= 1.0 for s in spans)
    everything = ReferenceAnnotator(tagger=_tagger([], 5.0), encoder=edited_only.encoder)  # every token flagged
    fragments = ReferenceAnnotator(ReferenceSettings(phrase_gap=-1), tagger=_tagger([], 5.0),
                                   encoder=edited_only.encoder)
    [spans] = fragments.annotate([mt], [["He walked to the shop"]])
    assert [s.text for s in spans] == ["He went to the shop", "yesterday"]  # grown over flagged neighbours
    [spans] = everything.annotate([mt], [["He walked to the shop"]])
    assert [(s.text, s.ref_text) for s in spans] == [(mt, "He walked to the shop")]  # one phrase
    [spans] = everything.annotate([mt], [["He walked to the shop", "He went to the shop"]])
    assert [s.text for s in spans] == ["He went to the shop yesterday"]  # "went" is supported by a reference
    assert spans[0].ref_text == "" and spans[0].category == "addition"
    unextended = ReferenceAnnotator(ReferenceSettings(extend=False), encoder=edited_only.encoder,
                                    tagger=_tagger([], 5.0))
    [spans] = unextended.annotate([mt], [["He walked to the shop"]])
    assert [s.text for s in spans] == ["went", "yesterday"]
    nothing = ReferenceAnnotator(ReferenceSettings(threshold=1.0), encoder=edited_only.encoder,
                                 tagger=_tagger([], 5.0))
    assert nothing.annotate([mt], [["He walked to the shop"]]) == [[]]
    with pytest.raises(InputError):
        nothing.annotate([mt, mt], [["x"]])


def test_learned_severity_from_the_major_output() -> None:
    """Two outputs: P(error) flags tokens, the span's mean P(major) against major_threshold sets its severity."""
    n = len(FEATURES)
    col = FEATURES.index("state_sub")
    w = np.zeros((2, n), np.float32)
    w[1, col] = 10.0  # P(major) high on substituted tokens only
    layers = ((w, np.array([5.0, -5.0], np.float32)),)
    tagger = SpanTagger(np.zeros(n, np.float32), np.ones(n, np.float32), layers, 0.5, "t", major_threshold=0.5)
    mt = "He went to the shop yesterday"
    [spans] = ReferenceAnnotator(ReferenceSettings(extend=False), tagger=tagger).annotate([mt], [["He walked to the shop"]])
    assert [(s.text, s.severity) for s in spans] == [("went", "major"), ("yesterday", "minor")]
    assert tagger.signature == "span-tagger:t|threshold:0.5|major:0.5"
    assert replace(tagger, single_threshold=0.3).threshold_for(False) == 0.3 and tagger.threshold_for(False) == 0.5
    [spans] = ReferenceAnnotator(ReferenceSettings(extend=False), tagger=tagger).annotate(
        ["He paid 30 euros"], [["He paid 40 euros"]])
    assert [(s.text, s.severity) for s in spans] == [("30", "critical")]  # numbers keep the rule's critical


def _ted_fixture(root: Path) -> None:
    folder = root / "google-mqm-ted" / "ted" / "xxen"
    folder.mkdir(parents=True)
    head = "system\tdoc\tdoc_id\tseg_id\trater\tsource\ttarget\tcategory\tseverity\tcomment"
    refs = ["the cat sat on the mat", "a dog ran in the park", "we ate fresh bread today", "it rained all day long",
            "she read a good book", "they built a small house", "he plays the old piano", "birds sing every morning"]
    rows = []
    for k, ref in enumerate(refs, 1):
        words = ref.split()
        rows.append(f"ref\td\t1\t{k}\tr\tsrc {k}\t{ref}\tNo-error\tNo-error\t")
        rows.append(f"sysA\td\t1\t{k}\tr\tsrc {k}\t{ref}\tNo-error\tNo-error\t")
        bad = " ".join(words[:2] + ["<v>zzz</v>"] + words[3:])
        rows.append(f"sysB\td\t1\t{k}\tr\tsrc {k}\t{bad}\tAccuracy/Mistranslation\tMajor\t")
    (folder / "mqm_ted_xxen.tsv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")


def test_train_spans_end_to_end_on_a_tiny_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evalkit.cli import main

    _ted_fixture(tmp_path)
    config = tmp_path / "train.toml"
    config.write_text(f'[train-spans]\ndata = "{tmp_path}"\noutput = "{tmp_path / "out"}"\nted_pairs = ["xxen"]\n'
                      'biomqm = ""\nholdout_every = 3\nepochs = 2\nhidden_sizes = [8]\nconsensus_dropout = 0.5\n',
                      encoding="utf-8")
    assert main(["train-spans", "--config", str(config)]) == 0
    path = tmp_path / "out" / "span-tagger.json"
    tagger = load_tagger(path)
    report = json.loads(path.read_text(encoding="utf-8"))["training"]
    assert report["best_epoch"] in (1, 2) and report["threshold"] == tagger.threshold
    assert report["single_threshold"] == tagger.single_threshold
    assert set(report["dev"]) == {"ted-xxen dev", "ted-xxen dev, no consensus"}
    assert len(tagger.layers) == 2 and tagger.layers[-1][0].shape == (2, 8)
    config.write_text(config.read_text(encoding="utf-8") + "typo_key = 1\n", encoding="utf-8")
    assert main(["train-spans", "--config", str(config)]) == 2
    assert "unknown key(s) in [train-spans]: typo_key" in capsys.readouterr().err
