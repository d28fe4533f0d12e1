"""Cross-lingual evidence: MT words aligned to source words with multilingual-e5's middle-layer states.

A reference diff cannot see an error in a word the reference also uses, nor judge a paraphrase; the
source can. Words are the span tokens; each gets the mean of its sub-word states at ``LAYER`` (unit
length), and two texts align as SimAlign's ArgMax does: MT word i and source word j are linked when j is
i's most similar source word *and* i is j's most similar MT word. From that, per MT word: linked or not,
its best similarity to any source word, and (with a reference) whether its source word is linked to a
reference word too; per segment: source content words that no MT word is linked to and none resembles
(``OMISSION_SIM``), anchored in the MT gap after the MT word linked to their nearest linked source
neighbour on the left (else before the one on the right): where the missing words belong.

``LAYER`` was chosen on MLQE-PE *train* (en-de, en-zh, ro-en; never WMT23) by link F1 against the
shipped source-MT word alignments (``bench/choose_crossling_layer.py``, 150 sentences each): layer 6 is best
in all three; the last layer is worst (F1 .81/.59/.68).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.spans.classify import is_content
from evalkit.spans.similarity import _pool
from evalkit.spans.types import Token

LAYER = 6  # hidden_states index (0: embeddings); link F1 .931 en-de, .745 en-zh, .844 ro-en, best of 1-12
BATCH = 16
OMISSION_SIM = 0.6  # linked translations score .59-.88 on hand-made pairs; dropped words .28-.56
FEATURES = ("xl_linked", "xl_best", "xl_margin", "xl_src_in_ref", "xl_unlinked_run")


class CrossEncoder:
    """Word states of multilingual-e5-small at chosen layers (the encoder loads on first use)."""

    def __init__(self, layers: Sequence[int] = (LAYER,), encoder: object | None = None) -> None:
        self.layers = tuple(layers)
        self._encoder = encoder

    @property
    def encoder(self):  # noqa: ANN201 - E5Encoder, imported lazily (torch)
        if self._encoder is None:
            from evalkit.neural.e5 import E5Encoder

            self._encoder = E5Encoder()
        return self._encoder

    def encode(self, texts: Sequence[str], tokens: Sequence[Sequence[Token]]) -> list[np.ndarray]:
        """Per text ``(len(layers), len(tokens), hidden)`` unit word vectors (zero rows past truncation)."""
        import torch

        enc = self.encoder
        tok = enc.tokenizer
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        out: list[np.ndarray] = [np.zeros(0)] * len(texts)
        for a in range(0, len(order), BATCH):
            chunk = order[a:a + BATCH]
            coded = tok.encode([texts[k] for k in chunk], enc.max_length)
            width = max(len(c.ids) for c in coded)
            ids = torch.full((len(chunk), width), tok.pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, c in enumerate(coded):
                ids[r, :len(c.ids)] = torch.tensor(c.ids)
                mask[r, :len(c.ids)] = 1
            with torch.inference_mode():
                states = enc.hidden_states(ids, mask)[:, list(self.layers)].float().numpy()
            for r, (k, c) in enumerate(zip(chunk, coded)):
                n = len(c.ids)
                spans = tuple((t.start, t.end) for t in tokens[k])
                out[k] = np.stack([_pool(spans, [(states[r, li, 1:n - 1], c.offsets[1:n - 1])], states.shape[-1])
                                   for li in range(len(self.layers))])
        return out


def links(sim: np.ndarray) -> set[tuple[int, int]]:
    """SimAlign ArgMax: (i, j) where j is row i's best column and i is column j's best row."""
    if sim.size == 0:
        return set()
    fwd = sim.argmax(axis=1)
    bwd = sim.argmax(axis=0)
    return {(i, int(j)) for i, j in enumerate(fwd) if bwd[j] == i}


@dataclass
class CrossEvidence:
    """One segment: MT-source similarities and links, and the source-reference links when a reference exists."""

    sim: np.ndarray  # (n_mt, n_src)
    links: set[tuple[int, int]]
    src_in_ref: np.ndarray | None = None  # per source word: linked to a reference word

    def features(self) -> np.ndarray:
        """One row per MT word, columns ``FEATURES``."""
        n, m = self.sim.shape
        out = np.zeros((n, len(FEATURES)), dtype=np.float32)
        if n == 0:
            return out
        linked = np.zeros(n, dtype=bool)
        src_of = np.full(n, -1)
        for i, j in self.links:
            linked[i], src_of[i] = True, j
        out[:, 0] = linked
        if m:
            top = np.sort(self.sim, axis=1)
            out[:, 1] = top[:, -1]
            out[:, 2] = top[:, -1] - (top[:, -2] if m > 1 else 0.0)
        if self.src_in_ref is not None:
            out[:, 3] = [self.src_in_ref[j] if j >= 0 else 0.0 for j in src_of]
        run = 0
        for i in range(n):
            run = run + 1 if not linked[i] else 0
            out[i, 4] = min(run, 4) / 4
        return out

    def omissions(self, src_tokens: Sequence[Token], mt_tokens: Sequence[Token],
                  threshold: float = OMISSION_SIM) -> list[tuple[int, list[int]]]:
        """``(MT gap, source word indices)`` for each run of unlinked, unmatched source content words."""
        n, m = self.sim.shape
        mt_of = {j: i for i, j in self.links}
        best = self.sim.max(axis=0) if n else np.zeros(m)
        missing = [j not in mt_of and is_content(src_tokens[j].text) and best[j] < threshold for j in range(m)]
        out: list[tuple[int, list[int]]] = []
        j = 0
        while j < m:
            if not missing[j]:
                j += 1
                continue
            k = j
            while k < m and (missing[k] or (k not in mt_of and not is_content(src_tokens[k].text))):
                k += 1
            run = [x for x in range(j, k) if missing[x]]
            left = next((mt_of[x] for x in range(j - 1, -1, -1) if x in mt_of), None)
            right = next((mt_of[x] for x in range(k, m) if x in mt_of), None)
            gap = left + 1 if left is not None else (right if right is not None else n)
            out.append((gap, run))
            j = k
        return out


def cross_evidence(mt_vecs: np.ndarray, src_vecs: np.ndarray, ref_vecs: np.ndarray | None = None) -> CrossEvidence:
    """Evidence of one segment from unit word vectors at one layer (MT, source, optional reference)."""
    sim = (mt_vecs @ src_vecs.T).astype(np.float32)
    src_in_ref = None
    if ref_vecs is not None:
        src_in_ref = np.zeros(len(src_vecs), dtype=np.float32)
        for j, _ in links((src_vecs @ ref_vecs.T).astype(np.float32)):
            src_in_ref[j] = 1.0
    return CrossEvidence(sim, links(sim), src_in_ref)


def anchor(mt_tokens: Sequence[Token], gap: int) -> int:
    """MT character offset of gap ``gap`` (after token ``gap - 1``), as merge anchors omissions."""
    if gap > 0:
        return mt_tokens[gap - 1].end
    return mt_tokens[0].start if mt_tokens else 0
