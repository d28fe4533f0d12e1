"""Readers for human judgments released outside the mt-metrics-eval layout.

* WMT22 crowd DA (``humaneval/DA/*/ad-seg-scores-<lp>.csv``): space-separated ``SYS SID RAW.SCR Z.SCR N``
  with a header row; SID is the 1-based line number; system names carry a ``.N`` suffix
  (``JDExploreAcademy.6``) and ``HUMAN-B`` is reference B judged as a system. A system's official DA
  score is the plain mean of its segment rows (checked against ``ad-sys-scores-<lp>.csv`` in the tests).
* WMT24 system rankings (``humeval/generated_human_ranking.tex``): one LaTeX table per language pair,
  ``Rank & System & Human & AutoRank`` rows, clusters separated by ``\\midrule``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_lines, read_text

_SUFFIX = re.compile(r"^(?P<name>.+)\.(?P<id>\d+)$")


def strip_system_id(name: str) -> str:
    """``JDExploreAcademy.6`` -> ``JDExploreAcademy`` (the DA files number their systems)."""
    m = _SUFFIX.match(name)
    return m.group("name") if m else name


@dataclass(frozen=True)
class DAScore:
    """One system's DA judgment of one segment (averaged over its ``n`` ratings)."""

    system: str
    sid: int
    raw: float
    z: float
    n: int


def read_da_seg_scores(path: str | Path) -> list[DAScore]:
    """Rows of a WMT22 ``ad-seg-scores-<lp>.csv`` file, system ids stripped, SIDs kept 1-based."""
    rows = read_lines(path)
    out: list[DAScore] = []
    for lineno, line in enumerate(rows, 1):
        parts = line.split()
        if not parts or (lineno == 1 and parts[0] == "SYS"):
            continue
        if len(parts) != 5:
            raise InputError(f"{path}:{lineno}: expected 'SYS SID RAW.SCR Z.SCR N', got {line!r}")
        try:
            score = DAScore(strip_system_id(parts[0]), int(parts[1]), float(parts[2]), float(parts[3]), int(parts[4]))
        except ValueError:
            raise InputError(f"{path}:{lineno}: not a DA score row: {line!r}") from None
        if score.sid < 1:
            raise InputError(f"{path}:{lineno}: segment id {score.sid} is not 1-based")
        out.append(score)
    if not out:
        raise InputError(f"{path}: no DA score rows")
    return out


def read_da_sys_scores(path: str | Path) -> dict[str, tuple[float, float, int]]:
    """``ad-sys-scores-<lp>.csv``: ``{system: (raw, z, n_segments)}``."""
    out: dict[str, tuple[float, float, int]] = {}
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts or parts[0] == "RAW.SCR":
            continue
        try:
            out[strip_system_id(parts[3])] = (float(parts[0]), float(parts[1]), int(parts[2]))
        except (ValueError, IndexError):
            raise InputError(f"{path}:{lineno}: expected 'RAW.SCR Z.SCR N SYS N.ALL', got {line!r}") from None
    return out


def da_table(scores: Iterable[DAScore], n_segments: int, field: str = "z") -> dict[str, list[float | None]]:
    """``{system: [score or None per segment]}``, the shape of mt-metrics-eval segment score files."""
    if field not in ("z", "raw"):
        raise InputError(f"DA field must be 'z' or 'raw', got {field!r}")
    out: dict[str, list[float | None]] = {}
    for s in scores:
        if s.sid > n_segments:
            raise InputError(f"DA score for segment {s.sid} of {s.system}, but the test set has {n_segments} segments")
        row = out.setdefault(s.system, [None] * n_segments)
        if row[s.sid - 1] is not None:
            raise InputError(f"two DA scores for segment {s.sid} of {s.system}")
        row[s.sid - 1] = getattr(s, field)
    return out


def find_da_file(root: str | Path, lp: str, kind: str = "seg") -> Path:
    """The WMT22 DA file for a pair under ``root`` (``humaneval/DA/<batch>/ad-<kind>-scores-<lp>.csv``)."""
    hits = sorted(Path(root).glob(f"humaneval/DA/*/ad-{kind}-scores-{lp}.csv"))
    if not hits:
        raise InputError(f"{root}: no DA {kind} scores for {lp} (expected humaneval/DA/*/ad-{kind}-scores-{lp}.csv)")
    return hits[0]


# --- WMT24 human ranking -------------------------------------------------------------------------

LANGUAGE_CODES = {
    "Czech": "cs", "English": "en", "German": "de", "Spanish": "es", "Hindi": "hi", "Icelandic": "is",
    "Japanese": "ja", "Russian": "ru", "Ukrainian": "uk", "Chinese": "zh", "French": "fr", "Hebrew": "he",
}


@dataclass(frozen=True)
class RankedSystem:
    """A row of a WMT human ranking: rank range, significance cluster (1 = best) and scores."""

    name: str
    rank_low: int
    rank_high: int
    cluster: int
    human: float | None
    autorank: float | None
    track: str  # "closed", "open" or "" (unmarked)


_TITLE = re.compile(r"\\bf\{([A-Za-z]+)-([A-Za-z]+) \((\d+) segments per system\)\}")
_WRAPPER = re.compile(r"^\\(closedtrack|opentrack)\{(.*)\}$")
_MARKUP = re.compile(r"\\[A-Za-z]+\{([^{}]*)\}")


def _num_or_none(text: str) -> float | None:
    text = text.strip()
    return None if text in ("-", "--", "") else float(text)


def _parse_row(line: str, cluster: int, where: str) -> RankedSystem:
    body = line.strip()
    if body.endswith("\\\\"):
        body = body[:-2].strip()
    track = ""
    m = _WRAPPER.match(body)
    if m:
        track, body = m.group(1).replace("track", ""), m.group(2)
    cells = [c.strip() for c in body.split("&")]
    if len(cells) != 4:
        raise InputError(f"{where}: expected 'Rank & System & Human & AutoRank', got {line.strip()!r}")
    lo, _, hi = cells[0].partition("-")
    name = cells[1]
    while _MARKUP.search(name):
        name = _MARKUP.sub(r"\1", name)
    name = name.replace("\\_", "_")
    try:
        return RankedSystem(name, int(lo), int(hi or lo), cluster, _num_or_none(cells[2]), _num_or_none(cells[3]), track)
    except ValueError:
        raise InputError(f"{where}: cannot read rank or scores in {line.strip()!r}") from None


def read_human_ranking(path: str | Path) -> dict[str, list[RankedSystem]]:
    """``{lp: [RankedSystem, ...]}`` in table order, from WMT24's ``generated_human_ranking.tex``."""
    text = read_text(path)
    out: dict[str, list[RankedSystem]] = {}
    for block in text.split("\\begin{table}")[1:]:
        title = _TITLE.search(block)
        if not title:
            continue
        src, tgt = (LANGUAGE_CODES.get(x) for x in title.group(1, 2))
        if src is None or tgt is None:
            raise InputError(f"{path}: unknown language in table title {title.group(0)!r}")
        lp = f"{src}-{tgt}"
        body = block.split("\\toprule", 1)[-1].split("\\bottomrule", 1)[0]
        cluster, rows = 1, []
        for line in body.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("\\midrule"):
                cluster += 1
                continue
            rows.append(_parse_row(line, cluster, f"{path} ({lp})"))
        out[lp] = rows
    if not out:
        raise InputError(f"{path}: no ranking tables found")
    return out
