"""Human MQM error spans in three public formats, read into one shape, and character-level agreement.

* WMT23 (mt-metrics-eval ``human-scores/<lp>.mqm*.seg.rating``): one line per system x segment, a block
  of N lines per system; ``None`` or ``{"errors": [{start, end, severity, is_source_error, ...}]}`` with
  Python character offsets (end exclusive) into that system's output line. zh-en has one file per rater
  (the union of raters is taken), en-de one merged file.
* Google MQM for the WMT21 TED talks: one TSV row per error, the span inline in ``target`` as
  ``<v>…</v>``; the human reference is rated as system ``ref`` (it becomes the reference here).
* BioMQM: JSON records with ``target_errors`` carrying ``term``, ``startIndex``, ``endIndex``; the end is
  usually inclusive but not always, and some offsets are off: each error is located by checking the
  offsets against ``term`` (inclusive, then exclusive, then the term's only occurrence); a segment with an
  error that cannot be located is skipped and counted. The human reference is ``reference.json``.

Neutral ratings are ignored. ``has_error`` also counts errors marked on the source side (omissions).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.mqm_ted import strip_marks, ted_error_rows
from evalkit.io.text import read_lines, read_text
from evalkit.io.wmt import WMTLayout

SEVERITIES = ("minor", "major", "critical")
_NOT_MT_ERRORS = ("source issue", "source error", "no-error")


@dataclass(frozen=True)
class MQMError:
    start: int
    end: int
    severity: str
    category: str


@dataclass
class MQMItem:
    """One rated MT segment: its text, its references and the human error spans in it."""

    system: str
    seg: str
    src: str
    mt: str
    refs: list[str]
    errors: list[MQMError] = field(default_factory=list)
    has_error: bool = False


@dataclass
class MQMSet:
    name: str
    items: list[MQMItem]
    skipped: int = 0


def _severity(value: str) -> str | None:
    s = value.strip().lower()
    return s if s in SEVERITIES else None


def _mt_error(category: str) -> bool:
    return category.strip().lower() not in _NOT_MT_ERRORS


def read_wmt23(root: str | Path, lp: str) -> MQMSet:
    """Rated segments of WMT23 ``lp`` (zh-en: union of ``raterN`` files; en-de: ``merged``).

    The standard reference is the reference and is not among the systems.
    """
    layout = WMTLayout(Path(root))
    human = layout.root / "human-scores"
    files = sorted(human.glob(f"{lp}.mqm.rater*.seg.rating")) or sorted(human.glob(f"{lp}.mqm.merged.seg.rating"))
    if not files:
        raise InputError(f"{human}: no {lp}.mqm*.seg.rating files")
    src, ref = layout.source(lp), layout.reference(lp)
    n = len(src)
    std = layout.standard_ref(lp)
    merged: dict[tuple[str, int], list[MQMError] | None] = {}
    flagged: set[tuple[str, int]] = set()
    for path in files:
        lines = read_lines(path)
        if len(lines) % n:
            raise InputError(f"{path}: {len(lines)} lines is not a multiple of {n} segments")
        for k, line in enumerate(lines):
            system, _, value = line.partition("\t")
            key = (system, k % n)
            if value == "None":
                continue
            try:
                errors = json.loads(value)["errors"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{path}:{k + 1}: malformed rating") from None
            found = merged.setdefault(key, [])
            for e in errors:
                sev = _severity(str(e.get("severity", "")))
                if sev is None or not _mt_error(str(e.get("category", ""))):
                    continue
                flagged.add(key)
                if not e.get("is_source_error"):
                    found.append(MQMError(int(e["start"]), int(e["end"]), sev, str(e.get("category", ""))))
    outputs: dict[str, list[str]] = {}
    items = []
    for (system, i), errors in sorted(merged.items()):
        if system == std:
            continue
        if system not in outputs:
            outputs[system] = read_lines(layout.root / "system-outputs" / lp / f"{system}.txt", allow_empty=True)
        mt = outputs[system][i]
        for e in errors or []:
            if not 0 <= e.start <= e.end <= len(mt):
                raise InputError(f"{lp} {system} segment {i + 1}: span {e.start}:{e.end} outside the MT")
        items.append(MQMItem(system, str(i + 1), src[i], mt, [ref[i]], list(errors or []), (system, i) in flagged))
    return MQMSet(f"wmt23 {lp}", items)


def parse_inline(marked: str) -> tuple[str, tuple[int, int] | None]:
    """``"a <v>b</v> c"`` -> ("a b c", (2, 3)): the text without marks and the marked span, if any."""
    a = marked.find("<v>")
    b = marked.find("</v>")
    text = strip_marks(marked)
    if a < 0 or b < a:
        return text, None
    return text, (a, b - len("<v>"))


def read_ted(root: str | Path, pair: str) -> MQMSet:
    """Google MQM for the WMT21 TED talks (``pair``: ``ende`` or ``zhen``); reference: system ``ref``."""
    path, rows = ted_error_rows(root, pair)
    items: dict[tuple[str, str], MQMItem] = {}
    refs: dict[str, str] = {}
    for lineno, row in enumerate(rows, 2):
        try:
            system, seg, source, target = row["system"], row["seg_id"], row["source"], row["target"]
            sev, category = _severity(row["severity"]), row["category"]
        except (KeyError, AttributeError):
            raise InputError(f"{path}:{lineno}: malformed row") from None
        mt, span = parse_inline(target)
        if system == "ref":
            refs[seg] = mt
        src, _ = parse_inline(source)
        item = items.setdefault((system, seg), MQMItem(system, seg, src, mt, []))
        if item.mt != mt:
            raise InputError(f"{path}:{lineno}: two different targets for {system} segment {seg}")
        if sev is None or not _mt_error(category):
            continue
        item.has_error = True
        if span is not None:
            item.errors.append(MQMError(span[0], span[1], sev, category))
    out = []
    for (system, seg), item in items.items():
        if system.startswith("ref") or seg not in refs:
            continue
        item.refs = [refs[seg]]
        out.append(item)
    return MQMSet(f"ted {pair}", out)


def locate(target: str, term: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """Character span of a BioMQM error: offsets checked against ``term`` (see the module doc)."""
    if start is not None and end is not None and 0 <= start <= end <= len(target):
        if end < len(target) and target[start:end + 1] == term:
            return start, end + 1
        if target[start:end] == term:
            return start, end
    if term and target.count(term) == 1:
        i = target.index(term)
        return i, i + len(term)
    return None


def _bio_records(path: Path) -> list[dict]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of records")
    return data


def read_biomqm(folder: str | Path) -> MQMSet:
    """BioMQM for one direction (``.../en2es``): every system file against ``reference.json``."""
    folder = Path(folder)
    ref_path = folder / "reference.json"
    if not ref_path.exists():
        raise InputError(f"{folder}: no reference.json (expected a BioMQM language-pair folder)")
    refs = {(r["filename"], str(r["SEG_ID"])): r["target"] for r in _bio_records(ref_path)}
    items: dict[tuple[str, str, str], MQMItem] = {}
    bad: set[tuple[str, str, str]] = set()
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("reference"):
            continue
        for r in _bio_records(path):
            doc, seg, target = r["filename"], str(r["SEG_ID"]), r["target"]
            if (doc, seg) not in refs:
                continue
            key = (path.stem, doc, seg)
            item = items.setdefault(key, MQMItem(path.stem, f"{doc}:{seg}", r["source"], target, [refs[(doc, seg)]]))
            if item.mt != target:
                bad.add(key)
                continue
            for side in ("source_errors", "target_errors"):
                for e in r.get(side) or []:
                    sev = _severity(str(e.get("severity", "")))
                    if sev is None:
                        continue
                    item.has_error = True
                    if side == "source_errors":
                        continue
                    span = locate(target, e.get("term") or "", e.get("startIndex"), e.get("endIndex"))
                    if span is None:
                        bad.add(key)
                        continue
                    cat = f"{e.get('error_category', '')}/{e.get('error_subcategory', '')}"
                    item.errors.append(MQMError(span[0], span[1], sev, cat))
    kept = [item for key, item in items.items() if key not in bad]
    return MQMSet(f"biomqm {folder.name}", kept, skipped=len(bad))


def char_set(text: str, spans: Iterable[tuple[int, int]]) -> set[int]:
    """Indices of the non-whitespace characters of ``text`` covered by any span."""
    return {i for a, b in spans for i in range(max(a, 0), min(b, len(text))) if not text[i].isspace()}


@dataclass
class PRF:
    """Micro counts: true positives, predicted, gold."""

    tp: float = 0
    pred: int = 0
    gold: int = 0

    def add(self, pred: set[int], gold: set[int]) -> None:
        self.tp += len(pred & gold)
        self.pred += len(pred)
        self.gold += len(gold)

    @property
    def precision(self) -> float:
        return self.tp / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def char_agreement(items: Sequence[MQMItem], predicted: Sequence[Sequence[tuple[int, int]]],
                   severities: Sequence[str] = SEVERITIES) -> PRF:
    """Micro character-level P/R/F1 of predicted spans against the human spans of ``severities``."""
    prf = PRF()
    for item, spans in zip(items, predicted, strict=True):
        gold = char_set(item.mt, ((e.start, e.end) for e in item.errors if e.severity in severities))
        prf.add(char_set(item.mt, spans), gold)
    return prf


def _severity_marks(length: int, spans: Iterable[tuple[int, int, str]]) -> list[int]:
    """Per character (``length + 1`` slots, so a zero-width span at the end has one): bit 1 minor, bit 2 major.

    A zero-width span (an omission) marks the character at its anchor, as the WMT23 QE scorer does;
    critical counts as major (the task had two levels); a span without severity counts as minor.
    """
    marks = [0] * (length + 1)
    for a, b, sev in spans:
        bit = 2 if sev in ("major", "critical") else 1
        a, b = max(a, 0), min(b, length)
        for i in range(a, b) if b > a else ([a] if a <= length else []):
            marks[i] |= bit
    return marks


def qe_char_agreement(items: Sequence[MQMItem], predicted: Sequence[Sequence[tuple[int, int, str]]]) -> PRF:
    """The WMT23 QE shared task's error-span score (task 2), micro over every item, error-free ones included.

    Every character counts (whitespace too). A gold error character predicted as an error counts 1 when
    a predicted severity matches a gold one (or the gold has both), 0.5 when only the other severity was
    predicted; precision divides by the predicted characters, recall by the gold ones.
    """
    prf = PRF()
    for item, spans in zip(items, predicted, strict=True):
        n = len(item.mt)
        gold = _severity_marks(n, ((e.start, e.end, e.severity) for e in item.errors))
        pred = _severity_marks(n, spans)
        for g, p in zip(gold, pred):
            prf.pred += p != 0
            prf.gold += g != 0
            if g and p:
                prf.tp += 1.0 if g & p else 0.5
    return prf
