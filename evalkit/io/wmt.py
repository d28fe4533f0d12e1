"""Reader for the mt-metrics-eval layout (WMT system outputs, references, metric and human scores)."""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_lines

# The reference WMT23 used as "the" reference per language pair; it is never scored as a system.
STANDARD_REFS = {"zh-en": "refA", "en-de": "refA", "he-en": "refB"}


def _num(value: str) -> float | None:
    return None if value in ("None", "", "nan") else float(value)


@dataclass
class WMTLayout:
    """One year's folder of mt-metrics-eval (``.../wmt23``)."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not (self.root / "system-outputs").is_dir():
            raise InputError(f"{self.root}: not an mt-metrics-eval folder (no system-outputs/)")

    def language_pairs(self) -> list[str]:
        return sorted(p.name for p in (self.root / "system-outputs").iterdir() if p.is_dir())

    def standard_ref(self, lp: str) -> str:
        return STANDARD_REFS.get(lp, "refA")

    def source(self, lp: str) -> list[str]:
        return read_lines(self.root / "sources" / f"{lp}.txt")

    def reference(self, lp: str, name: str | None = None) -> list[str]:
        return read_lines(self.root / "references" / f"{lp}.{name or self.standard_ref(lp)}.txt")

    def system_names(self, lp: str, *, include_refs: bool = True, include_synthetic: bool = False) -> list[str]:
        """Systems of a pair; the standard reference is never among them."""
        std = self.standard_ref(lp)
        names = []
        for p in sorted((self.root / "system-outputs" / lp).glob("*.txt")):
            name = p.stem
            if name == std or (name == "synthetic_ref" and not include_synthetic):
                continue
            if not include_refs and name.startswith("ref"):
                continue
            names.append(name)
        return names

    def system_outputs(self, lp: str, **kw: bool) -> dict[str, list[str]]:
        return {n: self.system_output(lp, n) for n in self.system_names(lp, **kw)}

    def system_output(self, lp: str, name: str) -> list[str]:
        return read_lines(self.root / "system-outputs" / lp / f"{name}.txt", allow_empty=True)

    def documents(self, lp: str) -> list[tuple[str, str]]:
        """(domain, document id) per segment."""
        rows = read_lines(self.root / "documents" / f"{lp}.docs")
        return [tuple(r.split("\t", 1)) for r in rows]  # type: ignore[misc]

    def metric_names(self, lp: str, level: str = "sys") -> list[str]:
        return sorted(p.name[: -len(f".{level}.score")] for p in (self.root / "metric-scores" / lp).glob(f"*.{level}.score"))

    def metric_scores(self, lp: str, name: str, level: str = "sys") -> dict[str, float | list[float | None]]:
        """Official scores: ``{system: score}`` (sys) or ``{system: [segment scores]}`` (seg)."""
        return _read_scores(self.root / "metric-scores" / lp / f"{name}.{level}.score", level)

    def human_scores(self, lp: str, kind: str = "mqm", level: str = "sys") -> dict[str, float | list[float | None]]:
        return _read_scores(self.root / "human-scores" / f"{lp}.{kind}.{level}.score", level)

    def human_kinds(self, lp: str, level: str = "sys") -> list[str]:
        """Human score kinds (``mqm``, ``da-sqm``...) available for a pair at ``level``."""
        suffix = f".{level}.score"
        return sorted(p.name[len(lp) + 1: -len(suffix)] for p in (self.root / "human-scores").glob(f"{lp}.*{suffix}"))

    def metric_basenames(self, lp: str) -> list[str]:
        """Official metric names without their reference suffix (``BLEU-refA`` -> ``BLEU``)."""
        return sorted({metric_basename(n) for n in self.metric_names(lp)})

    def resolve_metric(self, lp: str, name: str) -> str:
        """The file name of an official metric: its standard-reference variant, else its source-only one.

        ``BLEU`` -> ``BLEU-refA`` (zh-en) or ``BLEU-refB`` (he-en); ``CometKiwi`` -> ``CometKiwi-src``.
        A full name (``COMET-refA``) is taken as it is. Matching is case-insensitive.
        """
        names = self.metric_names(lp)
        by_lower = {n.lower(): n for n in names}
        for candidate in (name, f"{name}-{self.standard_ref(lp)}", f"{name}-src"):
            if candidate.lower() in by_lower:
                return by_lower[candidate.lower()]
        bases = self.metric_basenames(lp)
        close = difflib.get_close_matches(name, bases, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"no official scores for metric {name!r} in {lp}{hint} (available: {', '.join(bases)})")


def metric_basename(name: str) -> str:
    """Strip the reference part of an mt-metrics-eval metric name (``-refA``, ``-refA.refB``, ``-src``, ``-all``)."""
    base, sep, suffix = name.rpartition("-")
    if sep and (suffix in ("src", "all") or suffix.startswith("ref")):
        return base
    return name


def _read_scores(path: Path, level: str) -> dict[str, float | list[float | None]]:
    if not path.exists():
        raise InputError(f"{path}: no such score file")
    out: dict[str, list[float | None]] = {}
    for line in read_lines(path):
        name, value = line.rsplit("\t", 1) if "\t" in line else line.rsplit(" ", 1)
        out.setdefault(name, []).append(_num(value))
    if level == "seg":
        return dict(out)  # type: ignore[return-value]
    return {k: (v[0] if v[0] is not None else math.nan) for k, v in out.items()}


@dataclass
class WMTRelease:
    """A WMT general-task release as WMT22 published it.

    ``txt/sources/<testset>.<lp>.src.<sl>``, ``txt/references/<testset>.<lp>.ref.<X>.<tl>`` and
    ``txt/system-outputs/<testset>.<lp>.hyp.<system>.<tl>``; organisers' automatic scores in
    ``scores/automatic-scores.tsv``. Reference ``A`` is the standard one; the others are human outputs.
    """

    root: Path
    standard_letter: str = "A"

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not (self.root / "txt" / "system-outputs").is_dir():
            raise InputError(f"{self.root}: not a WMT release folder (no txt/system-outputs/)")

    def _source_file(self, lp: str) -> Path:
        hits = sorted((self.root / "txt" / "sources").glob(f"*.{lp}.src.{lp.split('-')[0]}"))
        if not hits:
            raise InputError(f"{self.root}: no source file for {lp}")
        return hits[0]

    def _prefix(self, lp: str) -> str:
        return self._source_file(lp).name.split(f".{lp}.", 1)[0] + f".{lp}"

    def language_pairs(self) -> list[str]:
        pairs = set()
        for p in (self.root / "txt" / "sources").iterdir():
            parts = p.name.split(".")
            if len(parts) >= 4 and parts[-2] == "src":
                pairs.add(parts[-3])
        return sorted(pairs)

    def source(self, lp: str) -> list[str]:
        return read_lines(self._source_file(lp))

    def reference_letters(self, lp: str) -> list[str]:
        tl = lp.split("-")[1]
        pre = f"{self._prefix(lp)}.ref."
        return sorted(p.name[len(pre): -len(tl) - 1] for p in (self.root / "txt" / "references").glob(f"{pre}*.{tl}"))

    def reference(self, lp: str, letter: str | None = None) -> list[str]:
        tl = lp.split("-")[1]
        return read_lines(self.root / "txt" / "references" / f"{self._prefix(lp)}.ref.{letter or self.standard_letter}.{tl}")

    def system_names(self, lp: str) -> list[str]:
        tl = lp.split("-")[1]
        pre = f"{self._prefix(lp)}.hyp."
        return sorted(p.name[len(pre): -len(tl) - 1] for p in (self.root / "txt" / "system-outputs").glob(f"{pre}*.{tl}"))

    def system_output(self, lp: str, name: str) -> list[str]:
        tl = lp.split("-")[1]
        return read_lines(self.root / "txt" / "system-outputs" / f"{self._prefix(lp)}.hyp.{name}.{tl}", allow_empty=True)

    def automatic_scores(self, lp: str) -> dict[str, dict[str, float]]:
        """``{metric: {system: score}}`` for one pair from ``scores/automatic-scores.tsv``."""
        return read_automatic_scores(self.root / "scores" / "automatic-scores.tsv").get(lp, {})


def read_automatic_scores(path: str | Path) -> dict[str, dict[str, dict[str, float]]]:
    """WMT22's ``automatic-scores.tsv`` (``pair system id is_constrained metric score``) as ``{lp: {metric: {system: score}}}``."""
    rows = read_lines(path)
    header = rows[0].split("\t")
    try:
        ip, isys, imet, iscore = (header.index(k) for k in ("pair", "system", "metric", "score"))
    except ValueError:
        raise InputError(f"{path}: expected a header with pair, system, metric and score columns") from None
    out: dict[str, dict[str, dict[str, float]]] = {}
    for lineno, line in enumerate(rows[1:], 2):
        cells = line.split("\t")
        try:
            out.setdefault(cells[ip], {}).setdefault(cells[imet], {})[cells[isys]] = float(cells[iscore])
        except (IndexError, ValueError):
            raise InputError(f"{path}:{lineno}: cannot read {line!r}") from None
    return out
