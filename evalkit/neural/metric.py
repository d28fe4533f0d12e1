"""Neural metrics in the statistics engine: one score per segment, rows ``[score, 1]``.

* ``comet-minilm`` (evalkit-COMET-MiniLM): evalkit's COMET-style estimator on all-MiniLM-L6-v2, trained
  on WMT22 DA, TED MQM and MLQE-PE (see weights/MODEL_CARD.md). English targets. Not Unbabel's COMET.
* ``embed-sim-use``: cosine similarity of hypothesis and reference embeddings from the multilingual
  Universal Sentence Encoder: an embedding similarity, not a trained quality estimator.

Both embed each distinct text once through the shared predict loop and its on-disk cache; a segment
with several references gets the mean of its per-reference scores.
"""
from __future__ import annotations

import os
import sys
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from evalkit import __version__
from evalkit.errors import InputError, ModelError
from evalkit.metrics.base import SegmentScoreMetric, bootstrap_fields
from evalkit.neural.languages import TARGET_LANGUAGES, language_warning
from evalkit.neural.predict import PredictInfo, VectorCache, default_cache_dir, predict

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DTYPES = ("fp32", "int8")
NO_CACHE = ("off", "none", "no", "")


def _threads() -> int:
    """All cores, unless ``OMP_NUM_THREADS`` says otherwise (Dask sets it to 1 in each worker, so that the
    workers of one machine share its cores instead of each taking all of them)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_MODELS: dict[tuple[str, ...], Any] = {}
_MODELS_LOCK = threading.RLock()


def shared_model(key: tuple[str, ...], load: Callable[[], Any]) -> Any:
    """One loaded model per process and key. Every metric instance reuses it, so a Dask worker, which builds a
    fresh metric for each partition, loads each model once."""
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load()
        return _MODELS[key]


def check_dtype(metric: str, dtype: str) -> str:
    if dtype not in DTYPES:
        raise InputError(f"{metric}: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


def trained_estimator(metric: str, weights_dir: str | None, train_config: str) -> tuple[Path, Any, str]:
    """The folder, config and weights checksum of a trained estimator; a one-line error when they are missing."""
    from evalkit.neural.encoder import file_sha256
    from evalkit.neural.model import EstimatorConfig, model_files

    folder = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    cfg_path, w_path = model_files(folder, metric)
    if not cfg_path.is_file() or not w_path.is_file():
        raise ModelError(f"{folder}: the trained {metric} weights are missing ({w_path.name}); "
                         f"reinstall evalkit or train them with `evalkit train-metric --config {train_config}`")
    return folder, EstimatorConfig.load(cfg_path), file_sha256(w_path)[:12]


def shared_estimator(folder: Path, metric: str, checksum: str) -> tuple[Any, dict[str, Any]]:
    """The trained head and any fine-tuned encoder tensors, loaded once per process."""
    from evalkit.neural.model import load_estimator

    return shared_model(("estimator", str(folder), metric, checksum), lambda: load_estimator(folder, metric))



def mean_over_references(name: str, n: int, scored: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each segment's mean score over the references it has (``scored``: (scores, has-reference mask) per
    stream); several references are averaged, as COMET's authors advise, and a segment with none is an error."""
    total = np.zeros(n)
    count = np.zeros(n)
    for scores, mask in scored:
        total += np.where(mask, scores, 0.0)
        count += mask
    if (count == 0).any():
        raise InputError(f"{name}: segment {int(np.argmax(count == 0)) + 1} has no reference")
    return total / count

