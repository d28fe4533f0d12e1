"""The frozen encoder's work for training, done once: pooled states of every text, alignment features of every pair.

Examples are processed in chunks of whole source segments (a source, its references and all its translations
together), so token states never need to be kept beyond a chunk: each chunk keeps only the pooled states
(float16) and the alignment features of the pairs its examples use. Chunks are saved under the store folder,
keyed by their content and the encoder settings, so an interrupted training run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evalkit.neural.e5data import E5Example
from evalkit.neural.encoder import LayerwiseEncoder
from evalkit.neural.predict import length_batches
from evalkit.neural.textstate import encode_states, pair_features

CHUNK_TEXTS = 384


@dataclass
class FeatureStore:
    rows: dict[str, int]                        # text -> row of ``pooled``
    pooled: np.ndarray                          # (texts, layers, hidden) float16
    pairs: dict[tuple[str, str], np.ndarray]    # (hyp, other text) -> alignment features
    truncated: int = 0

    def pooled_of(self, texts: Sequence[str]) -> np.ndarray:
        return self.pooled[[self.rows[t] for t in texts]].astype(np.float32)

    def pair_of(self, hyps: Sequence[str], others: Sequence[str]) -> np.ndarray:
        return np.stack([self.pairs[(h, o)] for h, o in zip(hyps, others)]).astype(np.float32)


def example_pairs(e: E5Example) -> list[tuple[str, str]]:
    return [(e.hyp, e.src)] + ([(e.hyp, e.ref)] if e.ref is not None else [])


def chunks(examples: Sequence[E5Example], size: int = CHUNK_TEXTS) -> list[list[E5Example]]:
    """Consecutive whole source segments, about ``size`` distinct texts per chunk."""
    by_segment: dict[str, list[E5Example]] = defaultdict(list)
    for e in examples:
        by_segment[e.segment].append(e)
    out: list[list[E5Example]] = []
    current: list[E5Example] = []
    texts: set[str] = set()
    for segment in sorted(by_segment):
        for e in by_segment[segment]:
            current.append(e)
            texts.update(t for t in (e.src, e.hyp, e.ref) if t is not None)
        if len(texts) >= size:
            out.append(current)
            current, texts = [], set()
    if current:
        out.append(current)
    return out


def _chunk_key(encoder: LayerwiseEncoder, align_layers: Sequence[int], texts: list[str],
               pairs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256(json.dumps([encoder.name, encoder.checksum, encoder.max_length, list(align_layers),
                                   texts, pairs], ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()[:24]


def _encode_chunk(encoder: LayerwiseEncoder, texts: list[str], pairs: list[tuple[str, str]],
                  align_layers: Sequence[int], batch_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Pooled states of ``texts`` (new ones) and features of ``pairs`` (which may also use older texts)."""
    needed = sorted(set(texts) | {t for pair in pairs for t in pair})
    states = {}
    for batch in length_batches(needed, batch_size):
        chunk = [needed[i] for i in batch]
        states.update(zip(chunk, encode_states(encoder, chunk, align_layers)))
    pooled = np.stack([states[t].pooled for t in texts]).astype(np.float16) if texts else \
        np.zeros((0, encoder.num_layers, encoder.hidden_size), dtype=np.float16)
    feats = np.array([pair_features(states[h], states[o]) for h, o in pairs], dtype=np.float32)
    return pooled, feats, sum(states[t].truncated for t in texts)


def build_store(encoder: LayerwiseEncoder, examples: Sequence[E5Example], align_layers: Sequence[int],
                batch_size: int, folder: Path | None, log: Callable[[str], None]) -> FeatureStore:
    """Pooled states and pair features for ``examples``, read from ``folder`` where a chunk was done before."""
    parts = chunks(examples)
    rows: dict[str, int] = {}
    pooled_parts: list[np.ndarray] = []
    pair_feats: dict[tuple[str, str], np.ndarray] = {}
    truncated = done = computed = 0
    total_texts = len({t for e in examples for t in (e.src, e.hyp, e.ref) if t is not None})
    start = time.perf_counter()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(parts, 1):
        texts = sorted({t for e in part for t in (e.src, e.hyp, e.ref) if t is not None and t not in rows})
        pairs = sorted({p for e in part for p in example_pairs(e) if p not in pair_feats})
        path = folder / f"{_chunk_key(encoder, align_layers, texts, pairs)}.npz" if folder is not None else None
        if path is not None and path.is_file():
            with np.load(path) as z:
                pooled, feats, trunc = z["pooled"], z["pairs"], int(z["truncated"])
        else:
            pooled, feats, trunc = _encode_chunk(encoder, texts, pairs, align_layers, batch_size)
            computed += len(texts)
            if path is not None:
                tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
                np.savez(tmp, pooled=pooled, pairs=feats, truncated=np.array(trunc))
                tmp.replace(path)
        for t in texts:
            rows[t] = len(rows)
        pooled_parts.append(pooled)
        pair_feats.update(zip(pairs, feats))
        truncated += trunc
        done += len(texts)
        if k % 20 == 0 or k == len(parts):
            rate = computed / max(time.perf_counter() - start, 1e-9)
            eta = (total_texts - done) / rate / 60 if rate > 0 else 0.0
            log(f"encoded {done}/{total_texts} texts ({computed} computed, {rate:.1f}/s, ~{eta:.0f} min left)")
    pooled = np.concatenate(pooled_parts) if pooled_parts else np.zeros((0, encoder.num_layers, encoder.hidden_size),
                                                                          dtype=np.float16)
    return FeatureStore(rows, pooled, pair_feats, truncated)
