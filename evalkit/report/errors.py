"""The per-sentence error report: one stem, three files (HTML to read, Markdown to paste, JSONL to process)."""
from __future__ import annotations

from pathlib import Path

from evalkit.report.atomic import write_atomic
from evalkit.report.html import render_errors
from evalkit.report.markdown import render_markdown
from evalkit.report.serialize import to_jsonl
from evalkit.results import Result

SUFFIXES = (".html", ".md", ".jsonl")


def report_stem(path: str | Path) -> Path:
    """``out/report.html``, ``out/report.md`` and ``out/report`` all name the stem ``out/report``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in SUFFIXES else p


def write_report(result: Result, path: str | Path) -> list[Path]:
    """Render all three formats first, then write each atomically, so bad input leaves no partial report."""
    stem = report_stem(path)
    texts = {".html": render_errors(result), ".md": render_markdown(result), ".jsonl": to_jsonl(result)}
    return [write_atomic(Path(f"{stem}{suffix}"), text) for suffix, text in texts.items()]
