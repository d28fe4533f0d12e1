"""The XLM-R / XLM-R-XL encoder inside a COMET checkpoint, built from its own tensors without the hub.

Sizes come from the tensors (vocabulary, hidden size, layers, feed-forward size, positions); the number of
attention heads cannot, so it comes from, in order: a local encoder folder (``--model-path`` or a
``pretrained_model`` that is a local folder with ``config.json``), the known configuration of the named
encoder (also when the name is the last part of a path baked in at training time), or the known XLM-R
family member with exactly these sizes. Otherwise a one-line ``ModelError`` says what to give.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evalkit.errors import ModelError

PREFIX = "encoder.model."
XLMR = "XLM-RoBERTa"
XLMR_XL = "XLM-RoBERTa-XL"
ENCODERS = (XLMR, XLMR_XL)


@dataclass(frozen=True)
class KnownEncoder:
    architecture: str
    hidden: int
    layers: int
    heads: int
    ffn: int


# Hugging Face configurations of the encoders COMET's published models sit on.
KNOWN: dict[str, KnownEncoder] = {
    "xlm-roberta-base": KnownEncoder(XLMR, 768, 12, 12, 3072),
    "xlm-roberta-large": KnownEncoder(XLMR, 1024, 24, 16, 4096),
    "microsoft/infoxlm-base": KnownEncoder(XLMR, 768, 12, 12, 3072),
    "microsoft/infoxlm-large": KnownEncoder(XLMR, 1024, 24, 16, 4096),
    "facebook/xlm-roberta-xl": KnownEncoder(XLMR_XL, 2560, 36, 32, 10240),
    "facebook/xlm-roberta-xxl": KnownEncoder(XLMR_XL, 4096, 48, 32, 16384),
}
_ALIASES = {"fairseq/xlm-roberta-large": "xlm-roberta-large", "facebookai/xlm-roberta-large": "xlm-roberta-large",
            "facebookai/xlm-roberta-base": "xlm-roberta-base"}


@dataclass(frozen=True)
class EncoderShape:
    """What the tensors say, plus the head count and where it came from."""

    architecture: str
    vocab: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    source: str  # "known:xlm-roberta-large", "config:/path", "sizes:xlm-roberta-large"

    @property
    def label(self) -> str:
        return f"{self.source.split(':', 1)[1] if self.source.startswith(('known', 'sizes')) else 'custom'}" \
               f"({self.architecture},{self.layers}x{self.hidden},{self.heads}h)"


def encoder_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder's tensors under the Hugging Face model's names (COMET keeps them under ``encoder.model.``)."""
    return {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}


def _shape(tensors: dict[str, torch.Tensor], name: str) -> tuple[int, ...]:
    t = tensors.get(name)
    if t is None:
        raise ModelError(f"the checkpoint has no {PREFIX}{name}: not an XLM-R-family COMET encoder")
    return tuple(int(d) for d in t.shape)


def _known(name: str) -> KnownEncoder | None:
    key = name.strip().lower().rstrip("/")
    key = _ALIASES.get(key, key)
    if key in KNOWN:
        return KNOWN[key]
    base = key.rsplit("/", 1)[-1]
    matches = [v for k, v in KNOWN.items() if k.rsplit("/", 1)[-1] == base]
    return matches[0] if matches else None


def _local_config(path: Path) -> dict[str, Any] | None:
    cfg = path / "config.json"
    if not cfg.is_file():
        return None
    try:
        return json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{cfg}: not a readable encoder config ({exc})") from None


