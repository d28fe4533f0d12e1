"""Training examples for the e5 estimators, from human judgments of many language pairs (never WMT23).

Three steps, each a small pure function so that a run is reproducible from its config:
* **split**: a hash of the source segment puts every translation of a source in train or in dev,
  within each (data set, language pair);
* **balance**: at most ``cap`` training (and ``cap * dev share``) examples per (data set, language pair),
  drawn with a fixed seed, so that no pair or campaign dominates;
* **standardise**: labels become z-scores within each judgment group (a campaign, a pair, an annotator),
  with mean and spread taken from the group's training part: DA, MQM, ESA and HTER then share one scale.
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from evalkit.neural.judgments import Judgment


@dataclass(frozen=True)
class E5Example:
    dataset: str
    lp: str
    group: str
    segment: str
    src: str
    hyp: str
    ref: str | None     # an independent reference, or the human post-edit of this MT (``ref_kind``)
    ref_kind: str       # "reference", "post-edit" or "none"
    label: float
    split: str = "train"

    @property
    def pair_key(self) -> str:
        return f"{self.dataset}:{self.lp}"


def held_out(segment: str, dev_percent: float) -> bool:
    digest = hashlib.sha256(segment.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 10000 < dev_percent * 100


def from_judgments(judgments: Sequence[Judgment], dev_percent: float) -> list[E5Example]:
    """One example per judgment with a non-empty MT and source; the standard reference first, else the post-edit."""
    out = []
    for j in judgments:
        if not j.hyp.strip() or not j.src.strip():
            continue
        if j.refs:
            ref, kind = j.refs[0], "reference"
        elif j.post_edit is not None:
            ref, kind = j.post_edit, "post-edit"
        else:
            ref, kind = None, "none"
        out.append(E5Example(j.dataset, j.lp, j.group, j.segment, j.src, j.hyp, ref, kind, float(j.label),
                             "dev" if held_out(j.segment, dev_percent) else "train"))
    return out


def balance(examples: Sequence[E5Example], caps: dict[str, int], default_cap: int, dev_percent: float,
            seed: int) -> list[E5Example]:
    """At most ``cap`` train and ``cap * dev% / (100 - dev%)`` dev examples per (data set, pair), seeded."""
    by_key: dict[tuple[str, str], list[E5Example]] = defaultdict(list)
    for e in examples:
        by_key[(e.pair_key, e.split)].append(e)
    out = []
    for (key, split), rows in sorted(by_key.items()):
        cap = caps.get(key.split(":")[0], default_cap)
        if split == "dev":
            cap = max(1, round(cap * dev_percent / (100.0 - dev_percent)))
        if len(rows) > cap:
            rng = random.Random(f"{seed}:{key}:{split}")
            rows = rng.sample(rows, cap)
        out += sorted(rows, key=lambda e: (e.segment, e.hyp))
    return out


def standardise(examples: Sequence[E5Example]) -> list[E5Example]:
    """z-scores within each group, from the group's training part (a group without training rows: its own)."""
    train: dict[str, list[float]] = defaultdict(list)
    every: dict[str, list[float]] = defaultdict(list)
    for e in examples:
        every[e.group].append(e.label)
        if e.split == "train":
            train[e.group].append(e.label)
    stats = {}
    for group, labels in every.items():
        values = train.get(group) or labels
        sd = float(np.std(values))
        stats[group] = (float(np.mean(values)), sd if sd > 0 else 1.0)
    return [replace(e, label=(e.label - stats[e.group][0]) / stats[e.group][1]) for e in examples]


def summary(examples: Sequence[E5Example]) -> dict[str, dict[str, int]]:
    """``{"dataset:lp": {"train": n, "dev": n}}``, sorted."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "dev": 0})
    for e in examples:
        out[e.pair_key][e.split] += 1
    return dict(sorted(out.items()))
