"""The files of a big input, and an index of each that lets a worker read any run of its rows alone.

An input argument is one file, a directory (its files, by name) or a glob pattern (its matches, by name). Each
file is indexed once, on a worker: its rows are counted exactly as the whole-file readers in ``evalkit.io``
count them (a text line, a non-blank JSONL line, a non-empty TSV line after the header, a Parquet row), UTF-8
is checked, the bytes are hashed for the checkpoint key, and every ``EVERY``-th row gets a mark (byte offset
and line number). A partition then reads only the bytes between two marks and parses them with the same
functions the whole-file readers use, so the two paths cannot disagree about what a row is.
"""
from __future__ import annotations

import bisect
import glob
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from evalkit.errors import InputError
from evalkit.io.records import Columns, Records, jsonl_rows, parquet_rows, to_records, tsv_header, tsv_rows
from evalkit.io.text import check_file, decode, split_lines

FORMATS = ("text", "tsv", "jsonl", "parquet")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".tsv": "tsv", ".parquet": "parquet"}
EVERY = 256  # rows between marks: a partition reads at most this many rows of a file that are not its own
CHUNK = 8 << 20  # bytes read at a time while indexing


@dataclass(frozen=True)
class Mark:
    """Rows ``row``, ``row + 1``... of a file start at ``byte`` (for Parquet: at row group ``byte``), on ``line``."""

    row: int
    byte: int
    line: int


@dataclass(frozen=True)
class Shard:
    """One indexed file. ``marks`` start at row 0 and end with a mark at ``rows`` (the end of the file)."""

    path: str
    fmt: str
    rows: int
    marks: tuple[Mark, ...]
    digest: str
    fields: tuple[str, ...] = ()  # the first record's fields (TSV: the header), which decide has_src

    def window(self, a: int, b: int) -> Shard:
        """This shard with only the marks needed to read rows ``[a, b)``: what a partition's task carries."""
        rows = [m.row for m in self.marks]
        lo = bisect.bisect_right(rows, a) - 1
        hi = bisect.bisect_left(rows, b)
        return replace(self, marks=self.marks[lo:hi + 1])

    def read(self, a: int, b: int, cols: Columns, has_src: bool | None) -> Records | list[str]:
        """Rows ``[a, b)`` of the file: lines (text) or validated records, with errors naming this file's lines."""
        rows = [m.row for m in self.marks]
        m0 = self.marks[bisect.bisect_right(rows, a) - 1]
        m1 = self.marks[bisect.bisect_left(rows, b)]
        lo, hi = a - m0.row, b - m0.row
        if self.fmt == "parquet":
            # Only the columns evalkit reads, unless the MT column is missing: then all, for the error's field list.
            wanted = [cols.mt, cols.ref, cols.refs, cols.src] if cols.mt in self.fields else None
            records = parquet_rows(self.path, range(m0.byte, m1.byte), wanted)
            return to_records(records[lo:hi], self.path, cols, first=a + 1, has_src=has_src)
        with open(self.path, "rb") as fh:
            fh.seek(m0.byte)
            data = fh.read(m1.byte - m0.byte)
        lines = split_lines(decode(data, self.path, offset=m0.byte, line=m0.line))
        if self.fmt == "text":
            return lines[lo:hi]
        if self.fmt == "jsonl":
            parsed, at = jsonl_rows(lines, self.path, m0.line)
        else:
            parsed, at = tsv_rows(lines, self.fields, self.path, cols, m0.line)
        return to_records(parsed[lo:hi], self.path, cols, lines=at[lo:hi], first=a + 1, has_src=has_src)


