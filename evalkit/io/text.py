"""Reading plain-text files safely: UTF-8 checked with byte offsets, BOM and CRLF handled."""
from __future__ import annotations

import codecs
from pathlib import Path

from evalkit.errors import InputError


def decode(data: bytes, path: str | Path, *, offset: int = 0, line: int = 1) -> str:
    """Bytes of a file as text: a UTF-8 BOM is dropped and CRLF/CR become LF.

    ``data`` may be a run of whole lines that starts at byte ``offset`` on line ``line`` (a partition read by
    a worker), so that an invalid byte is reported at its place in the whole file.
    """
    start = 0
    if offset == 0 and data.startswith(codecs.BOM_UTF8):
        start = len(codecs.BOM_UTF8)
    try:
        text = data[start:].decode("utf-8") if start else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = start + exc.start
        where = line + data.count(b"\n", 0, at)
        raise InputError(
            f"{path}: invalid UTF-8 at byte offset {offset + at} (line {where}); re-encode the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a file")
    return p


def read_text(path: str | Path) -> str:
    """Whole file as text; a UTF-8 BOM is dropped and CRLF/CR become LF."""
    p = check_file(path)
    return decode(p.read_bytes(), p)


def split_lines(text: str) -> list[str]:
    """Lines as sacrebleu reads them: split at LF, a final LF ends the last line rather than starting one."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_lines(path: str | Path, *, allow_empty: bool = False) -> list[str]:
    """One segment per line, as sacrebleu reads them (trailing newline stripped, nothing else)."""
    text = read_text(path)
    if not text.strip() and not allow_empty:
        raise InputError(f"{path}: file is empty")
    return split_lines(text)
