"""WMT general-task judgments: WMT22 crowd DA into English and WMT24 ESA.

WMT22 DA rows name segments by SID, which numbers them after sorting the documents by id: they reach
the text only through ``wmt22-da-toen/sid-to-line/{lp}.tsv`` (read as a line index, SID - 1 puts every
score on an unrelated segment). de-en has no map, so it is not read. A human translation judged as a
system (``HUMAN-B``, ``HUMAN-C``) gets the standard reference, never itself.

WMT24 ESA keeps one row per (annotator, item) as the organisers' scripts do (tutorial, ``BAD``,
``#incomplete`` and ``#dup`` rows dropped, the later ``end_time`` kept for a repeat). Every item has a
single rating, so nothing is averaged: the label is the 0-100 score and the group is the annotator
(ESA annotators differ in how they use the scale).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.judgments import find_da_file, read_da_seg_scores
from evalkit.io.wmt import WMTRelease
from evalkit.neural.judgments.core import (
    Judgment,
    Tally,
    file_text,
    number,
    text_lines,
    tsv_rows,
    wanted,
)

# pair -> (release folder, standard reference letter)
WMT22_DA = {
    "cs-en": ("wmt22-da-toen", "B"),
    "ja-en": ("wmt22-da-toen", "A"),
    "ru-en": ("wmt22-da-toen", "A"),
    "uk-en": ("wmt22-da-toen", "A"),
    "zh-en": ("wmt22-general-zh-en", "A"),
}
SID_MAPS = "wmt22-da-toen/sid-to-line"


def read_sid_map(path: Path) -> dict[int, int]:
    """``{SID: 0-based line}`` from a ``sid-to-line`` file (``SID line doc_id seg_in_doc``, line 1-based)."""
    out = {}
    for lineno, (sid, line, _, _) in tsv_rows(path, ("SID", "line", "doc_id", "seg_in_doc")):
        try:
            out[int(sid)] = int(line) - 1
        except ValueError:
            raise InputError(f"{path}:{lineno}: SID and line must be integers") from None
    return out


def read_wmt22_da(root: Path, lp: str, tally: Tally) -> list[Judgment]:
    folder, letter = WMT22_DA[lp]
    release = WMTRelease(root / folder, standard_letter=letter)
    src, ref = release.source(lp), release.reference(lp)
    outputs = {name: release.system_output(lp, name) for name in release.system_names(lp)}
    for other in release.reference_letters(lp):
        if other != letter:
            outputs[f"HUMAN-{other}"] = release.reference(lp, other)
    map_path = root / SID_MAPS / f"{lp}.tsv"
    lines = read_sid_map(map_path)
    for name, text in [("source", src), ("reference", ref), *outputs.items()]:
        if len(text) != len(src):
            raise InputError(f"{release.root}: {lp} {name} has {len(text)} lines, the source {len(src)}")
    if max(lines.values()) >= len(src) or min(lines.values()) < 0:
        raise InputError(f"{map_path}: line numbers outside the {len(src)} lines of the {lp} test set")
    out = []
    for row in read_da_seg_scores(find_da_file(release.root, lp)):
        if row.system not in outputs:
            tally.add("wmt22-da", lp, f"skipped: DA rows of a system without output ({row.system})")
            continue
        i = lines.get(row.sid)
        if i is None:
            tally.add("wmt22-da", lp, "skipped: SID not in the sid-to-line map")
            continue
        hyp = outputs[row.system][i]
        if not hyp.strip():
            tally.add("wmt22-da", lp, "skipped: empty hyp")
            continue
        out.append(Judgment("wmt22-da", lp, f"wmt22-da:{lp}:{i + 1}", row.system, src[i], hyp, (ref[i],), None,
                            row.z, "da-z", f"wmt22-da:{lp}"))
    return out


def read_wmt22_da_set(root: Path, lps: Sequence[str] | None, tally: Tally) -> list[Judgment]:
    return [j for lp in WMT22_DA if wanted(lp, lps) for j in read_wmt22_da(root, lp, tally)]


# --- WMT24 ESA -----------------------------------------------------------------------------------

ESA = "wmt24-esa"
ESA_WAVES = ("humeval/esa_generalMT2024_wave2.csv", "humeval/esa_generalMT2024_wave3.csv")
_LANG = {"eng": "en", "ces": "cs", "hin": "hi", "jpn": "ja", "zho": "zh"}
_ESA_FIELDS = 12


def _esa_ratings(root: Path, lps: Sequence[str] | None,
                 tally: Tally) -> dict[tuple[str, str, str, int], tuple[float, float]]:
    """``{(lp, annotator, system, line): (score, end_time)}`` after the organisers' filters."""
    kept: dict[tuple[str, str, str, int], tuple[float, float]] = {}
    for wave in ESA_WAVES:
        path = root / ESA / wave
        reader = csv.reader(io.StringIO(file_text(path), newline=""))
        for cells in reader:
            where = f"{path}:{reader.line_num}"
            if len(cells) != _ESA_FIELDS:
                raise InputError(f"{where}: expected {_ESA_FIELDS} fields, got {len(cells)}")
            annotator, system, line_id, seg_type, sl, tl, score, doc_id, _, _, _, end_time = cells
            if "tutorial" in system or "tutorial" in doc_id:
                continue
            lp = f"{_LANG.get(sl, sl)}-{_LANG.get(tl, tl)}"
            if seg_type == "BAD" or doc_id.endswith(("#bad", "#incomplete", "#dup")):
                if wanted(lp, lps):
                    tally.add("wmt24-esa", lp, "dropped as the organisers do: BAD, #incomplete or #dup rows")
                continue
            if not wanted(lp, lps):
                continue
            try:
                line = int(line_id)
            except ValueError:
                raise InputError(f"{where}: line_id {line_id!r} is not an integer") from None
            key = (lp, annotator, system, line)
            rating = (number(score, where), number(end_time, where))
            if key in kept:
                tally.add("wmt24-esa", lp, "repeated ratings (the later end_time kept)")
                if kept[key][1] >= rating[1]:
                    continue
            kept[key] = rating
    return kept