def list_files(spec: str) -> list[str]:
    """The files an argument names: itself, a directory's files (hidden and ``_``-prefixed ones skipped) or a
    glob's matches, sorted by name so that the shards of a corpus keep their order."""
    p = Path(spec)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_")))
        if any(Path(f).suffix == ".arrow" for f in files) or (p / "dataset_info.json").exists():
            raise InputError(f"{spec}: a saved Hugging Face dataset is read whole; with --cluster give Parquet, "
                             "JSONL, TSV or text shards (Dataset.to_parquet writes them)")
        if not files:
            raise InputError(f"{spec}: the directory has no files")
        return files
    if any(c in spec for c in "*?["):
        files = sorted(f for f in glob.glob(spec) if Path(f).is_file())
        if not files:
            raise InputError(f"{spec}: no files match")
        return files
    return [str(check_file(spec))]


def file_format(path: str, given: str = "auto") -> str:
    if given != "auto":
        return given
    return SUFFIXES.get(Path(path).suffix.lower(), "text")


def index_file(path: str, fmt: str) -> Shard:
    """Count, mark, hash and check one file (a task of its own on some worker)."""
    if fmt == "parquet":
        return _index_parquet(path)
    p = check_file(path)
    digest = hashlib.blake2b(digest_size=16)
    marks: list[Mark] = []
    rows, line, offset = 0, 1, 0
    fields: tuple[str, ...] | None = None
    blank = True
    with open(p, "rb") as fh:
        carry = b""
        while True:
            buf = fh.read(CHUNK)
            digest.update(buf)
            data = carry + buf
            if buf:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            elif not data:
                break
            else:
                carry = b""
            lines = split_lines(decode(data, p, offset=offset, line=line))
            starts = offset + _line_starts(data)[:len(lines)]
            if fmt == "text":
                keep = np.ones(len(lines), dtype=bool)
                blank = blank and not any(s.strip() for s in lines)
            elif fmt == "jsonl":
                keep = np.fromiter((bool(s.strip()) for s in lines), dtype=bool, count=len(lines))
            else:
                keep = np.fromiter((s != "" for s in lines), dtype=bool, count=len(lines))
                if line == 1 and lines:
                    fields, keep[0] = tuple(tsv_header(lines[0])), False
            at = np.flatnonzero(keep)
            if fmt == "jsonl" and fields is None and len(at):
                first, _ = jsonl_rows([lines[at[0]]], p, line + int(at[0]))
                fields = tuple(first[0])
            for j in np.flatnonzero((rows + np.arange(len(at))) % EVERY == 0):
                marks.append(Mark(rows + int(j), int(starts[at[j]]), line + int(at[j])))
            rows += len(at)
            line += len(lines)
            offset += len(data)
            if not buf:
                break
    if fmt == "text" and blank:
        raise InputError(f"{path}: file is empty")
    if fmt == "tsv" and fields is None:
        raise InputError(f"{path}: file is empty")
    if fmt != "text" and rows == 0:
        raise InputError(f"{path}: no records")
    marks.append(Mark(rows, offset, line))
    return Shard(str(path), fmt, rows, tuple(marks), digest.hexdigest(), fields or ())


def _line_starts(data: bytes) -> np.ndarray:
    """Byte offsets where each line of ``data`` starts, with ``decode``'s line breaks: LF, CRLF and a lone CR."""
    arr = np.frombuffer(data, dtype=np.uint8)
    lf = arr == 10
    cr = arr == 13
    cr[:-1] &= ~lf[1:]
    return np.concatenate([[0], np.flatnonzero(lf | cr) + 1])


def _index_parquet(path: str) -> Shard:
    """Parquet marks are row groups; the hash covers the file's bytes, as for the text formats."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = check_file(path)
    digest = hashlib.blake2b(digest_size=16)
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    try:
        pf = pq.ParquetFile(str(p))
        meta, names = pf.metadata, tuple(pf.schema_arrow.names)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{p}: cannot read as Parquet: {exc}") from None
    marks, rows = [], 0
    for g in range(meta.num_row_groups):
        marks.append(Mark(rows, g, 0))
        rows += meta.row_group(g).num_rows
    if rows == 0:
        raise InputError(f"{p}: no records")
    marks.append(Mark(rows, meta.num_row_groups, 0))
    return Shard(str(p), "parquet", rows, tuple(marks), digest.hexdigest(), names)

