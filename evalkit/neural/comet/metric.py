"""``-m comet --comet-checkpoint PATH``: a COMET checkpoint as an evalkit metric (rows ``[score, 1]``).

Everything goes through the shared predict loop: identical inputs computed once, the on-disk cache, batches
of similar length. Sentence-level models (COMET-22's ``regression_metric``) cache one embedding per distinct
text, so sources and references are encoded once for all systems; joint models (CometKiwi, XCOMET) cache one
output per distinct (MT, source, reference). With several references a segment's score is the mean of its
per-reference scores (as COMET's authors advise, COMET#20/#140; the signature says ``refs:mean``); XCOMET's
spans then come from the token probabilities averaged over the references.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np

from evalkit import __version__
from evalkit.errors import InputError
from evalkit.metrics.base import bootstrap_fields
from evalkit.neural.comet.checkpoint import (
    REFERENCELESS,
    REGRESSION,
    XCOMET,
    CometCheckpoint,
    load_checkpoint,
    locate,
    model_name,
    read_hparams_file,
)
from evalkit.neural.metric import NeuralMetric, _threads, mean_over_references, shared_model
from evalkit.neural.predict import LayeredCache, predict
from evalkit.results import Span

DTYPES = ("fp32", "int8", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_BATCH = 16
PORT_VERSION = "1"  # bump when a change to the port changes outputs: cached values are keyed by it


class CometCheckpointMetric(NeuralMetric):
    """An Unbabel COMET checkpoint (regression, referenceless, unified/CometKiwi, XCOMET) run by evalkit."""

    name: ClassVar[str] = "comet"
    display: ClassVar[str] = "COMET"

    def __init__(self, checkpoint: str | None = None, model_path: str | None = None, neural_dtype: str | None = None,
                 neural_device: str | None = None, batch_size: int | None = None, neural_cache: str | None = None,
                 progress: bool | None = None) -> None:
        super().__init__(DEFAULT_BATCH if batch_size is None else batch_size, neural_cache, "", progress)
        if not checkpoint:
            raise InputError("-m comet needs --comet-checkpoint PATH: a COMET model folder (checkpoints/model.ckpt "
                             "and hparams.yaml, as published) or its .ckpt file")
        self.ckpt_path, hparams_file = locate(checkpoint)
        self.class_identifier = str(read_hparams_file(hparams_file).get("class_identifier"))
        self.model_path = model_path
        self.dtype = neural_dtype or "fp32"
        if self.dtype not in DTYPES:
            raise InputError(f"comet: --neural-dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        self.device = _device(neural_device or "auto", self.dtype)
        self._memory: LayeredCache | None = None
        self._ckpt: CometCheckpoint | None = None
        self._model: Any = None
        self._shape: Any = None
        self._inputs = ""
        self.display = f"COMET ({model_name(self.ckpt_path)})"  # type: ignore[misc]

    # --- the checkpoint and the model, loaded on first use --------------------------------------
    @property
    def checkpoint(self) -> CometCheckpoint:
        if self._ckpt is None:
            self._ckpt = load_checkpoint(self.ckpt_path)
        return self._ckpt

    @property
    def checksum(self) -> str:
        from evalkit.neural.encoder import file_sha256

        return file_sha256(self.ckpt_path)[:12]

    @property
    def model(self) -> Any:
        """Loaded once per process (a Dask worker builds a metric per partition) and per device and dtype."""
        if self._model is None:
            key = ("comet", self.checksum, str(self.model_path), self.device, self.dtype)
            self._model = shared_model(key, self._load_model)
        return self._model

    def _load_model(self) -> Any:
        import torch

        from evalkit.neural.comet.models import load_model

        if self.device == "cpu":
            torch.set_num_threads(_threads())
        return load_model(self.checkpoint, model_path=self.model_path, device=self.device, dtype=self.dtype)

    @property
    def shape(self) -> Any:
        if self._shape is None:
            from evalkit.neural.comet.encoder import infer_shape

            hp = self.checkpoint.hparams
            self._shape = infer_shape(self.checkpoint.state_dict, str(hp["encoder_model"]),
                                      str(hp["pretrained_model"]), self.model_path)
        return self._shape

    # --- what the model reads -------------------------------------------------------------------
    @property
    def reads_source(self) -> bool:  # type: ignore[override]
        """Scores depend on the source when one is given (metaeval keys its cache on the source then)."""
        return "src" in self._segments()

    @property
    def needs_source(self) -> bool:  # type: ignore[override]
        return self.class_identifier in (REGRESSION, REFERENCELESS) or self._segments() == ["mt", "src"]

    @property
    def needs_reference(self) -> bool:  # type: ignore[override]
        return self.class_identifier == REGRESSION or "src" not in self._segments()

    @property
    def word_level(self) -> bool:
        return self.class_identifier not in (REGRESSION, REFERENCELESS) and bool(
            self.checkpoint.hparams.get("word_level_training"))

    def _segments(self) -> list[str]:
        if self.class_identifier == REGRESSION:
            return ["mt", "src", "ref"]
        if self.class_identifier == REFERENCELESS:
            return ["mt", "src"]
        return [str(s) for s in self.checkpoint.hparams.get("input_segments") or ["mt", "src", "ref"]]

    def _uses(self, has_src: bool, has_ref: bool) -> tuple[bool, bool]:
        """Which of source and reference the model reads, given what the test set has."""
        if self.class_identifier == REGRESSION:
            return True, True
        segments = self._segments()
        return has_src and "src" in segments, has_ref and "ref" in segments

    # --- signature and notes --------------------------------------------------------------------
    def _cache_signature(self) -> str:
        c = self.checkpoint
        return (f"comet@{self.checksum}|{c.class_identifier}|lt:{c.layer_transformation}|enc:{self.shape.label}|"
                f"dtype:{self.dtype}|device:{self.device}|torch:{version('torch')}|port:{PORT_VERSION}")

    def signature(self, bootstrap: tuple[int, int | None] | None = None) -> str:
        c = self.checkpoint
        refs = ""
        if self._nrefs is not None and "ref" in self._inputs:
            refs = f"nrefs:{self._nrefs}|refs:mean|"
        inputs = f"inputs:{self._inputs}|" if self._inputs else ""
        return (f"{refs}{bootstrap_fields(bootstrap)}model:{c.name}@{self.checksum}|class:{c.class_identifier}|"
                f"encoder:{self.shape.label}|mix:{c.layer_transformation}|{inputs}dtype:{self.dtype}|"
                f"device:{self.device}|batch:{self.batch_size},length-sorted,dedup|evalkit:{__version__}|"
                f"torch:{version('torch')}")

    def span_signature(self) -> str:
        c = self.checkpoint
        return (f"mode:xcomet|model:{c.name}@{self.checksum}|class:{c.class_identifier}|decode:argmax|"
                f"refs:mean-probabilities|offsets:no-leading-space|dtype:{self.dtype}|version:{__version__}")

    @property
    def notes(self) -> list[str]:
        out = list(self.warnings)
        if self.info.truncated:
            limit = self.shape.max_positions - 4
            out.append(f"{self.name}: {self.info.truncated} texts were longer than the model's {limit} tokens and "
                       "were truncated, as COMET does")
        return out

    def part_state(self) -> Any:
        return {**super().part_state(), "inputs": self._inputs}

    def merge_part_state(self, state: Any) -> None:
        super().merge_part_state(state)
        if state and state.get("inputs"):
            self._inputs = str(state["inputs"])

    # --- the predict loop -----------------------------------------------------------------------
    def _predict(self, keys: list[str], fn: Any, stack: bool) -> Any:
        if self._memory is None:
            self._memory = LayeredCache(self.vector_cache())
        out, info = predict(keys, fn, signature=self._cache_signature(), cache=self._memory,
                            batch_size=self.batch_size, progress=self.progress, description=self.display, stack=stack)
        self.info.add(info)
        return out

    def _embed_batch(self, texts: list[str]) -> tuple[np.ndarray, int]:
        return self.model.embed(texts)

    def _joint_batch(self, keys: list[str]) -> tuple[list[np.ndarray], int]:
        """Joint-model outputs for a batch of ``[mt, src, ref]`` keys, run in groups with the same inputs."""
        triples = [tuple(json.loads(k)) for k in keys]
        out: list[np.ndarray | None] = [None] * len(keys)
        truncated = 0
        for pattern in {(t[1] is not None, t[2] is not None) for t in triples}:
            rows = [i for i, t in enumerate(triples) if (t[1] is not None, t[2] is not None) == pattern]
            vecs, n = self.model.run([triples[i] for i in rows])  # type: ignore[arg-type]
            truncated += n
            for i, v in zip(rows, vecs):
                out[i] = v
        return out, truncated  # type: ignore[return-value]

    # --- metric interface -----------------------------------------------------------------------
    def prepare(self, refs: Sequence[Sequence[str]], srcs: Sequence[str] | None = None) -> Any:
        streams = [list(s) for s in refs]
        has_ref = any(any(t is not None for t in s) for s in streams)
        has_src = srcs is not None
        use_src, use_ref = self._uses(has_src, has_ref)
        if self.class_identifier in (REGRESSION, REFERENCELESS) and not has_src:
            raise InputError(f"comet: {self.checkpoint.name} ({self.class_identifier}) reads the source: give it with "
                             "-s SRC (or a src column)")
        if self.class_identifier == REGRESSION and not has_ref:
            raise InputError(f"comet: {self.checkpoint.name} (regression_metric) needs references (-r REF)")
        if not (use_src or use_ref):
            raise InputError(f"comet: {self.checkpoint.name} reads {'+'.join(self._segments())}: give a source (-s) "
                             "or a reference (-r)")
        if has_ref and not use_ref:
            self.warn(f"comet: {self.checkpoint.name} does not read references (a quality-estimation model); "
                      "the references were not used")
        self._nrefs = len(streams)
        self._inputs = "+".join(["mt", *(["src"] if use_src else []), *(["ref"] if use_ref else [])])
        if self.class_identifier not in (REGRESSION, REFERENCELESS):
            return None
        src_vec = self._predict(list(srcs or []), self._embed_batch, True)
        ref_vecs = [self._predict([t or "" for t in s], self._embed_batch, True) for s in streams] if use_ref else []
        return src_vec, ref_vecs, [np.array([t is not None for t in s]) for s in streams]

    def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        if self._nrefs is None:
            prepared = self.prepare(refs, srcs)
        if self.class_identifier in (REGRESSION, REFERENCELESS):
            return self._regression_scores(hyps, prepared)
        scores, _ = self._joint(hyps, refs, srcs, want_spans=False)
        return scores

    def _regression_scores(self, hyps: Sequence[str], prepared: Any) -> np.ndarray:
        src_vec, ref_vecs, masks = prepared
        hyp_vec = self._predict(list(hyps), self._embed_batch, True)
        model = self.model
        if not ref_vecs:
            return model.score(hyp_vec, src_vec, None)
        return mean_over_references("comet", len(hyps), ((model.score(hyp_vec, src_vec, vecs), mask)
                                                         for vecs, mask in zip(ref_vecs, masks)))

    def _joint(self, hyps: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str] | None,
               want_spans: bool) -> tuple[np.ndarray, list[list[Span]]]:
        from evalkit.neural.comet.spans import decode, span_score, to_spans

        use_src, use_ref = self._uses(srcs is not None, any(any(t is not None for t in s) for s in refs))
        per_segment: list[list[str]] = []
        for i, mt in enumerate(hyps):
            src = srcs[i] if use_src and srcs is not None else None
            live = [s[i] for s in refs if s[i] is not None] if use_ref else []
            if not live and src is None:
                raise InputError(f"comet: segment {i + 1} has neither a source nor a reference for "
                                 f"{self.checkpoint.name}")
            per_segment.append([json.dumps([mt, src, r], ensure_ascii=False) for r in (live or [None])])
        flat = [k for keys in per_segment for k in keys]
        outputs = iter(self._predict(flat, self._joint_batch, False))
        model = self.model
        xcomet = self.class_identifier == XCOMET
        scores = np.zeros(len(hyps))
        spans: list[list[Span]] = []
        offsets = self._mt_offsets(hyps) if (xcomet or want_spans) and self.word_level else None
        for i, keys in enumerate(per_segment):
            vecs = [next(outputs) for _ in keys]
            if not self.word_level:
                scores[i] = float(np.mean([v[0] for v in vecs]))
                spans.append([])
                continue
            probs = [v[1:].reshape(-1, model.classes) for v in vecs]
            if xcomet:
                scores[i] = float(np.mean([v[0] + 0.22 * span_score(decode(p, offsets[i], model.labels))
                                           for v, p in zip(vecs, probs)]))
            else:
                scores[i] = float(np.mean([v[0] for v in vecs]))
            if want_spans:
                mean = probs[0] if len(probs) == 1 else np.mean(np.stack(probs), axis=0)
                spans.append(to_spans(hyps[i], decode(mean, offsets[i], model.labels)))
        return scores, spans

    def _mt_offsets(self, hyps: Sequence[str]) -> list[list[tuple[int, int]]]:
        model = self.model
        return [e.offsets for e in model.tokenizer.encode(list(hyps), model.token_limit)]

    def error_spans(self, hyps: Sequence[str], refs: Sequence[Sequence[str]],
                    srcs: Sequence[str] | None) -> list[list[Span]]:
        """XCOMET's spans per segment (word-level checkpoints only)."""
        if not self.word_level:
            raise InputError(f"--spans xcomet: {self.checkpoint.name} ({self.class_identifier}) has no word-level "
                             "head; use an XCOMET checkpoint")
        if self._nrefs is None:
            self.prepare(refs, srcs)
        return self._joint(hyps, refs, srcs, want_spans=True)[1]


def _device(choice: str, dtype: str) -> str:
    """``auto``: the GPU when torch sees one, else the CPU; refuses dtypes the device cannot run."""
    import torch

    if choice not in DEVICES:
        raise InputError(f"comet: --neural-device must be one of {', '.join(DEVICES)}, got {choice!r}")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if choice == "auto" else choice
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("comet: --neural-device cuda, but torch sees no GPU")
    if dtype == "int8" and device != "cpu":
        raise InputError("comet: int8 (dynamic quantisation) runs on the CPU; use bf16 or fp16 on a GPU")
    if dtype == "fp16" and device == "cpu":
        raise InputError("comet: fp16 needs a GPU; on the CPU use int8 (or bf16)")
    return device

