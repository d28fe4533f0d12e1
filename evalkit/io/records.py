"""Record inputs: TSV and JSONL files, and Hugging Face ``datasets`` (local directories or files).

Records carry ``src``, ``mt`` and ``ref`` (one reference) or ``refs`` (a list); column names can be
remapped. Everything ends up as plain aligned lists.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import InputError
from evalkit.io.text import read_text, split_lines
from evalkit.io.validate import join_streams


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


def to_records(rows: list[dict[Any, Any]], where: str, cols: Columns, *, lines: Sequence[int] | None = None,
               first: int = 1, has_src: bool | None = None) -> Records:
    """Validated aligned lists from record dicts; every error names the file, the line (when ``lines`` gives
    them) and the record.

    ``first`` numbers the first of ``rows`` within its file and ``has_src`` says whether the file's first record
    had a source, so that a partition of a file (read on a Dask worker) is checked as the whole file is.
    """
    if not rows:
        raise InputError(f"{where}: no records")
    hyps: list[str] = []
    per_seg_refs: list[list[str]] = []
    srcs: list[str] = []
    if has_src is None:
        has_src = cols.src in rows[0]
    for j, row in enumerate(rows):
        at = f"{where}: line {lines[j]}: record {first + j}" if lines is not None else f"{where}: record {first + j}"
        if cols.mt not in row:
            fields = ", ".join(str(k) for k in row if k is not _JOINED_REFS)
            raise InputError(f"{at} has no {cols.mt!r} field (fields: {fields}); "
                             "name the MT field with --mt-column")
        mt = row[cols.mt]
        if not isinstance(mt, str):
            raise InputError(f"{at}: {cols.mt!r} must be a string")
        if _JOINED_REFS in row:
            refs = row[_JOINED_REFS]
        elif cols.refs in row and row[cols.refs] is not None:
            refs = row[cols.refs]
            if isinstance(refs, str):
                raise InputError(f"{at}: {cols.refs!r} must be a list of strings, got a string "
                                 f"(use {cols.ref!r} for a single reference)")
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise InputError(f"{at}: {cols.refs!r} must be a list of strings")
        elif cols.ref in row:
            if not isinstance(row[cols.ref], str):
                raise InputError(f"{at}: {cols.ref!r} must be a string (use {cols.refs!r} for a list)")
            refs = [row[cols.ref]]
        else:
            raise InputError(f"{at} has no {cols.ref!r} or {cols.refs!r} field; "
                             "name the reference field with --ref-column or --refs-column")
        if not refs:
            raise InputError(f"{at} has an empty reference list")
        hyps.append(mt)
        per_seg_refs.append(list(refs))
        if has_src:
            srcs.append(str(row.get(cols.src) or ""))
    k = max(len(r) for r in per_seg_refs)
    streams = [[r[j] if j < len(r) else None for r in per_seg_refs] for j in range(k)]  # type: ignore[misc]
    return Records(hyps, streams, srcs if has_src else None)


def concat_records(parts: Sequence[Records]) -> Records:
    """Records read in consecutive pieces (shards of one input) as one, with as many reference streams as the
    piece that has most, as if the pieces had been one file."""
    hyps = [h for r in parts for h in r.hyps]
    refs = join_streams([(r.refs, len(r.hyps)) for r in parts])
    srcs = None if parts[0].srcs is None else [s for r in parts for s in (r.srcs or [])]
    return Records(hyps, refs, srcs)


def jsonl_rows(lines: Sequence[str], path: str | Path, first_line: int = 1) -> tuple[list[dict[str, Any]], list[int]]:
    """The JSON object on each non-blank line, and its line number."""
    rows: list[dict[str, Any]] = []
    at: list[int] = []
    for n, line in enumerate(lines, first_line):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}: line {n}: expected a JSON object")
        rows.append(obj)
        at.append(n)
    return rows, at


def tsv_header(line: str) -> list[str]:
    return next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))


def tsv_rows(lines: Sequence[str], header: Sequence[str], path: str | Path, cols: Columns,
             first_line: int = 2) -> tuple[list[dict[Any, Any]], list[int]]:
    """Rows of the lines after the header (empty lines skipped); several reference columns (``ref``, ``ref2``...)
    are gathered into one list."""
    ref_cols = [h for h in header if h == cols.ref or (h.startswith(cols.ref) and h[len(cols.ref):].isdigit())]
    rows: list[dict[Any, Any]] = []
    at: list[int] = []
    for n, fields in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), first_line):
        if not fields:
            continue
        if len(fields) != len(header):
            raise InputError(f"{path}: line {n} has {len(fields)} fields, header has {len(header)}")
        row: dict[Any, Any] = dict(zip(header, fields))
        if ref_cols:
            row[_JOINED_REFS] = [row[c] for c in ref_cols]
        rows.append(row)
        at.append(n)
    return rows, at


def read_jsonl(path: str | Path, cols: Columns = Columns()) -> Records:
    rows, at = jsonl_rows(read_text(path).split("\n"), path)
    return to_records(rows, str(path), cols, lines=at)


def read_tsv(path: str | Path, cols: Columns = Columns()) -> Records:
    """TSV with a header row; several reference columns (``ref``, ``ref2``... or ``refs`` joined) allowed."""
    lines = split_lines(read_text(path))
    if not lines:
        raise InputError(f"{path}: file is empty")
    rows, at = tsv_rows(lines[1:], tsv_header(lines[0]), path, cols)
    return to_records(rows, str(path), cols, lines=at)


def parquet_rows(path: str | Path, groups: Sequence[int] | None = None,
                 columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Records of a Parquet file (or of some of its row groups), read with pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
        if columns is not None:
            columns = [c for c in columns if c in pf.schema_arrow.names]
        table = pf.read_row_groups(list(groups), columns=columns) if groups is not None else pf.read(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from None
    return table.to_pylist()


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
    return to_records([dict(r) for r in ds], str(p), cols)
