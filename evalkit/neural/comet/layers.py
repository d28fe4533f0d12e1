"""COMET's layer mix, pooling and feed-forward head, rebuilt from the checkpoint's tensors.

The layer mix is ``gamma * sum_k w_k * layer_k`` with ``w = softmax(s)`` or ``sparsemax(s)`` over the
scalar parameters; with ``layer_norm`` each layer is first normalised over all of a sentence's unmasked
token states together (COMET's masked layer norm, not ``nn.LayerNorm``).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from evalkit.errors import ModelError

# COMET builds activations as getattr(torch.nn, name.title()); these are the parameter-free ones that exist.
ACTIVATIONS = ("Tanh", "Sigmoid", "Softplus", "Softsign", "Tanhshrink", "Hardtanh", "Hardsigmoid", "Hardswish",
               "Mish", "Identity")


def sparsemax(x: torch.Tensor) -> torch.Tensor:
    """Sparsemax of a vector (Martins & Astudillo 2016), computed as ``entmax.sparsemax`` does."""
    x = x - x.max()
    ordered, _ = torch.sort(x, descending=True)
    cumsum = ordered.cumsum(0) - 1
    rhos = torch.arange(1, x.numel() + 1, dtype=x.dtype, device=x.device)
    support = (rhos * ordered > cumsum).sum()
    tau = cumsum[support - 1] / support.to(x.dtype)
    return torch.clamp(x - tau, min=0)


def masked_layer_norm(tensor: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, H) states normalised by the mean and variance over each sentence's unmasked tokens."""
    batch, _, dim = tensor.shape
    mask = mask.to(tensor.dtype)
    broadcast = mask.unsqueeze(-1)
    masked = tensor * broadcast
    count = mask.sum(1) * dim
    mean = (masked.view(batch, -1).sum(1) / count).view(batch, 1, 1)
    variance = (((masked - mean) * broadcast) ** 2).view(batch, -1).sum(1) / count
    return (tensor - mean) / torch.sqrt(variance + 1e-12).view(batch, 1, 1)


class LayerMix(nn.Module):
    """COMET's ``LayerwiseAttention`` at inference (dropout on the weights is training-only)."""

    def __init__(self, scalars: torch.Tensor, gamma: torch.Tensor, transformation: str, layer_norm: bool) -> None:
        super().__init__()
        if transformation not in ("softmax", "sparsemax"):
            raise ModelError(f"unknown layer transformation {transformation!r}")
        self.register_buffer("scalars", scalars.detach().float().reshape(-1).clone())
        self.register_buffer("gamma", gamma.detach().float().reshape(-1).clone())
        self.transformation = transformation
        self.layer_norm = bool(layer_norm)

    def weights(self) -> torch.Tensor:
        if self.transformation == "sparsemax":
            return sparsemax(self.scalars)
        return torch.softmax(self.scalars, dim=0)

    def last_used(self) -> int:
        """The highest layer with a non-zero weight (sparsemax zeroes some; the layers above need no computing)."""
        return int(torch.nonzero(self.weights()).max())

    def forward(self, layers: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """The mix of ``layers``; fewer layers than weights only when the weights of the missing ones are 0."""
        weights = self.weights()
        if len(layers) > weights.numel() or bool((weights[len(layers):] != 0).any()):
            raise ModelError(f"the layer mix has {weights.numel()} weights for {len(layers)} encoder layers")
        total: torch.Tensor | None = None
        for k, states in enumerate(layers):
            part = weights[k] * (masked_layer_norm(states, mask) if self.layer_norm else states)
            total = part if total is None else total + part
        assert total is not None
        return self.gamma * total


def average_pool(input_ids: torch.Tensor, states: torch.Tensor, mask: torch.Tensor, pad_id: int) -> torch.Tensor:
    """COMET's average pooling: pad tokens left out of the sum (by id), the attention mask as the count."""
    summed = states.float().masked_fill(input_ids.eq(pad_id).unsqueeze(-1), 0.0).type_as(states).sum(1)
    return summed / mask.unsqueeze(-1).expand(states.size()).float().sum(1)


def max_pool(input_ids: torch.Tensor, states: torch.Tensor, pad_id: int) -> torch.Tensor:
    return states.float().masked_fill(input_ids.eq(pad_id).unsqueeze(-1), float("-inf")).type_as(states).max(dim=1)[0]


def feed_forward(state: dict[str, torch.Tensor], prefix: str, activation: str, final: str | None) -> nn.Sequential:
    """COMET's ``FeedForward`` (Linear, activation, dropout)* then Linear [final activation], from its tensors.

    Sizes come from the weights (``prefix`` + ``ff.0``, ``ff.3``, ...), so the head needs no hyper-parameters.
    """
    indices = []
    while f"{prefix}ff.{3 * len(indices)}.weight" in state:
        indices.append(3 * len(indices))
    if not indices:
        raise ModelError(f"no feed-forward head in the checkpoint (expected {prefix}ff.0.weight)")
    layers: list[nn.Module] = []
    for n, i in enumerate(indices):
        w, b = state[f"{prefix}ff.{i}.weight"], state.get(f"{prefix}ff.{i}.bias")
        if n and w.shape[1] != layers[-2].out_features:
            raise ModelError(f"the feed-forward head's {prefix}ff.{i} reads {w.shape[1]} values, the layer before "
                             f"gives {layers[-2].out_features}")
        linear = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            linear.weight.copy_(w.float())
            if b is not None:
                linear.bias.copy_(b.float())
        layers.append(linear)
        if n < len(indices) - 1:
            layers.append(activation_module(activation))
    if final:
        layers.append(activation_module(final))
    return nn.Sequential(*layers).eval()


def activation_module(name: str) -> nn.Module:
    title = str(name).title()
    if title not in ACTIVATIONS:
        raise ModelError(f"activation {name!r} is not one COMET builds (torch.nn.{title}); known: {', '.join(ACTIVATIONS)}")
    return getattr(nn, title)()
