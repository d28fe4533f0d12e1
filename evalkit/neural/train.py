"""Training the COMET-style estimator on human judgments (``evalkit train-metric``), reproducibly.

1. Frozen encoder: every distinct text is embedded once (layer-wise pooled states, cached on disk by
   the predict loop), then only the layer mix and the regressor are trained, with the epoch chosen by
   dev correlation.
2. Fine-tuned: starting from that head, the encoder's top layers are trained too, for one short epoch
   on a subset (all a 2-core CPU affords).
The variant with the higher dev correlation is saved; both figures go into the model card, with the
dev correlation of the int8-quantised encoder beside fp32.
"""
from __future__ import annotations

import copy
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evalkit.config import load_dataclass, resolve_path
from evalkit.errors import InputError
from evalkit.neural.data import DATASETS, Example, load_examples, summary
from evalkit.neural.encoder import DEFAULT_ENCODER, TransformerEncoder, locate_encoder
from evalkit.neural.fit import fit
from evalkit.neural.model import Estimator, EstimatorConfig, save_estimator
from evalkit.neural.predict import VectorCache, default_cache_dir, predict

SECTION = "train-metric"


@dataclass
class TrainConfig:
    """The ``[train-metric]`` table of a TOML config; relative paths are resolved against the project root."""

    data: str = "../shared/data"
    output: str = "evalkit/neural/weights"
    name: str = "comet-minilm"
    encoder: str = DEFAULT_ENCODER
    model_path: str | None = None
    datasets: list[str] = field(default_factory=lambda: list(DATASETS))
    dev_percent: float = 10.0
    # MLQE-PE lines per language pair (the first N of each split; 0 = all): keeps CPU training short
    mlqe_train_per_pair: int = 0
    mlqe_dev_per_pair: int = 0
    seed: int = 1
    threads: int = 2
    max_length: int = 256
    hidden_sizes: list[int] = field(default_factory=lambda: [512, 128])
    dropout: float = 0.1
    cache_dir: str | None = None
    # frozen encoder: the head alone
    epochs: int = 12
    batch_size: int = 64
    lr: float = 5e-4
    # fine-tuning the top layers (0 = skip the comparison)
    finetune_layers: int = 2
    finetune_examples: int = 12000
    finetune_batch_size: int = 16
    finetune_lr: float = 2e-5
    finetune_head_lr: float = 1e-4
    embed_batch_size: int = 64

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict | None = None) -> "TrainConfig":
        return load_dataclass(cls, path, SECTION, overrides)


def _log(msg: str) -> None:
    print(f"[train-metric] {msg}", file=sys.stderr, flush=True)


