"""On-disk cache of segment statistics, so that re-running a meta-evaluation does not re-score.

An entry is keyed by the metric signature and a SHA-256 of exactly what was scored (the pair, the
system name, its hypotheses, the references and, for metrics that read it, the source). Changing the
data or any metric setting therefore misses the cache instead of returning stale numbers, and moving
the data folder keeps it valid. Entries are ``.npz`` files written atomically.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evalkit.report.atomic import write_atomic

DEFAULT_CACHE_DIR = Path("~/.cache/evalkit/metaeval").expanduser()


def text_digest(*streams: Sequence[str] | None) -> str:
    """SHA-256 of several line streams; stream boundaries and line counts are part of the hash."""
    h = hashlib.sha256()
    for stream in streams:
        if stream is None:
            h.update(b"\x00none\x00")
            continue
        h.update(f"\x00{len(stream)}\x00".encode())
        for line in stream:
            h.update(line.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)[:80] or "_"


class StatsCache:
    """``root=None`` switches caching off (every lookup misses, nothing is written)."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root).expanduser() if root is not None else None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(lp: str, system: str, signature: str, content_digest: str) -> str:
        return hashlib.sha256("\x00".join((lp, system, signature, content_digest)).encode()).hexdigest()

    def _path(self, lp: str, metric: str, system: str, key: str) -> Path:
        assert self.root is not None
        return self.root / _safe(lp) / _safe(metric) / f"{_safe(system)}.{key[:24]}.npz"

    def load(self, lp: str, metric: str, system: str, key: str) -> np.ndarray | None:
        if self.root is None:
            return None
        path = self._path(lp, metric, system, key)
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) != key:
                    raise ValueError("key mismatch")
                stats = np.asarray(z["stats"], dtype=np.float64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            self.misses += 1
            return None
        self.hits += 1
        return stats

    def store(self, lp: str, metric: str, system: str, key: str, stats: np.ndarray) -> None:
        if self.root is None:
            return
        buf = io.BytesIO()
        np.savez(buf, stats=np.asarray(stats, dtype=np.float64), key=np.array(key))
        write_atomic(self._path(lp, metric, system, key), buf.getvalue())
