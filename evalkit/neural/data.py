"""Training examples for the estimator: (hypothesis, reference, source, human score) from non-test data.

Sources (never WMT23, the test set):
* ``wmt22-da``: WMT22 zh-en crowd DA z-scores joined through ``sid-to-line``, reference A (``HUMAN-B`` is
  reference B judged as a system).
* ``ted-mqm``: Google MQM of the WMT21 TED talks zh-en, reference A (reference B when A is the one judged).
* ``mlqe-pe``: MLQE-PE X->en, 1 - HTER with the post-edit as the reference.

Each source's scores are standardised (z-scores from its training part, per language pair) so that
DA, MQM and HTER share one scale. The dev split holds out whole source segments (every system's
translation of them) for WMT22 and TED, and is MLQE-PE's official dev split.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from evalkit.errors import InputError
from evalkit.io.mlqe import read_post_edits
from evalkit.io.mqm_ted import read_ted_mqm

DATASETS = ("wmt22-da", "ted-mqm", "mlqe-pe")
MLQE_TO_ENGLISH = ("et-en", "ne-en", "ro-en", "ru-en", "si-en")


@dataclass(frozen=True)
class Example:
    dataset: str
    lp: str
    segment: str  # the source segment it translates; the unit of the dev split
    src: str
    hyp: str
    ref: str
    label: float
    split: str = "train"


def _held_out(key: str, dev_percent: float) -> bool:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 10000 < dev_percent * 100


def wmt22_da(root: Path, lp: str = "zh-en") -> list[Example]:
    """WMT22 DA joined to the text through ``sid-to-line`` (the one reader, ``judgments.wmt``); ``root`` is the data root."""
    from evalkit.neural.judgments.core import Tally
    from evalkit.neural.judgments.wmt import read_wmt22_da

    return [Example("wmt22-da", lp, j.segment, j.src, j.hyp, j.refs[0], j.label)
            for j in read_wmt22_da(root, lp, Tally(None)) if j.refs]


def ted_mqm(root: Path, pair: str = "zhen") -> list[Example]:
    rows = read_ted_mqm(root, pair)
    refs = {(r.system, r.seg_id): r.target for r in rows if r.system in ("ref-A", "ref-B")}
    lp = f"{pair[:2]}-{pair[2:]}"
    out = []
    for r in rows:
        ref = refs.get(("ref-B" if r.system == "ref-A" else "ref-A", r.seg_id))
        if ref is None:
            continue
        out.append(Example("ted-mqm", lp, f"ted:{pair}:{r.seg_id}", r.source, r.target, ref, r.score))
    return out


def mlqe_pe(root: Path, pairs: tuple[str, ...] = MLQE_TO_ENGLISH, per_pair: dict[str, int] | None = None) -> list[Example]:
    """The first ``per_pair[split]`` lines of each pair's split (all when absent)."""
    out = []
    for lp in pairs:
        for split in ("train", "dev"):
            data = read_post_edits(root, lp, split)
            for i in range(min(len(data), (per_pair or {}).get(split, len(data)))):
                out.append(Example("mlqe-pe", lp, f"mlqe:{lp}:{split}:{i}", data.src[i], data.mt[i], data.pe[i],
                                   1.0 - data.hter[i], "dev" if split == "dev" else "train"))
    return out


def load_examples(data_root: Path, datasets: list[str], dev_percent: float = 10.0,
                  mlqe_per_pair: dict[str, int] | None = None) -> list[Example]:
    """All examples, split and standardised; raises InputError for unknown names or missing folders."""
    readers = {
        "wmt22-da": lambda: wmt22_da(data_root),
        "ted-mqm": lambda: ted_mqm(data_root / "google-mqm-ted"),
        "mlqe-pe": lambda: mlqe_pe(data_root / "mlqe-pe", per_pair=mlqe_per_pair),
    }
    examples: list[Example] = []
    for name in datasets:
        if name not in readers:
            raise InputError(f"unknown training data set {name!r} (available: {', '.join(DATASETS)})")
        rows = readers[name]()
        if name != "mlqe-pe":
            rows = [replace(e, split="dev" if _held_out(e.segment, dev_percent) else "train") for e in rows]
        examples += rows
    return standardise(examples)


def standardise(examples: list[Example]) -> list[Example]:
    """z-scores per (dataset, language pair), with mean and spread taken from the training part."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in examples:
        if e.split == "train":
            groups[(e.dataset, e.lp)].append(e.label)
    stats = {k: (float(np.mean(v)), float(np.std(v)) or 1.0) for k, v in groups.items()}
    out = []
    for e in examples:
        mean, sd = stats.get((e.dataset, e.lp), (0.0, 1.0))
        out.append(replace(e, label=(e.label - mean) / sd))
    return out


def summary(examples: list[Example]) -> dict[str, dict[str, int]]:
    """``{dataset: {"train": n, "dev": n}}``."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "dev": 0})
    for e in examples:
        out[e.dataset][e.split] += 1
    return dict(out)
