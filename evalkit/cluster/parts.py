"""Sentence-level output of a Dask run as one file per partition, with checkpoints that let a rerun resume.

In ``-o DIR``:

* ``part-00000.jsonl`` (or ``.parquet``): the partition's segments, the lines ``evalkit score -f jsonl`` writes;
* ``part-00000.done.json``: its checkpoint: the run key, the partition's statistics (sums of count metrics,
  rows of the others), the metrics' states and span counts; written after the part file, so it vouches for it;
* ``_evalkit.json``: the manifest (run key, partitions); ``summary.json``: the corpus scores (a result JSON
  without segments).

The run key hashes the inputs' contents, the metrics and their options, the spans mode, the partitioning,
the output format and the versions of evalkit and sacrebleu: a rerun with the same key skips every partition
whose checkpoint is there, and a changed input or setting recomputes them all.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.errors import InputError
from evalkit.report.atomic import write_atomic
from evalkit.results import Result

FORMATS = ("jsonl", "parquet")
MANIFEST = "_evalkit.json"
SUMMARY = "summary.json"
SCHEMA = "evalkit.parts/1"
_OURS = re.compile(r"^(part-\d{5}\.(jsonl|parquet|done\.json)|\.part-\d{5}\..*\.tmp)$")


@dataclass(frozen=True)
class PartsOut:
    directory: str
    fmt: str
    key: str

    def part(self, index: int) -> Path:
        return Path(self.directory) / f"part-{index:05d}.{self.fmt}"

    def checkpoint(self, index: int) -> Path:
        return Path(self.directory) / f"part-{index:05d}.done.json"


def parts_format(output: str | None, fmt: str, cluster: bool) -> str | None:
    """The partition format when ``-o`` names a directory of partitions, else None (``-o`` is one file).

    A directory is an existing one, a path ending in ``/``, or any path with ``-f parquet``; only a Dask run
    writes partitions, as JSONL (``-f jsonl``, or text, whose terminal output then summarises) or Parquet.
    """
    if not cluster or not output:
        if fmt == "parquet":
            raise InputError("parquet output is written in partitions: use --cluster ADDRESS -o DIR -f parquet")
        return None
    if not (fmt == "parquet" or Path(output).is_dir() or output.endswith(("/", os.sep))):
        return None
    if fmt not in ("text", *FORMATS):
        raise InputError(f"-o {output}: a directory gets sentence-level partitions, jsonl or parquet; "
                         f"for -f {fmt} give a file name")
    return "parquet" if fmt == "parquet" else "jsonl"


def run_key(fingerprint: Any) -> str:
    import sacrebleu

    blob = json.dumps({"evalkit": __version__, "sacrebleu": sacrebleu.__version__, "run": fingerprint},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def write_part(out: PartsOut, index: int, result: Result) -> None:
    from evalkit.report.serialize import to_jsonl, to_parquet

    write_atomic(out.part(index), to_parquet(result) if out.fmt == "parquet" else to_jsonl(result))


def save_checkpoint(out: PartsOut, index: int, payload: dict[str, Any]) -> None:
    doc = {"schema": SCHEMA, "key": out.key, "index": index, "file": out.part(index).name, **payload}
    write_atomic(out.checkpoint(index), json.dumps(doc, ensure_ascii=False))


def load_checkpoint(out: PartsOut, index: int) -> dict[str, Any] | None:
    """The checkpoint of a partition written by a run with this key, if its part file is there too."""
    path = out.checkpoint(index)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != out.key or not out.part(index).is_file():
        return None
    return doc


def open_directory(out: PartsOut, partitions: int) -> list[str]:
    """Create ``DIR`` (or take it over from an earlier run); after a changed input or setting, clear its parts."""
    d = Path(out.directory)
    if d.exists() and not d.is_dir():
        raise InputError(f"{d}: is a file; -o needs a directory for partitions")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{d}: cannot create the directory: {exc.strerror}") from None
    notes = []
    old = _manifest(d)
    ours = [f for f in d.iterdir() if _OURS.match(f.name)]
    if old is not None and old.get("key") != out.key and ours:
        notes.append(f"{d}: the inputs or settings differ from the run that wrote it; its "
                     f"{old.get('partitions', '?')} partitions were removed and are computed again")
        for f in ours:
            f.unlink(missing_ok=True)
    write_atomic(d / MANIFEST, json.dumps({"schema": SCHEMA, "key": out.key, "format": out.fmt,
                                           "partitions": partitions, "complete": False}, indent=2) + "\n")
    return notes


def close_directory(out: PartsOut, bounds: list[tuple[int, int]], summary: Result) -> None:
    """Summary and manifest last; parts of an older run that this one does not have are removed."""
    from evalkit.report.serialize import to_json

    d = Path(out.directory)
    keep = {out.part(i).name for i in range(len(bounds))} | {out.checkpoint(i).name for i in range(len(bounds))}
    for f in d.iterdir():
        if _OURS.match(f.name) and f.name not in keep:
            f.unlink(missing_ok=True)
    write_atomic(d / SUMMARY, to_json(summary))
    manifest = {"schema": SCHEMA, "key": out.key, "format": out.fmt, "partitions": len(bounds), "complete": True,
                "rows": bounds[-1][1] if bounds else 0,
                "files": [{"file": out.part(i).name, "first": a + 1, "last": b} for i, (a, b) in enumerate(bounds)]}
    write_atomic(d / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def _manifest(d: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
