"""Training the span tagger on human MQM error spans (``evalkit train-spans``), reproducibly.

Data (never WMT23, which is test data): the Google MQM ratings of the WMT21 TED talks (en-de, zh-en; by a
stable hash of the segment id, one segment in ``holdout_every`` is dev, where the epoch and thresholds are
chosen, and another one is test, left for ``bench/bench_spans.py``) and the BioMQM en-es documents of its
official dev split (its test documents stay unseen, for the bench too). Each MT token is one example: its
``features`` row, two soft labels (the share of its non-space characters inside a human error span, and
inside a major or critical one) and a weight of its non-space characters, so that the loss and the
thresholds follow character-level F1.
Consensus features are zeroed for a share of the training segments, so the one model serves runs with a
single system as well as runs with several. The epoch is the one with the best mean dev F1 over TED en-de
and zh-en, each with and without consensus evidence; then one threshold is chosen for segments with
consensus evidence and one for segments without (the lowest within ``PLATEAU`` of the best: F1 is flat
there, and recall should stay near the diff's), and the major threshold maximises the mean dev F1 of major
spans among the flagged tokens.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.config import load_dataclass, resolve_path
from evalkit.errors import InputError
from evalkit.io.mqm import MQMItem, char_set, read_biomqm, read_ted
from evalkit.spans.features import CONSENSUS, FEATURES, REF_XL_FEATURES
from evalkit.spans.pipeline import ReferenceAnnotator
from evalkit.spans.qe import QE_FEATURES, QEAnnotator
from evalkit.spans.tagger import SpanTagger

SECTION = "train-spans"
# F1 is flat around its optimum: of the thresholds within this much of the best mean dev F1, the lowest is
# taken, so that recall stays near the diff's (the "similar recall") at no real cost in dev F1.
PLATEAU = 0.005


@dataclass
class SpanTrainConfig:
    """The ``[train-spans]`` table of a TOML config; relative paths are resolved against the project root."""

    data: str = "../shared/data"
    output: str = "evalkit/spans/weights"
    name: str = "span-tagger"
    ted_pairs: list[str] = field(default_factory=lambda: ["ende", "zhen"])
    biomqm: str = "bio-mqm/data/v2/target/main_phase/round_two/en2es"
    biomqm_splits: str = "bio-mqm/data/doc_id_splits.json"
    biomqm_pair: str = "en-es"
    holdout_every: int = 10
    mode: str = "reference"  # or "qe": the source-only tagger over qe.QE_FEATURES
    max_segments: int = 0  # per TED pair and for BioMQM, with all their systems (0: all)
    cross_lingual: bool = False  # reference mode: add crossling's source evidence (features.REF_XL_FEATURES)
    consensus_dropout: float = 0.3
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 32])
    epochs: int = 8
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-5
    seed: int = 1
    threads: int = 2

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict | None = None) -> SpanTrainConfig:
        return load_dataclass(cls, path, SECTION, overrides)


def ted_fold(seg: str, every: int = 10) -> str:
    """``train``, ``dev`` or ``test`` for a TED segment, by a stable hash of its id (dev and test: 1 in ``every``)."""
    k = int(hashlib.sha1(seg.encode()).hexdigest(), 16) % every
    return "dev" if k == 0 else "test" if k == 1 else "train"


def biomqm_docs(splits: Path, pair: str, split: str) -> set[str]:
    """The document ids of one BioMQM split (``doc_id_splits.json``: ``{pair: {"dev"|"test": [...]}}``)."""
    try:
        return set(json.loads(splits.read_text(encoding="utf-8"))[pair][split])
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise InputError(f"{splits}: no {pair} {split} split ({exc})") from None


def biomqm_doc(seg: str) -> str:
    """``en_es_doc17.txt:3`` -> ``doc17`` (the document ids of BioMQM's split file)."""
    return seg.split(":")[0].rsplit("_", 1)[-1].removesuffix(".txt")


@dataclass
class Examples:
    """Token rows of one data part, with per-token gold characters and weights and the segment of each."""

    name: str
    x: np.ndarray
    gold: np.ndarray
    major: np.ndarray
    chars: np.ndarray
    segment: np.ndarray
    consensus: bool = True

    def f1(self, flags: np.ndarray, major: bool = False) -> tuple[float, float, float]:
        """Character P/R/F1 of flagged tokens against all human spans (or the major ones)."""
        marked = self.major if major else self.gold
        tp = float((marked * flags).sum())
        pred = float((self.chars * flags).sum())
        gold = float(marked.sum())
        p = tp / pred if pred else 0.0
        r = tp / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def others_of(items: Sequence[MQMItem], pool: Sequence[MQMItem]) -> list[list[str]]:
    """Other systems' outputs of each item's segment (the consensus evidence), from all rated outputs."""
    by_seg: dict[str, dict[str, str]] = defaultdict(dict)
    for it in pool:
        by_seg[it.seg][it.system] = it.mt
    return [[mt for system, mt in by_seg[it.seg].items() if system != it.system] for it in items]


def examples(name: str, items: Sequence[MQMItem], pool: Sequence[MQMItem], annotator: ReferenceAnnotator | QEAnnotator,
             consensus: bool = True) -> Examples:
    """Feature rows and character labels for the MT tokens of ``items`` (reference or QE evidence)."""
    others = others_of(items, pool) if consensus else None
    if isinstance(annotator, QEAnnotator):
        evidence: Sequence[Any] = annotator.evidence([it.mt for it in items], [it.src for it in items], others)
        tokens = [ev.mt_tokens for ev in evidence]
    else:
        evidence = annotator.evidence([it.mt for it in items], [it.refs for it in items], [it.src for it in items],
                                      others)
        tokens = [ev.alignments[0].hyp_tokens if ev.alignments else [] for ev in evidence]
    xs, gold, major, chars, seg = [], [], [], [], []
    for k, (it, ev, toks) in enumerate(zip(items, evidence, tokens)):
        if not toks:
            continue
        marked = char_set(it.mt, ((e.start, e.end) for e in it.errors))
        serious = char_set(it.mt, ((e.start, e.end) for e in it.errors if e.severity in ("major", "critical")))
        for t in toks:
            idx = [i for i in range(t.start, t.end) if not it.mt[i].isspace()]
            chars.append(len(idx))
            gold.append(sum(i in marked for i in idx))
            major.append(sum(i in serious for i in idx))
            seg.append(k)
        xs.append(ev.features)
    width = len(QE_FEATURES) if isinstance(annotator, QEAnnotator) else len(
        REF_XL_FEATURES if annotator.cross_lingual else FEATURES)
    x = np.concatenate(xs) if xs else np.zeros((0, width), dtype=np.float32)
    return Examples(name, x, np.array(gold, np.float32), np.array(major, np.float32), np.array(chars, np.float32),
                    np.array(seg), consensus)


def usable(items: Sequence[MQMItem], src: bool = False) -> list[MQMItem]:
    """Items with an MT and a reference (and a source, with ``src``: QE mode reads it)."""
    return [it for it in items if it.mt.strip() and it.refs and it.refs[0].strip() and (not src or it.src.strip())]


def first_segments(items: Sequence[MQMItem], n: int) -> list[MQMItem]:
    """The items of the first ``n`` segments in a stable hashed order, all their systems (``n`` 0: all)."""
    if n <= 0:
        return list(items)
    segs = sorted({it.seg for it in items}, key=lambda s: hashlib.sha1(f"pick:{s}".encode()).hexdigest())[:n]
    keep = set(segs)
    return [it for it in items if it.seg in keep]


def load_parts(cfg: SpanTrainConfig, root: Path,
               annotator: ReferenceAnnotator | QEAnnotator) -> tuple[list[Examples], list[Examples]]:
    """Training parts (TED train folds, BioMQM dev documents) and dev parts (TED dev folds, +/- consensus)."""
    data = resolve_path(cfg.data, root)
    train, dev = [], []
    for pair in cfg.ted_pairs:
        ted = read_ted(data / "google-mqm-ted", pair)
        items = usable(ted.items, cfg.mode == "qe")
        fit = first_segments([it for it in items if ted_fold(it.seg, cfg.holdout_every) == "train"], cfg.max_segments)
        held = first_segments([it for it in items if ted_fold(it.seg, cfg.holdout_every) == "dev"],
                              cfg.max_segments // 4)
        _log(f"TED {pair}: {len(fit)} training and {len(held)} dev segments")
        train.append(examples(f"ted-{pair}", fit, ted.items, annotator))
        dev.append(examples(f"ted-{pair} dev", held, ted.items, annotator))
        dev.append(examples(f"ted-{pair} dev, no consensus", held, ted.items, annotator, consensus=False))
    if cfg.biomqm:
        docs = biomqm_docs(data / cfg.biomqm_splits, cfg.biomqm_pair, "dev")
        bio = read_biomqm(data / cfg.biomqm)
        fit = first_segments([it for it in usable(bio.items, cfg.mode == "qe") if biomqm_doc(it.seg) in docs], cfg.max_segments)
        _log(f"BioMQM {cfg.biomqm_pair}: {len(fit)} segments of the dev documents")
        train.append(examples(f"biomqm-{cfg.biomqm_pair} dev docs", fit, bio.items, annotator))
    return train, dev


def fit(cfg: SpanTrainConfig, train: Sequence[Examples], dev: Sequence[Examples],
        features: tuple[str, ...] = FEATURES) -> tuple[SpanTagger, dict]:
    """Train the network; keep the epoch and threshold with the best mean dev F1."""
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    xs = []
    for part in train:
        x = part.x.copy()
        drop = rng.random(int(part.segment.max()) + 1 if len(part.segment) else 0) < cfg.consensus_dropout
        x[drop[part.segment], -CONSENSUS:] = 0.0
        xs.append(x)
    x_all = np.concatenate(xs)
    soft = np.stack([np.concatenate([getattr(p, k) / np.maximum(p.chars, 1) for p in train]) for k in ("gold", "major")],
                    axis=1).astype(np.float32)
    weight = np.concatenate([p.chars for p in train]).astype(np.float32)
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-6] = 1.0
    sizes = [len(features), *cfg.hidden_sizes, 2]
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k + 2 < len(sizes):
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x_t = torch.tensor((x_all - mean) / scale, dtype=torch.float32)
    y_t, w_t = torch.tensor(soft), torch.tensor(weight)
    dev_x = [torch.tensor((d.x - mean) / scale, dtype=torch.float32) for d in dev]
    grid = np.round(np.arange(0.05, 0.60, 0.01), 2)
    best: tuple[float, int, dict[str, float], dict] | None = None
    history = []
    for epoch in range(1, cfg.epochs + 1):
        net.train()
        order = torch.randperm(len(x_t))
        total = 0.0
        for b in range(0, len(order), cfg.batch_size):
            i = order[b:b + cfg.batch_size]
            loss = nn.functional.binary_cross_entropy_with_logits(net(x_t[i]), y_t[i], reduction="none").sum(dim=1)
            loss = (loss * w_t[i]).sum() / w_t[i].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(i)
        net.eval()
        with torch.no_grad():
            probs = [torch.sigmoid(net(x))[:, 0].numpy() for x in dev_x]
        thresholds, score = _thresholds(dev, probs, grid)
        history.append({"epoch": epoch, "loss": total / len(order), "dev_mean_f1": score, **thresholds})
        _log(f"epoch {epoch}: loss {total / len(order):.4f}, dev mean F1 {score:.4f} at thresholds {thresholds}")
        if best is None or score > best[0]:
            state = {n: v.detach().clone() for n, v in net.state_dict().items()}
            best = (score, epoch, thresholds, state)
    assert best is not None
    net.load_state_dict(best[3])
    linear = [m for m in net if isinstance(m, nn.Linear)]
    tagger = SpanTagger(mean.astype(np.float32), scale.astype(np.float32),
                        tuple((m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linear),
                        best[2]["threshold"], "", cfg.name, single_threshold=best[2]["single_threshold"],
                        features=tuple(features))
    tagger = replace(tagger, major_threshold=major_threshold(tagger, dev, grid))
    _log(f"major threshold {tagger.major_threshold:.2f}")
    report = {"best_epoch": best[1], **best[2], "major_threshold": tagger.major_threshold,
              "history": history,
              "dev": dev_table(tagger, dev), "train_parts": {p.name: int(len(p.x)) for p in train}}
    return tagger, report


def _thresholds(dev: Sequence[Examples], probs: Sequence[np.ndarray],
                grid: np.ndarray) -> tuple[dict[str, float], float]:
    """Per condition (with / without consensus) the lowest threshold within ``PLATEAU`` of the best mean dev F1,
    and the mean dev F1 over all parts at those thresholds."""
    out: dict[str, float] = {}
    scores: list[float] = []
    for key, consensus in (("threshold", True), ("single_threshold", False)):
        parts = [(d, p) for d, p in zip(dev, probs) if d.consensus == consensus]
        if not parts:
            continue
        table = np.array([[d.f1(p >= t)[2] for t in grid] for d, p in parts])
        means = table.mean(axis=0)
        k = int(np.flatnonzero(means >= means.max() - PLATEAU)[0])
        out[key] = float(grid[k])
        scores.extend(table[:, k].tolist())
    out.setdefault("threshold", out.get("single_threshold", 0.5))
    out.setdefault("single_threshold", out["threshold"])
    return out, float(np.mean(scores)) if scores else 0.0


def major_threshold(tagger: SpanTagger, dev: Sequence[Examples], grid: np.ndarray) -> float:
    """The P(major) threshold with the best mean dev F1 against major human spans, among flagged tokens."""
    outs = [tagger.outputs(d.x) for d in dev]
    means = [float(np.mean([d.f1((o[:, 0] >= tagger.threshold_for(d.consensus)) & (o[:, 1] >= t), major=True)[2]
                            for d, o in zip(dev, outs)])) for t in grid]
    return float(grid[int(np.argmax(means))])


def dev_table(tagger: SpanTagger, dev: Sequence[Examples]) -> dict[str, dict[str, float]]:
    """Dev P/R/F1 of the tagger beside the diff (every edited token) and flag-everything baselines,
    for all human spans and for the major ones (the tagger's tokens with P(major) over its threshold)."""
    out = {}
    for d in dev:
        o = tagger.outputs(d.x)
        flags = o[:, 0] >= tagger.threshold_for(d.consensus)
        rows = {"tagger": d.f1(flags), "flag-all": d.f1(np.ones(len(o), bool)),
                "tagger major": d.f1(flags & (o[:, 1] >= (tagger.major_threshold or 0.0)), major=True)}
        if "state_ok" in tagger.features:
            diff = d.x[:, tagger.features.index("state_ok")] == 0
            rows.update({"diff": d.f1(diff), "diff major": d.f1(diff, major=True)})
        out[d.name] = {f"{method} {k}": round(v, 4) for method, prf in rows.items() for k, v in zip("PRF", prf)}
    return out


def run(cfg: SpanTrainConfig, root: Path) -> tuple[SpanTagger, dict]:
    start = time.perf_counter()
    if cfg.mode not in ("reference", "qe"):
        raise InputError(f"train-spans: mode {cfg.mode!r} is not reference or qe")
    annotator = QEAnnotator() if cfg.mode == "qe" else ReferenceAnnotator(cross_lingual=cfg.cross_lingual)
    train, dev = load_parts(cfg, root, annotator)
    features = QE_FEATURES if cfg.mode == "qe" else REF_XL_FEATURES if cfg.cross_lingual else FEATURES
    tagger, report = fit(cfg, train, dev, features)
    report["config"] = asdict(cfg)
    report["seconds"] = round(time.perf_counter() - start, 1)
    return tagger, report


def _log(msg: str) -> None:
    print(f"train-spans: {msg}", file=sys.stderr, flush=True)
