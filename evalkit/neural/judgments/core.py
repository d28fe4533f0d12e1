"""The one shape every human-judgment set is read into, and the file plumbing the readers share.

Readers keep text as released (only line ends are stripped), report malformed rows as
``InputError("file:line: ...")`` and count, never silently drop, the rows they cannot use.
"""
from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_lines, read_text


@dataclass(frozen=True)
class Judgment:
    """One human quality judgment of one translation."""

    dataset: str            # short set name ("wmt22-da", "news-mqm", ...)
    lp: str                 # "zh-en"
    segment: str            # the source segment, shared by all its translations: the unit of a dev split
    system: str
    src: str
    hyp: str
    refs: tuple[str, ...]   # independent human references, the standard one first; () without one
    post_edit: str | None   # a human post-edit of this very hyp (MLQE-PE), else None
    label: float            # the human score as released, higher is better
    scale: str              # what ``label`` is: "da-z", "mqm", "mqm-norm", "esa", "hter"
    group: str              # the unit to standardise labels within


class Tally:
    """Counts of rows a reader skipped or resolved by a rule, keyed ``"dataset:lp: what"``."""

    def __init__(self, counts: Counter[str] | None) -> None:
        self.counts = counts if counts is not None else Counter()

    def add(self, dataset: str, lp: str, what: str, n: int = 1) -> None:
        if n:
            self.counts[f"{dataset}:{lp}: {what}"] += n


def strip_eol(text: str) -> str:
    return text.rstrip("\r\n")


def read_gz_text(path: Path) -> str:
    """A gzip'd UTF-8 text file, BOM dropped and line ends made LF (as ``read_text`` does for plain files)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as gzip'd UTF-8 text ({exc})") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def file_text(path: Path) -> str:
    return read_gz_text(path) if path.suffix == ".gz" else read_text(path)


def text_lines(path: Path) -> list[str]:
    """Lines of a plain or gzip'd file, the final newline dropped (empty lines kept: they are rows)."""
    if path.suffix != ".gz":
        return read_lines(path, allow_empty=True)
    lines = read_gz_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def tsv_rows(path: Path, header: Sequence[str], keep: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a tab-separated file whose first line starts with ``header``.

    Quotes are ordinary characters (the WMT files are not CSV-quoted). ``keep`` fields are kept
    (ragged rows may carry more); a row with fewer is malformed.
    """
    lines = text_lines(path)
    want = keep or len(header)
    if not lines or lines[0].split("\t")[: len(header)] != list(header):
        raise InputError(f"{path}:1: expected a header starting {' '.join(header)!r}")
    for lineno, line in enumerate(lines[1:], 2):
        if not line:
            continue
        cells = line.split("\t")
        if len(cells) < want or (keep is None and len(cells) != want):
            raise InputError(f"{path}:{lineno}: expected {want} tab-separated fields, got {len(cells)}")
        yield lineno, cells[:want]


def tsv_dicts(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: value})`` of a tab-separated file with a header naming ``columns``."""
    lines = text_lines(path)
    header = lines[0].split("\t") if lines else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}:1: no column {', '.join(missing)} (header: {' '.join(header)})")
    index = {c: header.index(c) for c in columns}
    for lineno, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise InputError(f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(cells)}")
        yield lineno, {c: cells[i] for c, i in index.items()}


def csv_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: value})`` of a quoted CSV with a header holding ``columns``."""
    reader = csv.reader(io.StringIO(file_text(path), newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InputError(f"{path}: empty or unreadable CSV") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}:1: no column {', '.join(missing)} (header: {', '.join(header)})")
    index = {c: header.index(c) for c in columns}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
        if not cells:
            continue
        if len(cells) != len(header):
            raise InputError(f"{path}:{reader.line_num}: expected {len(header)} fields, got {len(cells)}")
        yield reader.line_num, {c: cells[i] for c, i in index.items()}


def number(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{where}: not a number: {value!r}") from None


def wanted(lp: str, lps: Sequence[str] | None) -> bool:
    return lps is None or lp in lps


def dedupe(rows: list[Judgment], seen: set[tuple[str, str, str]], tally: Tally) -> list[Judgment]:
    """Rows whose (lp, src, hyp) is not in ``seen`` (a set read elsewhere); the others are counted."""
    out = []
    for j in rows:
        if (j.lp, j.src, j.hyp) in seen:
            tally.add(j.dataset, j.lp, "skipped: same src and hyp as a row of another set")
        else:
            out.append(j)
    return out