class NeuralMetric(SegmentScoreMetric):
    """What every neural metric shares: batch size, the on-disk cache, progress, notes for the result."""

    in_process: ClassVar[bool] = True

    def __init__(self, batch_size: int = 64, neural_cache: str | None = None, trg_lang: str = "",
                 progress: bool | None = None) -> None:
        if int(batch_size) < 1:
            raise InputError(f"{self.name}: batch size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        cache = default_cache_dir() if neural_cache is None else neural_cache
        self.cache_dir = None if str(cache).strip().lower() in NO_CACHE else Path(cache).expanduser()
        self._cache: VectorCache | None = None
        self.trg_lang = trg_lang or ""
        self.progress = progress
        self.info = PredictInfo()
        self.warnings: list[str] = []
        self._nrefs: int | None = None

    def vector_cache(self) -> VectorCache | None:
        if self.cache_dir is not None and self._cache is None:
            try:
                self._cache = VectorCache(self.cache_dir)
            except OSError as exc:
                raise InputError(f"{self.cache_dir}: cannot use it as the neural cache ({exc}); "
                                 "give another folder with --neural-cache DIR or turn it off with --neural-cache off") from None
        return self._cache

    def warn(self, warning: str | None) -> None:
        if warning and warning not in self.warnings:
            self.warnings.append(warning)
            print(f"evalkit: warning: {warning}", file=sys.stderr)

    def part_state(self) -> Any:
        return {"nrefs": self._nrefs, "info": asdict(self.info), "warnings": list(self.warnings)}

    def merge_part_state(self, state: Any) -> None:
        if not state:
            return
        if state["nrefs"] is not None:
            self._nrefs = max(self._nrefs or 0, int(state["nrefs"]))
        self.info.add(PredictInfo(**state["info"]))
        self.warnings.extend(w for w in state["warnings"] if w not in self.warnings)

    def _truncation_note(self) -> str:
        return (f"{self.name}: {self.info.truncated} of {self.info.computed} embedded texts were longer than "
                f"the model's maximum length and were truncated")

    @property
    def notes(self) -> list[str]:
        out = list(self.warnings)
        if self.info.truncated:
            out.append(self._truncation_note())
        return out


class _EmbeddingMetric(NeuralMetric):
    """Sentence vectors per text (cached), then a score per aligned hypothesis/reference(/source) pair."""

    @property
    def languages(self) -> tuple[str, ...]:
        return TARGET_LANGUAGES[self.name]

    # --- what subclasses provide -----------------------------------------------------------------
    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """(batch, dim) sentence vectors and the number of truncated texts."""

    @abstractmethod
    def _pair_scores(self, hyp: np.ndarray, ref: np.ndarray, src: np.ndarray | None) -> np.ndarray:
        """One score per row of aligned hypothesis/reference(/source) vectors."""

    @abstractmethod
    def _cache_signature(self) -> str:
        """Everything the cached embeddings depend on."""

    @abstractmethod
    def _signature_fields(self) -> str:
        """Model, encoder, languages, dtype and versions for the signature."""

    # --- shared --------------------------------------------------------------------------------------
    def signature(self, bootstrap: tuple[int, int | None] | None = None) -> str:
        nrefs = f"nrefs:{self._nrefs}|" if self._nrefs is not None else ""
        return f"{nrefs}{bootstrap_fields(bootstrap)}{self._signature_fields()}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors, info = predict(list(texts), self._embed_batch, signature=self._cache_signature(), cache=self.vector_cache(),
                                batch_size=self.batch_size, progress=self.progress, description=f"{self.name}")
        self.info.add(info)
        return vectors

    def prepare(self, refs: Sequence[Sequence[str]], srcs: Sequence[str] | None = None) -> Any:
        streams = [list(stream) for stream in refs]
        self._nrefs = len(streams)
        self.warn(language_warning(self.name, self.trg_lang, [t for t in (streams[0] if streams else []) if t]))
        embedded = [self.embed([t if t is not None else "" for t in s]) for s in streams]
        masks = [np.array([t is not None for t in s]) for s in streams]
        src = self.embed(list(srcs)) if srcs is not None and self._wants_source() else None
        return embedded, masks, src

    def _wants_source(self) -> bool:
        return False

    def score_segments(self, hyps, refs, prepared, srcs=None) -> np.ndarray:
        if prepared is None:
            prepared = self.prepare(refs, srcs)
        ref_vecs, masks, src_vec = prepared
        hyp_vec = self.embed(hyps)
        return mean_over_references(self.name, len(hyps), ((self._pair_scores(hyp_vec, vecs, src_vec), mask)
                                                           for vecs, mask in zip(ref_vecs, masks)))


