"""Reader for Google's MQM ratings of the WMT21 TED talks (``ted/<pair>/mqm_ted_<pair>.tsv``).

The error file has one row per error (``No-error`` rows for clean segments), the span marked inline in
``target`` as ``<v>…</v>`` (in ``source`` for errors marked on the source side; both are returned without
marks); ``*.avg_seg_scores.tsv`` holds the segment MQM score averaged over raters (negative weighted
error count, ``None`` when unrated). The human references are rated like systems:
``ref``/``refB`` in the error file, ``ref-A``/``ref-B`` in the score file.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_lines, read_text

# error-file name -> score-file name of the human references
_REF_NAMES = {"ref": "ref-A", "refB": "ref-B"}


@dataclass(frozen=True)
class RatedSegment:
    system: str
    seg_id: int
    doc: str
    source: str
    target: str
    score: float


def strip_marks(text: str) -> str:
    return text.replace("<v>", "").replace("</v>", "")


def ted_error_rows(root: str | Path, pair: str) -> tuple[Path, list[dict[str, str]]]:
    """The error file of a TED pair (``ende``/``zhen``): its path and its rows (header keys), one per error."""
    path = Path(root) / "ted" / pair / f"mqm_ted_{pair}.tsv"
    if not path.exists():
        raise InputError(f"{path}: no such file (expected the google-mqm-ted layout)")
    return path, list(csv.DictReader(read_text(path).splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))


def read_ted_mqm(root: str | Path, pair: str = "zhen") -> list[RatedSegment]:
    """Every rated (system, segment) with its text and averaged MQM score, in file order.

    System names follow the score file (``ref-A``, ``ref-B`` for the human references).
    """
    folder = Path(root) / "ted" / pair
    errors_path, reader = ted_error_rows(root, pair)
    scores_path = folder / f"mqm_ted_{pair}.avg_seg_scores.tsv"
    if not scores_path.exists():
        raise InputError(f"{scores_path}: no such file (expected the google-mqm-ted layout)")
    scores: dict[tuple[str, int], float] = {}
    for lineno, line in enumerate(read_lines(scores_path), 1):
        parts = line.split()
        if lineno == 1 and parts and parts[0] == "system":
            continue
        if len(parts) != 3:
            raise InputError(f"{scores_path}:{lineno}: expected 'system score seg_id', got {line!r}")
        if parts[1] != "None":
            scores[(parts[0], int(parts[2]))] = float(parts[1])
    texts: dict[tuple[str, int], tuple[str, str, str]] = {}
    for lineno, row in enumerate(reader, 2):
        try:
            system = _REF_NAMES.get(row["system"], row["system"])
            key = (system, int(row["seg_id"]))
            item = (row["doc"], strip_marks(row["source"]), strip_marks(row["target"]))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{errors_path}:{lineno}: malformed row") from None
        if texts.setdefault(key, item)[2] != item[2]:
            raise InputError(f"{errors_path}:{lineno}: two different targets for {key[0]} segment {key[1]}")
    out = []
    for key, (doc, source, target) in texts.items():
        if key in scores:
            out.append(RatedSegment(key[0], key[1], doc, source, target, scores[key]))
    if not out:
        raise InputError(f"{folder}: no rated segments")
    return out
