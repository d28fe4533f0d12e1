"""What an estimator needs of one text: layer-wise pooled states and unit-length token states at a few layers.

Pooled states feed COMET's sentence features; token states feed alignment features between two texts
(BERTScore's greedy matching: precision, recall and F over cosine similarities), which separate close
translations of one source better than pooled vectors do, and work across languages at the middle layers
of a multilingual encoder (hypothesis against source). Both come from one encoder pass.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from evalkit.neural.encoder import LayerwiseEncoder, masked_mean

ALIGN_FEATURES_PER_PAIR = 3  # precision, recall, F


@dataclass(frozen=True)
class TextState:
    """``pooled``: (layers, hidden); ``tokens[k]``: (content tokens, hidden), unit rows, at ``align_layers[k]``."""

    pooled: np.ndarray
    tokens: tuple[np.ndarray, ...]
    truncated: bool


def encode_states(encoder: LayerwiseEncoder, texts: Sequence[str], align_layers: Sequence[int],
                  dtype: np.dtype = np.float32) -> list[TextState]:
    """One pass over ``texts`` (a batch); ``<s>``/``</s>`` are left out of the token states."""
    batch, _ = encoder.tokenize(texts)
    device = next(encoder.model.parameters()).device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    with torch.inference_mode():
        states = encoder.hidden_states(ids, mask)
        pooled = masked_mean(states, mask).float().cpu().numpy().astype(dtype)
        picked = [torch.nn.functional.normalize(states[:, layer].float(), dim=-1).cpu().numpy().astype(dtype)
                  for layer in align_layers]
    lengths = mask.sum(dim=1).tolist()
    out = []
    for row, n in enumerate(lengths):
        tokens = tuple(p[row, 1:n - 1] for p in picked)
        out.append(TextState(pooled[row], tokens, n >= encoder.max_length))
    return out


def greedy_match(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """BERTScore-style precision (a's tokens matched in b), recall and F1 from unit token rows."""
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0, 0.0
    sim = a.astype(np.float32) @ b.astype(np.float32).T
    p = float(sim.max(axis=1).mean())
    r = float(sim.max(axis=0).mean())
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def pair_features(hyp: TextState, other: TextState) -> list[float]:
    """Greedy-match P/R/F at every alignment layer, then the log token-length ratio."""
    out: list[float] = []
    for a, b in zip(hyp.tokens, other.tokens):
        out.extend(greedy_match(a, b))
    n_h, n_o = len(hyp.tokens[0]) if hyp.tokens else 0, len(other.tokens[0]) if other.tokens else 0
    out.append(float(np.log((n_h + 1) / (n_o + 1))))
    return out


def features_per_pair(n_layers: int) -> int:
    return n_layers * ALIGN_FEATURES_PER_PAIR + 1
