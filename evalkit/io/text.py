"""Reading plain-text files safely: UTF-8 checked with byte offsets, BOM and CRLF handled."""
from __future__ import annotations

import codecs
from pathlib import Path

from evalkit.errors import InputError


def read_text(path: str | Path) -> str:
    """Whole file as text; a UTF-8 BOM is dropped and CRLF/CR become LF."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a file")
    data = p.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{p}: invalid UTF-8 at byte offset {exc.start} (line {line}); re-encode the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: str | Path, *, allow_empty: bool = False) -> list[str]:
    """One segment per line, as sacrebleu reads them (trailing newline stripped, nothing else)."""
    text = read_text(path)
    if not text.strip() and not allow_empty:
        raise InputError(f"{path}: file is empty")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
