"""COMET's estimator design in plain torch: layer mix -> pooled sentence embeddings -> features -> regressor.

The estimator takes layer-wise pooled embeddings ``(batch, layers, hidden)`` of hypothesis, reference
and (optionally) source, so the same head serves a frozen encoder (embeddings cached) and a fine-tuned one.
``inputs = "qe"`` is the reference-free variant (hypothesis and source only, as COMET-QE/CometKiwi's task).
With ``align_layers``, token-alignment features of each pair (see ``textstate.py``), standardised with the
training set's mean and spread, join the sentence features.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from evalkit.errors import ModelError


@dataclass
class EstimatorConfig:
    """Everything needed to rebuild a trained estimator; stored beside its weights."""

    name: str
    encoder: str
    encoder_checksum: str
    num_layers: int
    hidden_size: int
    hidden_sizes: list[int] = field(default_factory=lambda: [512, 128])
    dropout: float = 0.1
    use_source: bool = False
    max_length: int = 256
    finetuned_layers: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["en"])
    training: dict = field(default_factory=dict)
    inputs: str = "ref"
    align_layers: list[int] = field(default_factory=list)
    align_mean: list[float] = field(default_factory=list)
    align_std: list[float] = field(default_factory=list)

    @property
    def pairs(self) -> list[str]:
        """The text pairs whose alignment features the head reads, in order."""
        if self.inputs == "qe":
            return ["src"]
        return ["ref", "src"] if self.use_source else ["ref"]

    @property
    def align_width(self) -> int:
        from evalkit.neural.textstate import features_per_pair

        return len(self.pairs) * features_per_pair(len(self.align_layers)) if self.align_layers else 0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "EstimatorConfig":
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: not an evalkit estimator config: {exc}") from None


class ScalarMix(nn.Module):
    """Softmax-weighted sum of layers times a scale (COMET's layer-wise attention, without dropout)."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(num_layers))
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.weights, dim=0)
        return self.gamma * torch.einsum("l,blh->bh", w, layers)


def features(h: torch.Tensor, r: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
    """COMET's feature vector: [h, r, h*r, |h-r|] and, with a source, [h*s, |h-s|]."""
    parts = [h, r, h * r, (h - r).abs()]
    if s is not None:
        parts += [h * s, (h - s).abs()]
    return torch.cat(parts, dim=-1)


class Estimator(nn.Module):
    """Scalar mix shared by all inputs, then a feed-forward regressor on the feature vector."""

    def __init__(self, config: EstimatorConfig) -> None:
        super().__init__()
        if config.inputs not in ("ref", "qe"):
            raise ModelError(f"{config.name}: unknown estimator inputs {config.inputs!r} (ref or qe)")
        self.config = config
        self.mix = ScalarMix(config.num_layers)
        width = config.hidden_size * (6 if config.use_source and config.inputs == "ref" else 4) + config.align_width
        layers: list[nn.Module] = []
        for size in config.hidden_sizes:
            layers += [nn.Linear(width, size), nn.Tanh(), nn.Dropout(config.dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.regressor = nn.Sequential(*layers)

    def sentence(self, layers: torch.Tensor) -> torch.Tensor:
        return self.mix(layers)

    def score_sentences(self, h: torch.Tensor, r: torch.Tensor | None, s: torch.Tensor | None = None,
                        align: torch.Tensor | None = None) -> torch.Tensor:
        """Scores from already mixed sentence embeddings (B, H); ``align`` holds the raw alignment features."""
        cfg = self.config
        if (cfg.use_source or cfg.inputs == "qe") and s is None:
            raise ModelError(f"{cfg.name} needs the source segments (-s/--src)")
        if cfg.inputs == "qe":
            x = features(h, s)  # [h, s, h*s, |h-s|]: the source stands where a reference would
        elif r is None:
            raise ModelError(f"{cfg.name} needs a reference (-r/--ref)")
        else:
            x = features(h, r, s if cfg.use_source else None)
        if cfg.align_width:
            if align is None or align.shape[-1] != cfg.align_width:
                raise ModelError(f"{cfg.name}: expected {cfg.align_width} alignment features")
            mean = torch.tensor(cfg.align_mean, dtype=x.dtype)
            std = torch.tensor(cfg.align_std, dtype=x.dtype)
            x = torch.cat([x, (align.to(x.dtype) - mean) / std], dim=-1)
        return self.regressor(x).squeeze(-1)

    def forward(self, h: torch.Tensor, r: torch.Tensor | None, s: torch.Tensor | None = None,
                align: torch.Tensor | None = None) -> torch.Tensor:
        """Scores from layer-wise pooled embeddings (B, layers, H)."""
        mix = lambda x: self.mix(x) if x is not None else None  # noqa: E731
        return self.score_sentences(self.mix(h), mix(r), mix(s), align)


ENCODER_PREFIX = "encoder."


def model_files(directory: Path, name: str) -> tuple[Path, Path]:
    """``<name>.json`` (config) and ``<name>.safetensors`` (weights), flat in ``directory`` (package data)."""
    return directory / f"{name}.json", directory / f"{name}.safetensors"


def save_estimator(directory: Path, estimator: Estimator, encoder_layers: dict[str, torch.Tensor] | None = None) -> Path:
    """Head weights (and any fine-tuned encoder layers, stored as fp16) plus the config, each written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg_path, w_path = model_files(directory, estimator.config.name)
    tensors = {k: v.detach().float().contiguous() for k, v in estimator.state_dict().items()}
    for k, v in (encoder_layers or {}).items():
        tensors[ENCODER_PREFIX + k] = v.detach().to(torch.float16).contiguous()
    tmp = w_path.with_name(f".{w_path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.chmod(0o644)
    tmp.replace(w_path)
    tmp = cfg_path.with_name(f".{cfg_path.name}.tmp")
    estimator.config.save(tmp)
    tmp.replace(cfg_path)
    return w_path


def load_estimator(directory: Path, name: str) -> tuple[Estimator, dict[str, torch.Tensor]]:
    """The estimator (eval mode) and the fine-tuned encoder tensors to apply on the encoder."""
    cfg_path, w_path = model_files(directory, name)
    if not w_path.is_file() or not cfg_path.is_file():
        raise ModelError(f"{directory}: no trained estimator {name!r} ({cfg_path.name} and {w_path.name} expected); "
                         "train one with `evalkit train-metric --config configs/train-metric.toml`")
    config = EstimatorConfig.load(cfg_path)
    tensors = load_file(str(w_path))
    estimator = Estimator(config)
    head = {k: v for k, v in tensors.items() if not k.startswith(ENCODER_PREFIX)}
    try:
        estimator.load_state_dict(head)
    except RuntimeError as exc:
        raise ModelError(f"{w_path}: weights do not match {cfg_path}: {exc}") from None
    estimator.eval()
    enc = {k[len(ENCODER_PREFIX):]: v.float() for k, v in tensors.items() if k.startswith(ENCODER_PREFIX)}
    return estimator, enc
