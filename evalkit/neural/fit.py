"""The one head-training loop of evalkit's estimators: Adam on MSE, the epoch with the best dev score kept."""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

# inputs(indices) -> the model's positional arguments for those training rows
Inputs = Callable[[torch.Tensor], tuple]
# evaluate() -> (the score to maximise, details stored with the epoch)
Evaluate = Callable[[], tuple[float, dict]]


def fit(model: nn.Module, inputs: Inputs, y: torch.Tensor, evaluate: Evaluate, *, epochs: int, batch_size: int,
        lr: float, seed: int, log: Callable[[str], None], label: str) -> tuple[nn.Module, dict]:
    """Train ``model`` in place; returns it with the best epoch's weights and ``{epoch, dev, history}``."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best: tuple[float, dict, dict] | None = None
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = perm[start:start + batch_size]
            loss = nn.functional.mse_loss(model(*inputs(idx)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        score, details = evaluate()
        history.append({"epoch": epoch, "train_mse": total / len(y), "dev": score})
        log(f"{label} epoch {epoch}: train mse {total / len(y):.4f}, dev {score:.4f}")
        if best is None or score > best[0]:
            best = (score, copy.deepcopy(model.state_dict()), {"epoch": epoch, "dev": details})
    assert best is not None
    model.load_state_dict(best[1])
    model.eval()
    return model, {**best[2], "history": history}