def infer_shape(state: dict[str, torch.Tensor], encoder_model: str, pretrained_model: str,
                model_path: str | Path | None = None) -> EncoderShape:
    if encoder_model not in ENCODERS:
        raise ModelError(f"encoder_model {encoder_model!r}: evalkit runs COMET checkpoints on {' and '.join(ENCODERS)} "
                         "encoders only")
    t = encoder_tensors(state)
    vocab, hidden = _shape(t, "embeddings.word_embeddings.weight")
    max_positions = _shape(t, "embeddings.position_embeddings.weight")[0]
    type_vocab = _shape(t, "embeddings.token_type_embeddings.weight")[0] if "embeddings.token_type_embeddings.weight" in t else 1
    layers = len({int(m.group(1)) for k in t if (m := re.match(r"encoder\.layer\.(\d+)\.", k))})
    if layers == 0:
        raise ModelError("the checkpoint's encoder has no layers (no encoder.model.encoder.layer.N tensors)")
    ffn = _shape(t, "encoder.layer.0.intermediate.dense.weight")[0]
    heads, eps, source = None, 1e-5, ""
    for folder in ([Path(model_path).expanduser()] if model_path else []) + [Path(str(pretrained_model)).expanduser()]:
        cfg = _local_config(folder) if folder.is_dir() else None
        if cfg is not None:
            heads, eps, source = cfg.get("num_attention_heads"), float(cfg.get("layer_norm_eps", 1e-5)), f"config:{folder}"
            break
        if model_path and folder == Path(model_path).expanduser():
            raise ModelError(f"{folder}: no config.json; --model-path must be a local copy of the COMET model's encoder")
    if heads is None:
        known = _known(str(pretrained_model))
        if known is not None and known.architecture == encoder_model and (known.hidden, known.layers) == (hidden, layers):
            heads, source = known.heads, f"known:{pretrained_model}"
    if heads is None:
        same = [k for k, v in KNOWN.items() if v.architecture == encoder_model and (v.hidden, v.layers, v.ffn) == (hidden, layers, ffn)]
        if same:
            heads, source = KNOWN[same[0]].heads, f"sizes:{same[0]}"
    if not isinstance(heads, int) or heads < 1 or hidden % heads:
        raise ModelError(f"cannot tell the attention heads of this {encoder_model} encoder ({layers} layers, hidden "
                         f"{hidden}): pretrained_model {pretrained_model!r} is neither a known encoder nor a local "
                         "folder with config.json; give a local copy of its config with --model-path DIR")
    return EncoderShape(encoder_model, vocab, hidden, layers, int(heads), ffn, max_positions, type_vocab, eps, source)


def build_encoder(state: dict[str, torch.Tensor], shape: EncoderShape) -> torch.nn.Module:
    """The Hugging Face model with the checkpoint's tensors, in eval mode (no random initialisation)."""
    from evalkit.neural.encoder import quiet_transformers

    quiet_transformers()
    if shape.architecture == XLMR_XL:
        from transformers import XLMRobertaXLConfig as Config, XLMRobertaXLModel as Model
    else:
        from transformers import XLMRobertaConfig as Config, XLMRobertaModel as Model
    config = Config(vocab_size=shape.vocab, hidden_size=shape.hidden, num_hidden_layers=shape.layers,
                    num_attention_heads=shape.heads, intermediate_size=shape.ffn, hidden_act="gelu",
                    max_position_embeddings=shape.max_positions, type_vocab_size=shape.type_vocab,
                    layer_norm_eps=shape.layer_norm_eps, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                    position_embedding_type="absolute", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    with torch.device("meta"):
        model = Model(config, add_pooling_layer=False)
    tensors = {k: v for k, v in encoder_tensors(state).items() if not k.endswith("position_ids")}
    expected = set(model.state_dict())
    missing = sorted(expected - set(tensors))
    unexpected = sorted(set(tensors) - expected)
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise ModelError(f"the checkpoint's encoder tensors do not fit a {shape.architecture} encoder ({what})")
    for name, tensor in tensors.items():
        want = tuple(model.state_dict()[name].shape)
        if tuple(tensor.shape) != want:
            raise ModelError(f"{PREFIX}{name} has shape {tuple(tensor.shape)}, the encoder needs {want}")
    # copies out of the memory-mapped file: matrix products on file-backed pages ran ~1.6x slower here
    model.load_state_dict({k: v.float().clone() for k, v in tensors.items()}, strict=True, assign=True)
    _materialise_buffers(model, shape)
    return model.eval()


def _materialise_buffers(model: torch.nn.Module, shape: EncoderShape) -> None:
    """Non-persistent buffers (position and token type ids) are not in checkpoints: make them real."""
    for module_name, module in model.named_modules():
        for name, buf in list(module.named_buffers(recurse=False)):
            if not buf.is_meta:
                continue
            if name == "position_ids":
                value = torch.arange(shape.max_positions).expand((1, -1))
            elif name == "token_type_ids":
                value = torch.zeros((1, shape.max_positions), dtype=torch.long)
            else:
                raise ModelError(f"the encoder has a buffer {module_name}.{name} that evalkit cannot rebuild")
            module.register_buffer(name, value.to(buf.dtype), persistent=False)
    leftover = [n for n, p in model.named_parameters() if p.is_meta]
    if leftover:
        raise ModelError(f"the checkpoint leaves encoder parameters unset: {leftover[:3]}")
