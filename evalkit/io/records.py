"""Record inputs: TSV and JSONL files, and Hugging Face ``datasets`` (local directories or files).

Records carry ``src``, ``mt`` and ``ref`` (one reference) or ``refs`` (a list); column names can be
remapped. Everything ends up as plain aligned lists.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import InputError
from evalkit.io.text import read_text


# Key under which the TSV reader gathers its reference columns (``ref``, ``ref2``...): not a column name.
_JOINED_REFS = object()


@dataclass
class Columns:
    mt: str = "mt"
    ref: str = "ref"
    refs: str = "refs"
    src: str = "src"


@dataclass
class Records:
    hyps: list[str]
    refs: list[list[str]]  # streams
    srcs: list[str] | None


def _to_records(rows: list[dict[Any, Any]], where: str, cols: Columns) -> Records:
    if not rows:
        raise InputError(f"{where}: no records")
    hyps: list[str] = []
    per_seg_refs: list[list[str]] = []
    srcs: list[str] = []
    has_src = cols.src in rows[0]
    for i, row in enumerate(rows, 1):
        if cols.mt not in row:
            fields = ", ".join(str(k) for k in row if k is not _JOINED_REFS)
            raise InputError(f"{where}: record {i} has no {cols.mt!r} field (fields: {fields}); "
                             "name the MT field with --mt-column")
        mt = row[cols.mt]
        if not isinstance(mt, str):
            raise InputError(f"{where}: record {i}: {cols.mt!r} must be a string")
        if _JOINED_REFS in row:
            refs = row[_JOINED_REFS]
        elif cols.refs in row and row[cols.refs] is not None:
            refs = row[cols.refs]
            if isinstance(refs, str):
                raise InputError(f"{where}: record {i}: {cols.refs!r} must be a list of strings, got a string "
                                 f"(use {cols.ref!r} for a single reference)")
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise InputError(f"{where}: record {i}: {cols.refs!r} must be a list of strings")
        elif cols.ref in row:
            if not isinstance(row[cols.ref], str):
                raise InputError(f"{where}: record {i}: {cols.ref!r} must be a string (use {cols.refs!r} for a list)")
            refs = [row[cols.ref]]
        else:
            raise InputError(f"{where}: record {i} has no {cols.ref!r} or {cols.refs!r} field; "
                             "name the reference field with --ref-column or --refs-column")
        if not refs:
            raise InputError(f"{where}: record {i} has an empty reference list")
        hyps.append(mt)
        per_seg_refs.append(list(refs))
        if has_src:
            srcs.append(str(row.get(cols.src) or ""))
    k = max(len(r) for r in per_seg_refs)
    streams = [[r[j] if j < len(r) else None for r in per_seg_refs] for j in range(k)]  # type: ignore[misc]
    return Records(hyps, streams, srcs if has_src else None)


def read_jsonl(path: str | Path, cols: Columns = Columns()) -> Records:
    rows = []
    for n, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}: line {n}: expected a JSON object")
        rows.append(obj)
    return _to_records(rows, str(path), cols)


def read_tsv(path: str | Path, cols: Columns = Columns()) -> Records:
    """TSV with a header row; several reference columns (``ref``, ``ref2``... or ``refs`` joined) allowed."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: file is empty") from None
    ref_cols = [h for h in header if h == cols.ref or (h.startswith(cols.ref) and h[len(cols.ref):].isdigit())]
    rows = []
    for n, fields in enumerate(reader, 2):
        if not fields:
            continue
        if len(fields) != len(header):
            raise InputError(f"{path}: line {n} has {len(fields)} fields, header has {len(header)}")
        row: dict[Any, Any] = dict(zip(header, fields))
        if ref_cols:
            row[_JOINED_REFS] = [row[c] for c in ref_cols]
        rows.append(row)
    return _to_records(rows, str(path), cols)


def read_dataset(path: str | Path, cols: Columns = Columns(), split: str | None = None) -> Records:
    """A local Hugging Face dataset: a ``save_to_disk`` directory, or local data files (json/csv/parquet)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    datasets.disable_progress_bars()  # stderr carries only evalkit's one-line messages

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such dataset directory or file (only local datasets can be read; no hub access)")
    try:
        if p.is_dir() and ((p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists()):
            ds: Any = datasets.load_from_disk(str(p))
        else:
            kind = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}.get(p.suffix)
            if p.is_dir():
                ds = datasets.load_dataset(str(p))
            elif kind is None:
                raise InputError(f"{p}: unsupported dataset file type {p.suffix!r} (json, jsonl, csv, tsv, parquet)")
            else:
                extra = {"delimiter": "\t"} if p.suffix == ".tsv" else {}
                ds = datasets.load_dataset(kind, data_files=str(p), **extra)
    except InputError:
        raise
    except Exception as exc:  # datasets raises many types for unreadable data
        raise InputError(f"{p}: cannot read as a dataset: {exc}") from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        chosen = split or ("test" if "test" in ds else names[0])
        if chosen not in ds:
            raise InputError(f"{p}: no split {chosen!r} (splits: {', '.join(names)})")
        ds = ds[chosen]
    return _to_records([dict(r) for r in ds], str(p), cols)