class CometMiniLM(_EmbeddingMetric):
    """evalkit-COMET-MiniLM: a COMET-style estimator (not Unbabel's COMET) for English targets."""

    name: ClassVar[str] = "comet-minilm"
    display: ClassVar[str] = "COMET-MiniLM"

    def __init__(self, model_path: str | None = None, neural_dtype: str = "fp32", batch_size: int = 64,
                 neural_cache: str | None = None, trg_lang: str = "", weights_dir: str | None = None,
                 progress: bool | None = None) -> None:
        super().__init__(batch_size, neural_cache, trg_lang, progress)
        from evalkit.neural.encoder import locate_encoder

        self.dtype = check_dtype(self.name, neural_dtype)
        self.model_path = model_path
        self.weights_dir, self.config, self.model_checksum = trained_estimator(self.name, weights_dir,
                                                                               "configs/train-metric.toml")
        self.location = locate_encoder(self.config.encoder, model_path)
        self._head: Any = None
        self._tuned: dict[str, Any] = {}
        self._enc: Any = None

    def _estimator(self) -> Any:
        """The trained head, loaded on first use (cheap: a cached run needs nothing else)."""
        if self._head is None:
            self._head, self._tuned = shared_estimator(self.weights_dir, self.name, self.model_checksum)
        return self._head

    def _encoder(self) -> Any:
        """The encoder, with any fine-tuned layers applied and optionally quantised, loaded on first use."""
        if self._enc is None:
            self._enc = shared_model(("encoder", str(self.location.path), self.name, self.model_checksum, self.dtype),
                                     self._load_encoder)
        return self._enc

    def _load_encoder(self) -> Any:
        import torch

        from evalkit.neural.encoder import TransformerEncoder

        torch.set_num_threads(_threads())
        estimator = self._estimator()
        encoder = TransformerEncoder(self.location, estimator.config.max_length)
        if encoder.checksum != estimator.config.encoder_checksum:
            raise ModelError(
                f"{self.location.path}: encoder checksum {encoder.checksum} differs from the one {self.name} was "
                f"trained on ({estimator.config.encoder_checksum}); point --model-path/EVALKIT_ENCODER at a copy "
                f"of {estimator.config.encoder}")
        if self._tuned:
            missing = set(self._tuned) - set(encoder.model.state_dict())
            if missing:
                raise ModelError(f"{self.name}: fine-tuned tensors {sorted(missing)[:3]} do not fit the encoder")
            encoder.model.load_state_dict(self._tuned, strict=False)
        if self.dtype == "int8":
            encoder.quantize_int8()
        return encoder

    def _embed_batch(self, texts: list[str]) -> tuple[np.ndarray, int]:
        import torch

        encoder, estimator = self._encoder(), self._estimator()
        batch, truncated = encoder.tokenize(texts)
        with torch.inference_mode():
            return estimator.sentence(encoder(**batch)).float().numpy(), truncated

    def _pair_scores(self, hyp: np.ndarray, ref: np.ndarray, src: np.ndarray | None) -> np.ndarray:
        import torch

        estimator = self._estimator()
        out = []
        with torch.inference_mode():
            for i in range(0, len(hyp), 4096):
                s = torch.from_numpy(src[i:i + 4096]) if src is not None else None
                out.append(estimator.score_sentences(torch.from_numpy(hyp[i:i + 4096]),
                                                     torch.from_numpy(ref[i:i + 4096]), s).numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def _wants_source(self) -> bool:
        return self.config.use_source

    def _versions(self) -> str:
        return f"evalkit:{__version__}|torch:{version('torch')}"

    def _cache_signature(self) -> str:
        return (f"{self.name}@{self.model_checksum}|{self.config.encoder}@{self.config.encoder_checksum}|"
                f"len:{self.config.max_length}|dtype:{self.dtype}|torch:{version('torch')}")

    def _signature_fields(self) -> str:
        return (f"model:{self.name}@{self.model_checksum}|encoder:{self.config.encoder}@{self.config.encoder_checksum}|"
                f"trg:{'+'.join(self.languages)}|dtype:{self.dtype}|{self._versions()}")


class EmbedSimUSE(_EmbeddingMetric):
    """Cosine similarity of multilingual USE v3 embeddings (hypothesis vs reference), in [-1, 1]."""

    name: ClassVar[str] = "embed-sim-use"
    display: ClassVar[str] = "EmbedSim-USE"

    def __init__(self, batch_size: int = 64, neural_cache: str | None = None, trg_lang: str = "",
                 progress: bool | None = None) -> None:
        super().__init__(batch_size, neural_cache, trg_lang, progress)
        self._encoder: Any = None

    def _load(self) -> Any:
        if self._encoder is None:
            from evalkit.neural.encoder import USEEncoder

            self._encoder = shared_model(("use", str(_threads())), lambda: USEEncoder(threads=_threads()))
        return self._encoder

    def _embed_batch(self, texts: list[str]) -> tuple[np.ndarray, int]:
        vecs, truncated = self._load().embed(texts)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.where(norms > 0, norms, 1.0), truncated

    def _pair_scores(self, hyp: np.ndarray, ref: np.ndarray, src: np.ndarray | None) -> np.ndarray:
        return np.clip(np.einsum("ij,ij->i", hyp.astype(np.float64), ref.astype(np.float64)), -1.0, 1.0)

    def _cache_signature(self) -> str:
        enc = self._load()
        return f"{self.name}|{enc.name}@{enc.version}/{enc.checksum}|numpy:{np.__version__}"

    def _signature_fields(self) -> str:
        enc = self._load()
        return (f"model:{self.name}|encoder:{enc.name}@{enc.version}/{enc.checksum}|"
                f"trg:{'+'.join(self.languages)}|dtype:fp32|evalkit:{__version__}|numpy:{np.__version__}")
