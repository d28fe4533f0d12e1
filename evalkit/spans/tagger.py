"""The span tagger: a small feed-forward network over ``features.FEATURES`` that gives, per MT token,
P(error) and P(major error) (a major or critical human span covers it).

Trained by ``evalkit train-spans`` (``spans/train.py``) on human MQM error spans that are not test data
(TED talks en-de and zh-en, the BioMQM en-es dev documents), weighted by characters so that the loss
follows character-level F1. Inference is plain numpy: the weights are a small JSON file shipped in the
package (``spans/weights/span-tagger.json``) with the feature names, their standardisation, the layers
and the decision threshold chosen on held-out TED segments.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from evalkit.errors import ModelError
from evalkit.spans.features import FEATURES, REF_XL_FEATURES

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_TAGGER = WEIGHTS_DIR / "span-tagger.json"
QE_TAGGER = WEIGHTS_DIR / "qe-tagger.json"


@dataclass(frozen=True)
class SpanTagger:
    """Standardise, then ReLU layers, then sigmoids; the thresholds turn probabilities into decisions.

    ``threshold``: a token with P(error) at least this is flagged, in a segment with consensus evidence
    (other systems' outputs); ``single_threshold`` likewise in a segment without (None: ``threshold``).
    ``major_threshold``: a span whose tokens' mean P(major) is at least this is major (when the network has
    that second output).
    """

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    threshold: float
    checksum: str
    name: str = "span-tagger"
    major_threshold: float | None = None
    single_threshold: float | None = None
    features: tuple[str, ...] = FEATURES

    def threshold_for(self, consensus: bool) -> float:
        """The P(error) threshold for a segment with (or without) other systems' outputs as evidence."""
        return self.threshold if consensus or self.single_threshold is None else self.single_threshold

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(error) for each row of ``x`` (``(n, len(self.features))``)."""
        return self.outputs(x)[:, 0]

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """All sigmoid outputs, ``(n, outputs)``."""
        if x.shape[1] != len(self.mean):
            raise ModelError(f"{self.name}: {x.shape[1]} features given, the weights expect {len(self.mean)}")
        h = (x.astype(np.float32) - self.mean) / self.scale
        for k, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if k + 1 < len(self.layers):
                h = np.maximum(h, 0.0)
        return (1.0 / (1.0 + np.exp(-h))).astype(np.float32)

    @property
    def signature(self) -> str:
        single = f"|single:{self.single_threshold:g}" if self.single_threshold is not None else ""
        major = f"|major:{self.major_threshold:g}" if self.major_threshold is not None else ""
        return f"{self.name}:{self.checksum}|threshold:{self.threshold:g}{single}{major}"

    def to_json(self, extra: dict | None = None) -> str:
        doc = {
            "name": self.name,
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "layers": [{"weight": w.tolist(), "bias": b.tolist()} for w, b in self.layers],
            "threshold": self.threshold,
            "major_threshold": self.major_threshold,
            "single_threshold": self.single_threshold,
            **(extra or {}),
        }
        return json.dumps(doc, indent=None, sort_keys=True) + "\n"


def parse_tagger(text: str, origin: str, features: tuple[str, ...] | None = None) -> SpanTagger:
    """``features`` None: a reference-mode tagger, with or without the cross-lingual columns."""
    try:
        doc = json.loads(text)
        allowed = (FEATURES, REF_XL_FEATURES) if features is None else (features,)
        features = next((f for f in allowed if doc["features"] == list(f)), None)
        if features is None:
            raise ModelError(f"{origin}: trained on other features than this evalkit computes; retrain it with "
                             "`evalkit train-spans --config configs/train-spans.toml`")
        layers = tuple((np.asarray(layer["weight"], dtype=np.float32), np.asarray(layer["bias"], dtype=np.float32))
                       for layer in doc["layers"])
        return SpanTagger(np.asarray(doc["mean"], dtype=np.float32), np.asarray(doc["scale"], dtype=np.float32),
                          layers, float(doc["threshold"]), hashlib.sha256(text.encode()).hexdigest()[:12],
                          str(doc.get("name", "span-tagger")),
                          _optional(doc.get("major_threshold")), _optional(doc.get("single_threshold")),
                          tuple(features))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{origin}: not a span-tagger weights file ({exc})") from None


def _optional(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def load_tagger(path: str | Path = DEFAULT_TAGGER, features: tuple[str, ...] | None = None) -> SpanTagger:
    """The tagger from its JSON weights (the packaged reference-mode one by default) over ``features``."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no span-tagger weights; reinstall evalkit or train them with "
                         "`evalkit train-spans --config configs/train-spans.toml`")
    return parse_tagger(path.read_text(encoding="utf-8"), str(path), features)