def correlations(pred: np.ndarray, examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Segment-level Kendall tau-b and Pearson r per data set, and their mean tau as ``all``."""
    from scipy.stats import kendalltau, pearsonr

    out: dict[str, dict[str, float]] = {}
    names = sorted({e.dataset for e in examples})
    for name in names:
        idx = [i for i, e in enumerate(examples) if e.dataset == name]
        gold = np.array([examples[i].label for i in idx])
        p = pred[idx]
        out[name] = {"kendall": float(kendalltau(p, gold).statistic), "pearson": float(pearsonr(p, gold).statistic),
                     "n": len(idx)}
    out["all"] = {"kendall": float(np.mean([out[n]["kendall"] for n in names])),
                  "pearson": float(np.mean([out[n]["pearson"] for n in names])), "n": len(examples)}
    return out


class LayerTable:
    """Layer-wise pooled embeddings of every distinct text, one row per text."""

    def __init__(self, texts: Sequence[str], matrix: np.ndarray, num_layers: int) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.matrix = torch.from_numpy(matrix.reshape(len(texts), num_layers, -1))

    def rows(self, texts: Sequence[str]) -> torch.Tensor:
        return self.matrix[[self.index[t] for t in texts]]


def embed_table(encoder: TransformerEncoder, texts: Sequence[str], cache: VectorCache | None,
                batch_size: int, description: str) -> LayerTable:
    unique = list(dict.fromkeys(texts))
    signature = f"layers|{encoder.name}@{encoder.checksum}|len:{encoder.max_length}|torch:{torch.__version__}"

    def fn(batch: list[str]) -> tuple[np.ndarray, int]:
        layers, truncated = encoder.embed_layers(batch)
        return layers.reshape(len(batch), -1), truncated

    matrix, info = predict(unique, fn, signature=signature, cache=cache, batch_size=batch_size,
                           progress=sys.stderr.isatty(), description=description)
    _log(f"{description}: {info.unique} texts, {info.cached} cached, {info.computed} embedded in {info.seconds:.0f}s, "
         f"{info.truncated} truncated")
    return LayerTable(unique, matrix, encoder.num_layers)


def predict_examples(estimator: Estimator, table: LayerTable, examples: Sequence[Example], batch_size: int = 512) -> np.ndarray:
    estimator.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(examples), batch_size):
            chunk = examples[i:i + batch_size]
            out.append(estimator(table.rows([e.hyp for e in chunk]), table.rows([e.ref for e in chunk])).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train_head(estimator: Estimator, table: LayerTable, train: list[Example], dev: list[Example],
               cfg: TrainConfig) -> tuple[Estimator, dict]:
    """Adam on MSE; returns the epoch with the best mean dev Kendall tau."""
    h_all, r_all = table.rows([e.hyp for e in train]), table.rows([e.ref for e in train])
    y_all = torch.tensor([e.label for e in train], dtype=torch.float32)

    def evaluate() -> tuple[float, dict]:
        corr = correlations(predict_examples(estimator, table, dev), dev)
        return corr["all"]["kendall"], corr

    return fit(estimator, lambda idx: (h_all[idx], r_all[idx]), y_all, evaluate, epochs=cfg.epochs,
               batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, log=_log, label="frozen")


def top_layer_names(encoder: TransformerEncoder, k: int) -> list[int]:
    n = encoder.num_layers - 1
    return list(range(max(0, n - k), n))


def _layer_modules(encoder: TransformerEncoder) -> nn.ModuleList:
    layers = getattr(getattr(encoder.model, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise InputError(f"fine-tuning needs a BERT-like encoder (model.encoder.layer); {encoder.name} has none")
    return layers


def finetune(encoder: TransformerEncoder, estimator: Estimator, train: list[Example], cfg: TrainConfig,
             layers: list[int], log: Callable[[str], None] = _log) -> dict[str, torch.Tensor]:
    """One pass over a random subset, training the top ``layers`` and the head; returns their tensors."""
    rng = random.Random(cfg.seed)
    subset = rng.sample(train, min(cfg.finetune_examples, len(train)))
    modules = _layer_modules(encoder)
    for p in encoder.parameters():
        p.requires_grad_(False)
    trainable = [p for i in layers for p in modules[i].parameters()]
    for p in trainable:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": trainable, "lr": cfg.finetune_lr},
                             {"params": list(estimator.parameters()), "lr": cfg.finetune_head_lr}], weight_decay=0.0)
    encoder.train()
    estimator.train()
    start, total, seen = time.perf_counter(), 0.0, 0
    for step, i in enumerate(range(0, len(subset), cfg.finetune_batch_size), 1):
        chunk = subset[i:i + cfg.finetune_batch_size]
        texts = [e.hyp for e in chunk] + [e.ref for e in chunk]
        batch, _ = encoder.tokenize(texts)
        pooled = encoder(**batch)
        h, r = pooled[: len(chunk)], pooled[len(chunk):]
        y = torch.tensor([e.label for e in chunk], dtype=torch.float32)
        loss = nn.functional.mse_loss(estimator(h, r), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(chunk)
        seen += len(chunk)
        if step % 100 == 0:
            log(f"fine-tune {seen}/{len(subset)}: mse {total / seen:.4f} ({seen / (time.perf_counter() - start):.1f} ex/s)")
    encoder.eval()
    estimator.eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    state = encoder.model.state_dict()
    prefixes = tuple(f"encoder.layer.{i}." for i in layers)
    return {k: v.clone() for k, v in state.items() if k.startswith(prefixes)}


def run(cfg: TrainConfig, base: Path) -> dict:
    """Train, choose, save; returns the report that the model card is written from."""
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    data_root, out_dir = resolve_path(cfg.data, base), resolve_path(cfg.output, base)
    if not data_root.is_dir():
        raise InputError(f"{data_root}: training data folder not found (set data = ... in [{SECTION}])")
    if any("wmt23" in d.lower() for d in cfg.datasets):
        raise InputError("WMT23 is the test set: never train on it")
    t0 = time.perf_counter()
    limits = {k: v for k, v in (("train", cfg.mlqe_train_per_pair), ("dev", cfg.mlqe_dev_per_pair)) if v > 0}
    examples = load_examples(data_root, cfg.datasets, cfg.dev_percent, limits)
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    sizes = summary(examples)
    _log(f"data: {sizes}")

    encoder = TransformerEncoder(locate_encoder(cfg.encoder, cfg.model_path), cfg.max_length)
    cache = VectorCache(resolve_path(cfg.cache_dir, base) if cfg.cache_dir else default_cache_dir())
    table = embed_table(encoder, [t for e in examples for t in (e.hyp, e.ref)], cache, cfg.embed_batch_size,
                        "embedding training texts")
    est_cfg = EstimatorConfig(
        name=cfg.name, encoder=encoder.name, encoder_checksum=encoder.checksum, num_layers=encoder.num_layers,
        hidden_size=encoder.hidden_size, hidden_sizes=list(cfg.hidden_sizes), dropout=cfg.dropout,
        use_source=False, max_length=encoder.max_length,
    )
    estimator, frozen = train_head(Estimator(est_cfg), table, train, dev, cfg)
    report: dict = {"config": asdict(cfg), "data": sizes, "frozen": frozen}

    chosen_state, chosen_layers, chosen_tensors = copy.deepcopy(estimator.state_dict()), [], {}
    chosen_dev = frozen["dev"]
    if cfg.finetune_layers > 0:
        tuned_encoder = copy.deepcopy(encoder)
        tuned = copy.deepcopy(estimator)
        layers = top_layer_names(tuned_encoder, cfg.finetune_layers)
        t1 = time.perf_counter()
        tensors = finetune(tuned_encoder, tuned, train, cfg, layers)
        dev_table = embed_table(tuned_encoder, [t for e in dev for t in (e.hyp, e.ref)], None, cfg.embed_batch_size,
                                "embedding dev texts (fine-tuned)")
        tuned_dev = correlations(predict_examples(tuned, dev_table, dev), dev)
        report["finetuned"] = {"layers": layers, "examples": min(cfg.finetune_examples, len(train)),
                               "seconds": time.perf_counter() - t1, "dev": tuned_dev}
        _log(f"dev tau: frozen {frozen['dev']['all']['kendall']:.4f}, fine-tuned {tuned_dev['all']['kendall']:.4f}")
        if tuned_dev["all"]["kendall"] > frozen["dev"]["all"]["kendall"]:
            chosen_state, chosen_layers, chosen_tensors, chosen_dev = tuned.state_dict(), layers, tensors, tuned_dev
            encoder = tuned_encoder
    report["chosen"] = "fine-tuned" if chosen_layers else "frozen"

    est_cfg.finetuned_layers = chosen_layers
    final = Estimator(est_cfg)
    final.load_state_dict(chosen_state)
    final.eval()
    report["dev_fp32"] = chosen_dev
    quantized = copy.deepcopy(encoder)
    quantized.quantize_int8()
    q_table = embed_table(quantized, [t for e in dev for t in (e.hyp, e.ref)], None, cfg.embed_batch_size,
                          "embedding dev texts (int8)")
    q_pred = predict_examples(final, q_table, dev)
    report["dev_int8"] = correlations(q_pred, dev)
    report["seconds"] = time.perf_counter() - t0
    est_cfg.training = {
        "data": sizes, "chosen": report["chosen"], "seed": cfg.seed,
        "dev_kendall_fp32": round(chosen_dev["all"]["kendall"], 4),
        "dev_kendall_int8": round(report["dev_int8"]["all"]["kendall"], 4),
        "dev_kendall_frozen": round(frozen["dev"]["all"]["kendall"], 4),
        "dev_kendall_finetuned": round(report["finetuned"]["dev"]["all"]["kendall"], 4) if "finetuned" in report else None,
    }
    weights = save_estimator(out_dir, final, chosen_tensors)
    report["weights"] = str(weights)
    report["weights_bytes"] = weights.stat().st_size
    _log(f"saved {weights} ({weights.stat().st_size / 1e6:.1f} MB), {report['chosen']} encoder; "
         f"dev tau fp32 {chosen_dev['all']['kendall']:.4f}, int8 {report['dev_int8']['all']['kendall']:.4f}")
    return report
