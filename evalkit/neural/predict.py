"""The one predict loop for neural models: dedup, cache lookup, length-sorted batches, progress, truncation.

``predict(texts, fn, ...)`` returns one vector per input text. Identical texts are computed once; texts
already in the on-disk cache (keyed by the model signature and the text) are not computed at all; the
rest go through ``fn`` in batches of similar length (little padding) and are written back to the cache
after every batch, so an interrupted run keeps its work.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_CACHE = "EVALKIT_CACHE_DIR"
CACHE_FILE = "neural-cache.sqlite3"

# fn(batch of texts) -> ((batch, dim) float32 array, or one vector per text, number of texts cut to the model's
# maximum length)
BatchFn = Callable[[list[str]], tuple[np.ndarray | list[np.ndarray], int]]


def default_cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "evalkit"


def cache_key(signature: str, text: str) -> bytes:
    return hashlib.sha256(signature.encode("utf-8") + b"\x00" + text.encode("utf-8")).digest()


class VectorCache:
    """A persistent ``(signature, text) -> float32 vector`` store in SQLite (WAL mode).

    SQLite serialises writers across processes, and ``INSERT OR IGNORE`` keeps the first value written
    for a key, so two runs sharing the cache never corrupt it and a cached score never changes.
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dim INTEGER, value BLOB) WITHOUT ROWID")
            con.commit()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=120.0)
        con.execute("PRAGMA busy_timeout=120000")
        return con

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        with closing(self._connect()) as con:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for key, dim, value in con.execute(f"SELECT key, dim, value FROM vectors WHERE key IN ({marks})", chunk):
                    vec = np.frombuffer(value, dtype=np.float32)
                    if vec.size == dim:
                        out[key] = vec
        return out

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        rows = [(k, int(v.size), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with closing(self._connect()) as con:
            with con:
                con.executemany("INSERT OR IGNORE INTO vectors (key, dim, value) VALUES (?, ?, ?)", rows)


class LayeredCache:
    """An in-process dict in front of the on-disk cache (or alone, with the cache off).

    A metric that reads its own outputs twice in one run (scores, then XCOMET's spans) computes them once
    even with ``--neural-cache off``.
    """

    def __init__(self, disk: VectorCache | None = None) -> None:
        self.disk = disk
        self.memory: dict[bytes, np.ndarray] = {}

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        hits = {k: self.memory[k] for k in keys if k in self.memory}
        rest = [k for k in keys if k not in hits]
        if rest and self.disk is not None:
            found = self.disk.get_many(rest)
            self.memory.update(found)
            hits.update(found)
        return hits

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        items = list(items)
        self.memory.update(items)
        if self.disk is not None:
            self.disk.put_many(items)


@dataclass
class PredictInfo:
    """What a predict call did: inputs, distinct texts, cache hits, computed texts, truncated texts."""

    inputs: int = 0
    unique: int = 0
    cached: int = 0
    computed: int = 0
    truncated: int = 0
    seconds: float = 0.0

    def add(self, other: "PredictInfo") -> None:
        for name in ("inputs", "unique", "cached", "computed", "truncated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds


def length_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (memory peaks early, padding stays low)."""
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def predict(
    texts: Sequence[str],
    fn: BatchFn,
    *,
    signature: str,
    cache: VectorCache | LayeredCache | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
    description: str = "embedding",
    min_progress: int = 2000,
    stack: bool = True,
) -> tuple[np.ndarray | list[np.ndarray], PredictInfo]:
    """``(len(texts), dim)`` vectors for ``texts``; see the module docstring for what is saved where.

    ``stack=False`` returns a list instead, for models whose outputs differ in length (one value per token).
    """
    start = time.perf_counter()
    info = PredictInfo(inputs=len(texts))
    unique = list(dict.fromkeys(texts))
    info.unique = len(unique)
    vectors: dict[str, np.ndarray] = {}
    if cache is not None and unique:
        keys = [cache_key(signature, t) for t in unique]
        hits = cache.get_many(keys)
        for text, key in zip(unique, keys):
            if key in hits:
                vectors[text] = hits[key]
        info.cached = len(vectors)
    todo = [t for t in unique if t not in vectors]
    batches = length_batches(todo, batch_size)
    show = progress if progress is not None else (len(todo) >= min_progress and sys.stderr.isatty())
    with _Bar(show, len(todo), description) as bar:
        for batch in batches:
            chunk = [todo[i] for i in batch]
            out, truncated = fn(chunk)
            if isinstance(out, np.ndarray):
                out = out.astype(np.float32, copy=False)
            info.truncated += int(truncated)
            info.computed += len(chunk)
            for text, vec in zip(chunk, out):
                vectors[text] = np.asarray(vec, dtype=np.float32)
            if cache is not None:
                cache.put_many((cache_key(signature, t), vectors[t]) for t in chunk)
            bar.advance(len(chunk))
    info.seconds = time.perf_counter() - start
    if not stack:
        return [vectors[t] for t in texts], info
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), info
    return np.stack([vectors[t] for t in texts]), info


class _Bar:
    """A rich progress bar on stderr, or nothing (also when another live display already owns the terminal)."""

    def __init__(self, show: bool, total: int, description: str) -> None:
        self.progress = None
        if show and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.task = self.progress.add_task(description, total=total)

    def __enter__(self) -> "_Bar":
        if self.progress is not None:
            from rich.errors import LiveError

            try:
                self.progress.start()
            except LiveError:
                self.progress = None
        return self

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
