"""Reader for the mt-metrics-eval layout (WMT system outputs, references, metric and human scores)."""
from __future__ import annotations

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
        return {n: read_lines(self.root / "system-outputs" / lp / f"{n}.txt", allow_empty=True)
                for n in self.system_names(lp, **kw)}

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
