"""COMET's model classes at inference, by ``class_identifier``, on evalkit's tokenizer and the checkpoint's tensors.

* ``regression_metric`` / ``referenceless_regression_metric``: each sentence is encoded alone; its embedding
  (layer mix, then average / max / CLS pooling) depends on the sentence only, so it is computed once per
  distinct text and cached. The head reads ``[mt, ref, mt*ref, |mt-ref|, mt*src, |mt-src|]`` (referenceless:
  ``[mt, src, mt*src, |mt-src|]``).
* ``unified_metric`` (CometKiwi) / ``xcomet_metric``: the MT is encoded jointly with the source and/or the
  reference as ``<s> mt </s></s> src </s></s> ref </s>``; the CLS state of the mixed layers gives the score.
  With both source and reference, three inputs (mt+src, mt+ref, mt+src+ref) are scored: the unified model
  averages them, XCOMET mixes their scores (each capped at 1) with weights 0.12/0.33/0.33 and its MQM-like
  span score with 0.22. Word-level models also give each MT token the probabilities of
  O / minor / major (/ critical), mixed over the inputs with weights 0.1667/0.3333/0.5.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from evalkit.errors import ModelError
from evalkit.neural.comet.checkpoint import REFERENCELESS, REGRESSION, XCOMET, CometCheckpoint
from evalkit.neural.comet.encoder import EncoderShape, build_encoder, infer_shape
from evalkit.neural.comet.layers import LayerMix, average_pool, feed_forward, max_pool

PAD, BOS, EOS = 1, 0, 2
SPAN_INPUT_WEIGHTS = (0.1667, 0.3333, 0.5)  # mt+src, mt+ref, mt+src+ref (UnifiedMetric.input_weights_spans)
XCOMET_SCORE_WEIGHTS = (0.12, 0.33, 0.33, 0.22)  # the same three inputs, then the span (MQM) score


class CometModel:
    """The encoder, layer mix and heads of one checkpoint, on one device and dtype."""

    def __init__(self, ckpt: CometCheckpoint, *, model_path: str | None = None, device: str = "cpu",
                 dtype: str = "fp32") -> None:
        from evalkit.neural.xlmr import XLMR, load_tokenizer

        self.ckpt = ckpt
        hp = ckpt.hparams
        state = ckpt.state_dict
        self.shape: EncoderShape = infer_shape(state, str(hp["encoder_model"]), str(hp["pretrained_model"]), model_path)
        self.tokenizer = load_tokenizer(XLMR)
        if self.shape.vocab < self.tokenizer.vocab_size:
            raise ModelError(f"the encoder's vocabulary has {self.shape.vocab} entries, XLM-R's tokenizer "
                             f"{self.tokenizer.vocab_size}: not an XLM-R-vocabulary model")
        self.max_positions = self.shape.max_positions - 2  # COMET's encoder.max_positions
        self.token_limit = self.max_positions - 2  # what COMET's tokenizer call cuts each text to
        self.layer = hp.get("layer" if ckpt.class_identifier in (REGRESSION, REFERENCELESS) else "sent_layer", "mix")
        self.num_layers = self.shape.layers + 1
        self.mix: LayerMix | None = None
        if self.layer == "mix":
            scalars = [state.get(f"layerwise_attention.scalar_parameters.{k}") for k in range(self.num_layers)]
            if any(s is None for s in scalars) or "layerwise_attention.gamma" not in state:
                raise ModelError(f"{ckpt.path}: layer 'mix' but no layerwise_attention weights for "
                                 f"{self.num_layers} layers in the checkpoint")
            self.mix = LayerMix(torch.cat([s.reshape(-1) for s in scalars]), state["layerwise_attention.gamma"],
                                ckpt.layer_transformation, bool(hp.get("layer_norm")))
        elif not isinstance(self.layer, int) or not 0 <= self.layer < self.num_layers:
            raise ModelError(f"{ckpt.path}: sentence layer {self.layer!r} is not 'mix' or one of the encoder's "
                             f"{self.num_layers} layers")
        self.head = feed_forward(state, "estimator.", str(hp.get("activations") or "Tanh"), hp.get("final_activation"))
        self.device = torch.device(device)
        self.dtype = dtype
        self.encoder = build_encoder(state, self.shape)
        self.computed_layers = self._needed_layers()
        if self.computed_layers < self.num_layers:
            self._drop_top_layers(self.computed_layers)
        self._place()

    def _needed_layers(self) -> int:
        """How many of the hidden states (embeddings + blocks) any output reads."""
        hp = self.ckpt.hparams
        if hp.get("pool") == "default" and self.ckpt.class_identifier in (REGRESSION, REFERENCELESS):
            return self.num_layers  # the last block's CLS state
        top = self.mix.last_used() if self.mix is not None else int(self.layer)
        if self.ckpt.class_identifier not in (REGRESSION, REFERENCELESS) and hp.get("word_level_training"):
            word = hp.get("word_layer")
            top = max(top, word if isinstance(word, int) else self.num_layers - 1)
        return min(self.num_layers, top + 1)

    def _drop_top_layers(self, keep: int) -> None:
        """Blocks above the highest layer read change no output: leave them out (exact, and faster).

        XLM-R-XL normalises the last block's output once more; a block that is no longer the last must
        give its raw output, as it does inside the full model.
        """
        encoder = self.encoder.encoder
        encoder.layer = nn.ModuleList(list(encoder.layer)[:keep - 1])
        if hasattr(encoder, "LayerNorm"):
            encoder.LayerNorm = nn.Identity()

    def _place(self) -> None:
        if self.dtype == "int8":
            from evalkit.neural.encoder import quantize_int8

            self.encoder = quantize_int8(self.encoder)
        elif self.dtype in ("bf16", "fp16"):
            self.encoder = self.encoder.to(torch.bfloat16 if self.dtype == "bf16" else torch.float16)
        self.encoder.to(self.device)
        for module in self._heads():
            module.to(self.device)

    def _heads(self) -> list[nn.Module]:
        return [m for m in (self.mix, self.head) if m is not None]

    def tokenize(self, texts: Sequence[str]) -> tuple[list[list[int]], int]:
        """Ids (with ``<s>``/``</s>``) cut at COMET's limit, and how many texts were cut."""
        enc = self.tokenizer.encode(list(texts), self.token_limit)
        return [e.ids for e in enc], sum(e.truncated for e in enc)

    def _pad(self, seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), PAD, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, :len(seq)] = 1
        return ids.to(self.device), mask.to(self.device)

    def _layers(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        out = self.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        return tuple(h.float() for h in out.hidden_states), out.last_hidden_state.float()

    def _sentence_states(self, layers: tuple[torch.Tensor, ...], mask: torch.Tensor) -> torch.Tensor:
        if self.mix is not None:
            return self.mix(layers, mask)
        return layers[int(self.layer)]


class RegressionModel(CometModel):
    """``regression_metric`` and ``referenceless_regression_metric``: sentence embeddings, then the head."""

    def __init__(self, ckpt: CometCheckpoint, **kwargs) -> None:
        super().__init__(ckpt, **kwargs)
        self.pool = str(ckpt.hparams.get("pool", "avg"))
        if self.pool not in ("avg", "max", "cls", "default"):
            raise ModelError(f"{ckpt.path}: unknown pooling {self.pool!r} (COMET has avg, max, cls, default)")
        self.references = ckpt.class_identifier == REGRESSION
        width = self.head[0].in_features
        expected = self.shape.hidden * (6 if self.references else 4)
        if width != expected:
            raise ModelError(f"{ckpt.path}: the head reads {width} features, a {ckpt.class_identifier} on a "
                             f"{self.shape.hidden}-wide encoder gives {expected}")

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """(n, hidden) float32 sentence embeddings, as ``CometModel.compute_sentence_embedding``."""
        seqs, truncated = self.tokenize(texts)
        ids, mask = self._pad(seqs)
        with torch.inference_mode():
            layers, last = self._layers(ids, mask)
            states = self._sentence_states(layers, mask)
            if self.pool == "avg":
                emb = average_pool(ids, states, mask, PAD)
            elif self.pool == "max":
                emb = max_pool(ids, states, PAD)
            elif self.pool == "cls":
                emb = states[:, 0, :]
            else:
                emb = last[:, 0, :]
        return emb.float().cpu().numpy(), truncated

    def score(self, mt: np.ndarray, src: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        """Segment scores from aligned sentence embeddings."""
        with torch.inference_mode():
            h = torch.from_numpy(np.ascontiguousarray(mt)).to(self.device)
            s = torch.from_numpy(np.ascontiguousarray(src)).to(self.device)
            parts = [h]
            if ref is not None:
                r = torch.from_numpy(np.ascontiguousarray(ref)).to(self.device)
                parts += [r, h * r, torch.abs(h - r)]
            else:
                parts += [s]
            parts += [h * s, torch.abs(h - s)]
            return self.head(torch.cat(parts, dim=1)).view(-1).float().cpu().numpy().astype(np.float64)


class UnifiedModel(CometModel):
    """``unified_metric`` and ``xcomet_metric``: joint encoding of MT with source and/or reference."""

    def __init__(self, ckpt: CometCheckpoint, **kwargs) -> None:
        super().__init__(ckpt, **kwargs)
        hp = ckpt.hparams
        self.xcomet = ckpt.class_identifier == XCOMET
        self.segments = [str(s) for s in hp.get("input_segments") or ["mt", "src", "ref"]]
        self.word_level = bool(hp.get("word_level_training"))
        self.labels = ["O", *(f"I-{label}" for label in hp.get("error_labels") or [])]
        self.tagger: nn.Linear | None = None
        if self.head[0].in_features != self.shape.hidden:
            raise ModelError(f"{ckpt.path}: the head reads {self.head[0].in_features} features, the encoder gives "
                             f"{self.shape.hidden}")
        if self.word_level:
            w, b = ckpt.state_dict.get("hidden2tag.weight"), ckpt.state_dict.get("hidden2tag.bias")
            if w is None or tuple(w.shape) != (len(self.labels), self.shape.hidden):
                raise ModelError(f"{ckpt.path}: word-level model without a hidden2tag layer for labels {self.labels}")
            self.tagger = nn.Linear(self.shape.hidden, len(self.labels), bias=b is not None)
            with torch.no_grad():
                self.tagger.weight.copy_(w.float())
                if b is not None:
                    self.tagger.bias.copy_(b.float())
            self.tagger.to(self.device)
            self.word_layer = hp.get("word_layer")
            if not isinstance(self.word_layer, int) or not 0 <= self.word_layer < self.num_layers:
                raise ModelError(f"{ckpt.path}: word_layer {self.word_layer!r} is not one of the encoder's "
                                 f"{self.num_layers} layers")

    @property
    def classes(self) -> int:
        return len(self.labels) if self.word_level else 0

    def _joint(self, parts: Sequence[list[int]]) -> list[int]:
        """``Encoder.concat_sequences``: pads dropped, ``<s> a </s></s> b </s>...``, cut at max_positions."""
        parts = [[t for t in p if t != PAD] for p in parts]
        lengths = [len(p) - 2 for p in parts]
        seq = parts[0]
        for nxt in parts[1:]:
            seq = [BOS, *seq[1:-1], EOS, EOS, *nxt[1:-1], EOS]
        if sum(lengths) > self.max_positions - (1 + 2 * len(parts)):
            seq = seq[:self.max_positions]
        return seq

    def _forward(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor | None]:
        ids, mask = self._pad(seqs)
        layers, _ = self._layers(ids, mask)
        states = self._sentence_states(layers, mask)
        score = self.head(states[:, 0, :]).view(-1).float()
        probs = None
        if self.tagger is not None:
            probs = torch.softmax(self.tagger(layers[int(self.word_layer)]), dim=2).float()
        return score, probs

    def run(self, triples: list[tuple[str, str | None, str | None]]) -> tuple[list[np.ndarray], int]:
        """Per ``(mt, src, ref)`` (all with the same inputs present): ``[score, mt probabilities...]``.

        The score is before XCOMET's span term (``final_score`` adds it); the probabilities are the
        ``(mt tokens, classes)`` matrix flattened, for word-level models only.
        """
        has_src, has_ref = triples[0][1] is not None, triples[0][2] is not None
        mts, truncated = self.tokenize([t[0] for t in triples])
        srcs, n = self.tokenize([t[1] or "" for t in triples]) if has_src else (None, 0)
        truncated += n
        refs, n = self.tokenize([t[2] or "" for t in triples]) if has_ref else (None, 0)
        truncated += n
        rows = range(len(mts))
        if srcs is not None and refs is not None:
            combos = [[[mts[i], srcs[i]] for i in rows], [[mts[i], refs[i]] for i in rows],
                      [[mts[i], srcs[i], refs[i]] for i in rows]]
        else:
            other = srcs if srcs is not None else refs
            combos = [[[mts[i], other[i]] if other is not None else [mts[i]] for i in rows]]
        scores, probs = [], []
        with torch.inference_mode():
            for combo in combos:
                s, p = self._forward([self._joint(parts) for parts in combo])
                scores.append(s)
                probs.append(p)
            score = self._combine_scores(scores)
            mixed = None
            if self.tagger is not None:
                weights = SPAN_INPUT_WEIGHTS if len(probs) == 3 else (1.0,)
                width = max(len(m) for m in mts)
                mixed = sum(w * p[:, :width] for w, p in zip(weights, probs))
        out = []
        score_np = score.cpu().numpy().astype(np.float64)
        mixed_np = mixed.cpu().numpy() if mixed is not None else None
        for i, mt_ids in enumerate(mts):
            vec = [np.array([score_np[i]], dtype=np.float64)]
            if mixed_np is not None:
                vec.append(mixed_np[i, :len(mt_ids)].reshape(-1).astype(np.float64))
            out.append(np.concatenate(vec))
        return out, truncated

    def _combine_scores(self, scores: list[torch.Tensor]) -> torch.Tensor:
        if not self.xcomet:
            return torch.stack(scores).mean(dim=0)
        capped = [torch.where(s > 1.0, 1.0, s) for s in scores]
        if len(capped) == 3:
            return sum(c * w for c, w in zip(capped, XCOMET_SCORE_WEIGHTS[:3]))
        return capped[0] * sum(XCOMET_SCORE_WEIGHTS[:3])


def load_model(ckpt: CometCheckpoint, **kwargs) -> CometModel:
    if ckpt.class_identifier in (REGRESSION, REFERENCELESS):
        return RegressionModel(ckpt, **kwargs)
    return UnifiedModel(ckpt, **kwargs)