def read_esa_set(root: Path, lps: Sequence[str] | None, tally: Tally) -> list[Judgment]:
    """WMT24 ESA paragraphs; refA is the reference, and refA judged as a system gets none."""
    ratings = _esa_ratings(root, lps, tally)
    texts: dict[tuple[str, str], list[str]] = {}

    def lines(lp: str, system: str) -> list[str] | None:
        if (lp, system) not in texts:
            if system == "source":
                path = root / ESA / "txt" / "sources" / f"{lp}.txt"
            elif system == "refA":
                path = root / ESA / "txt" / "references" / f"{lp}.refA.txt"
            else:
                path = root / ESA / "txt" / "system-outputs" / lp / f"{system}.txt"
            if not path.exists() and system not in ("source", "refA"):
                return None
            texts[(lp, system)] = text_lines(path)
        return texts[(lp, system)]

    out = []
    for (lp, annotator, system, line), (score, _) in sorted(ratings.items()):
        src, ref, hyps = lines(lp, "source"), lines(lp, "refA"), lines(lp, system)
        if hyps is None:
            tally.add("wmt24-esa", lp, f"skipped: rated system without an output file ({system})")
            continue
        if line == 0:
            tally.add("wmt24-esa", lp, "skipped: ratings of the canary line")
            continue
        if not 0 < line < len(src) or len(hyps) != len(src) or len(ref) != len(src):
            raise InputError(f"{root / ESA}: {lp} {system} line {line} is outside the test set "
                             f"(or the files differ in length)")
        if not hyps[line].strip():
            tally.add("wmt24-esa", lp, "skipped: empty hyp")
            continue
        refs = () if system == "refA" else (ref[line],)
        out.append(Judgment("wmt24-esa", lp, f"wmt24-esa:{lp}:{line}", system, src[line], hyps[line], refs, None,
                            score, "esa", f"wmt24-esa:{lp}:{annotator}"))
    return out
