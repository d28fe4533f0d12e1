"""A COMET checkpoint as ``comet.load_from_checkpoint`` (unbabel-comet 2.2.7) reads it, without COMET.

COMET takes ``class_identifier`` (and nothing else) from ``hparams.yaml`` two folders above the ``.ckpt``,
and every other hyper-parameter from the checkpoint's own ``hyper_parameters``, falling back to the class's
``__init__`` defaults, as Lightning does. One exception (COMET#244): when ``hparams.yaml`` says
``layer_transformation: sparsemax_patch`` (CometKiwi, XCOMET), 2.2.4+ overrides the checkpoint's
``sparsemax`` with ``softmax`` — the published numbers of those models come from the softmax mix.

The state dict is read with ``torch.load(weights_only=True)``: no pickled code runs. Anything that cannot be
understood is a one-line ``ModelError`` that says what is wrong.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ModelError

CKPT_NAME = "model.ckpt"
HPARAMS_NAME = "hparams.yaml"
REGRESSION = "regression_metric"
REFERENCELESS = "referenceless_regression_metric"
UNIFIED = "unified_metric"
XCOMET = "xcomet_metric"

# The behaviour-relevant __init__ defaults of each class in unbabel-comet 2.2.7 (Lightning fills a
# hyper-parameter the checkpoint lacks from these). Layer sizes are not here: they come from the tensors.
_BASE = {"encoder_model": "XLM-RoBERTa", "pretrained_model": "xlm-roberta-large", "pool": "avg", "layer": "mix",
         "layer_transformation": "softmax", "layer_norm": True, "dropout": 0.1, "activations": "Tanh",
         "final_activation": None}
CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    REGRESSION: dict(_BASE),
    REFERENCELESS: dict(_BASE),
    UNIFIED: {"encoder_model": "XLM-RoBERTa", "pretrained_model": "microsoft/infoxlm-large", "sent_layer": "mix",
              "layer_transformation": "sparsemax", "layer_norm": True, "word_layer": 24, "dropout": 0.1,
              "activations": "Tanh", "final_activation": None, "input_segments": ["mt", "src", "ref"],
              "word_level_training": False, "error_labels": ["minor", "major"]},
    XCOMET: {"encoder_model": "XLM-RoBERTa-XL", "pretrained_model": "facebook/xlm-roberta-xl", "sent_layer": "mix",
             "layer_transformation": "sparsemax", "layer_norm": False, "word_layer": 36, "dropout": 0.1,
             "activations": "Tanh", "final_activation": None, "word_level_training": True,
             "error_labels": ["minor", "major", "critical"]},
}
CLASSES = tuple(CLASS_DEFAULTS)
# Lightning's older keys for the hyper-parameters, read before ``hyper_parameters`` as it does.
_PAST_HPARAMS_KEYS = ("hparams", "module_arguments")


@dataclass
class CometCheckpoint:
    """Everything evalkit takes from a COMET model folder."""

    path: Path  # the .ckpt file
    class_identifier: str
    hparams: dict[str, Any]  # resolved: class defaults <- checkpoint hyper_parameters
    layer_transformation: str  # what the layer mix really uses: "softmax" or "sparsemax"
    state_dict: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return model_name(self.path)


def model_name(ckpt: Path) -> str:
    """The model folder's name (``wmt22-comet-da`` for ``.../wmt22-comet-da/checkpoints/model.ckpt``)."""
    parents = ckpt.resolve().parents
    return parents[1].name if ckpt.parent.name == "checkpoints" and len(parents) > 1 else ckpt.stem


def locate(path: str | Path) -> tuple[Path, Path]:
    """The ``.ckpt`` file and the ``hparams.yaml`` COMET reads for it (two folders up from the file)."""
    p = Path(path).expanduser()
    if p.is_dir():
        candidates = [p / "checkpoints" / CKPT_NAME, p / CKPT_NAME]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            ckpts = sorted(p.glob("checkpoints/*.ckpt")) or sorted(p.glob("*.ckpt"))
            if len(ckpts) != 1:
                raise ModelError(f"{p}: no COMET checkpoint inside (expected checkpoints/{CKPT_NAME} and "
                                 f"{HPARAMS_NAME}, as the published model folders hold)")
            found = ckpts[0]
        p = found
    elif not p.is_file():
        raise ModelError(f"{p}: no such COMET checkpoint (give the model folder, or its checkpoints/{CKPT_NAME})")
    parents = p.resolve().parents
    hparams = parents[1] / HPARAMS_NAME if len(parents) > 1 else p.parent / HPARAMS_NAME
    return p, hparams


def read_hparams_file(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ModelError(f"{path}: {HPARAMS_NAME} is missing; COMET reads the model class from it (a published "
                         f"model folder holds {HPARAMS_NAME} next to checkpoints/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not readable YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a mapping of hyper-parameters, got {type(data).__name__}")
    return data


def load_weights(path: Path) -> dict[str, Any]:
    """The checkpoint dictionary, unpickling nothing but tensors and plain containers."""
    import pickle

    import torch

    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a PyTorch checkpoint (a torch.save zip archive)")
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # files from old torch versions cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported object"
        raise ModelError(f"{path}: holds more than tensors and plain values ({first[:160]}); evalkit loads with "
                         "torch.load(weights_only=True) and never unpickles code") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the checkpoint ({str(exc).strip().splitlines()[0][:160]})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a Lightning checkpoint (a dict with state_dict), got {type(data).__name__}")
    return data


def load_checkpoint(path: str | Path) -> CometCheckpoint:
    ckpt_path, hparams_path = locate(path)
    file_hparams = read_hparams_file(hparams_path)
    cls = file_hparams.get("class_identifier")
    if cls not in CLASS_DEFAULTS:
        known = ", ".join(CLASSES)
        raise ModelError(f"{hparams_path}: class_identifier {cls!r} is not a COMET class evalkit runs ({known})")
    data = load_weights(ckpt_path)
    state = data.get("state_dict")
    if not isinstance(state, dict) or not state:
        raise ModelError(f"{ckpt_path}: no state_dict in the checkpoint")
    stored: dict[str, Any] = {}
    for key in (*_PAST_HPARAMS_KEYS, "hyper_parameters"):
        value = data.get(key)
        if isinstance(value, dict):
            stored.update(value)
    hparams = {**CLASS_DEFAULTS[cls], **stored}
    if cls == XCOMET:  # XCOMETMetric.__init__ forces these whatever was saved
        hparams["input_segments"] = ["mt", "src", "ref"]
        hparams["word_level_training"] = True
        if list(hparams.get("error_labels") or []) != ["minor", "major", "critical"]:
            raise ModelError(f"{ckpt_path}: xcomet_metric needs error_labels [minor, major, critical], "
                             f"got {hparams.get('error_labels')}")
    transformation = str(hparams.get("layer_transformation"))
    if file_hparams.get("layer_transformation") == "sparsemax_patch":
        transformation = "softmax"
    return CometCheckpoint(ckpt_path, cls, hparams, "sparsemax" if transformation == "sparsemax" else "softmax",
                           state)
