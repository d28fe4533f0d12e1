"""Where meta-evaluation data comes from: one interface over the WMT layouts evalkit can read.

* mt-metrics-eval (``.../wmt23``): outputs, references, human scores (MQM, DA+SQM) and official metric
  scores at system and segment level.
* a WMT22 general-task release (``wmt22-general-zh-en``): outputs, references A/B, crowd DA per segment,
  the organisers' system-level BLEU/chrF/COMET. ``HUMAN-B`` is reference B judged as a system.
* a WMT24 general-task folder (``wmt24-general-en-es``): outputs in the mt-metrics-eval shape under
  ``txt/`` and the official human ranking (system level only). ``HUMAN-A`` is the reference.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.judgments import (
    RankedSystem,
    da_table,
    find_da_file,
    read_da_seg_scores,
    read_da_sys_scores,
    read_human_ranking,
)
from evalkit.io.wmt import WMTLayout, WMTRelease, metric_basename

SysScores = dict[str, float]
SegScores = dict[str, list[float | None]]


class Source(ABC):
    """A folder of WMT data, seen the same way whatever its layout."""

    root: Path
    layout: str

    @abstractmethod
    def language_pairs(self) -> list[str]: ...

    @abstractmethod
    def standard_ref(self, lp: str) -> str:
        """Name of the reference every metric uses; as a system it is never ranked."""

    @abstractmethod
    def human_kinds(self, lp: str) -> list[str]:
        """Human judgments available, the default first."""

    @abstractmethod
    def human(self, lp: str, kind: str) -> tuple[SysScores, SegScores | None]:
        """System scores and, where released, segment scores (None where a segment was not rated)."""

    @abstractmethod
    def output(self, lp: str, system: str) -> list[str]: ...

    @abstractmethod
    def reference(self, lp: str) -> list[str]: ...

    @abstractmethod
    def source(self, lp: str) -> list[str]: ...

    def segments(self, lp: str) -> list[int] | None:
        """Indices of the segments to score (None: all of them)."""
        return None

    def official_basenames(self, lp: str) -> list[str]:
        return []

    def official(self, lp: str, name: str) -> tuple[str, SysScores, SegScores | None]:
        """``(file name, system scores, segment scores or None)`` of an official metric."""
        raise InputError(f"{self.root}: this {self.layout} folder has no official metric scores")

    def official_basename(self, full: str) -> str:
        """The metric's name without its reference part (``BLEU-refA`` -> ``BLEU``)."""
        return metric_basename(full)

    def check_lp(self, lp: str) -> None:
        pairs = self.language_pairs()
        if lp not in pairs:
            raise InputError(f"{self.root}: no language pair {lp!r} (available: {', '.join(pairs)})")

    def resolve_human(self, lp: str, kind: str | None) -> str:
        kinds = self.human_kinds(lp)
        if not kinds:
            raise InputError(f"{self.root}: no human scores for {lp}")
        if kind is None:
            return kinds[0]
        if kind not in kinds:
            raise InputError(f"{self.root}: no {kind!r} human scores for {lp} (available: {', '.join(kinds)})")
        return kind


class MTMESource(Source):
    layout = "mt-metrics-eval"

    def __init__(self, root: str | Path) -> None:
        self.wmt = WMTLayout(Path(root))
        self.root = self.wmt.root

    def language_pairs(self) -> list[str]:
        return self.wmt.language_pairs()

    def standard_ref(self, lp: str) -> str:
        return self.wmt.standard_ref(lp)

    def human_kinds(self, lp: str) -> list[str]:
        kinds = self.wmt.human_kinds(lp) if (self.root / "human-scores").is_dir() else []
        return sorted(kinds, key=lambda k: (k != "mqm", k))

    def human(self, lp: str, kind: str) -> tuple[SysScores, SegScores | None]:
        sys_scores = self.wmt.human_scores(lp, kind, "sys")
        seg_path = self.root / "human-scores" / f"{lp}.{kind}.seg.score"
        seg = self.wmt.human_scores(lp, kind, "seg") if seg_path.exists() else None
        return sys_scores, seg  # type: ignore[return-value]

    def output(self, lp: str, system: str) -> list[str]:
        return self.wmt.system_output(lp, system)

    def reference(self, lp: str) -> list[str]:
        return self.wmt.reference(lp)

    def source(self, lp: str) -> list[str]:
        return self.wmt.source(lp)

    def official_basenames(self, lp: str) -> list[str]:
        return self.wmt.metric_basenames(lp) if (self.root / "metric-scores" / lp).is_dir() else []

    def official(self, lp: str, name: str) -> tuple[str, SysScores, SegScores | None]:
        if not (self.root / "metric-scores" / lp).is_dir():
            return super().official(lp, name)
        full = self.wmt.resolve_metric(lp, name)
        sys_scores = self.wmt.metric_scores(lp, full, "sys")
        seg_path = self.root / "metric-scores" / lp / f"{full}.seg.score"
        seg = self.wmt.metric_scores(lp, full, "seg") if seg_path.exists() else None
        return full, sys_scores, seg  # type: ignore[return-value]


def _human_ref_letter(system: str) -> str | None:
    return system[len("HUMAN-"):] if system.startswith("HUMAN-") else None


class WMT22Source(Source):
    """WMT22 release: crowd DA (``da``: z-scores, as WMT22 ranked systems; ``da-raw``: 0-100 scores)."""

    layout = "WMT22 release"

    def __init__(self, root: str | Path) -> None:
        self.rel = WMTRelease(Path(root))
        self.root = self.rel.root

    def language_pairs(self) -> list[str]:
        return self.rel.language_pairs()

    def standard_ref(self, lp: str) -> str:
        return f"HUMAN-{self.rel.standard_letter}"

    def human_kinds(self, lp: str) -> list[str]:
        return ["da", "da-raw"] if list(self.root.glob(f"humaneval/DA/*/ad-seg-scores-{lp}.csv")) else []

    def human(self, lp: str, kind: str) -> tuple[SysScores, SegScores | None]:
        field = "raw" if kind == "da-raw" else "z"
        seg = da_table(read_da_seg_scores(find_da_file(self.root, lp, "seg")), len(self.source(lp)), field)
        sys_rows = read_da_sys_scores(find_da_file(self.root, lp, "sys"))
        sys_scores = {name: (raw if field == "raw" else z) for name, (raw, z, _n) in sys_rows.items()}
        return sys_scores, seg

    def output(self, lp: str, system: str) -> list[str]:
        letter = _human_ref_letter(system)
        return self.rel.reference(lp, letter) if letter else self.rel.system_output(lp, system)

    def reference(self, lp: str) -> list[str]:
        return self.rel.reference(lp)

    def source(self, lp: str) -> list[str]:
        return self.rel.source(lp)

    def _official_names(self, lp: str) -> dict[str, str]:
        path = self.root / "scores" / "automatic-scores.tsv"
        if not path.exists():
            return {}
        suffix = f"-{self.rel.standard_letter}"
        return {n[: -len(suffix)]: n for n in self.rel.automatic_scores(lp) if n.endswith(suffix)}

    def official_basenames(self, lp: str) -> list[str]:
        return sorted(self._official_names(lp))

    def official(self, lp: str, name: str) -> tuple[str, SysScores, SegScores | None]:
        names = self._official_names(lp)
        by_lower = {k.lower(): v for k, v in names.items()} | {v.lower(): v for v in names.values()}
        full = by_lower.get(name.lower())
        if full is None:
            raise InputError(f"no official scores for metric {name!r} in {lp} "
                             f"(available: {', '.join(sorted(names)) or 'none'})")
        return full, self.rel.automatic_scores(lp)[full], None

    def official_basename(self, full: str) -> str:
        suffix = f"-{self.rel.standard_letter}"
        return full[: -len(suffix)] if full.endswith(suffix) else full


class WMT24Source(Source):
    """WMT24 folder: the official system ranking (``ranking``: its Human column) against ``txt/`` outputs."""

    layout = "WMT24 folder"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.wmt = WMTLayout(self.root / "txt")
        self.ranking_path = self.root / "humeval" / "generated_human_ranking.tex"
        if not self.ranking_path.exists():
            raise InputError(f"{self.root}: no humeval/generated_human_ranking.tex")
        self._ranking = read_human_ranking(self.ranking_path)

    def language_pairs(self) -> list[str]:
        return [lp for lp in self.wmt.language_pairs() if lp in self._ranking]

    def standard_ref(self, lp: str) -> str:
        return "HUMAN-A"

    def human_kinds(self, lp: str) -> list[str]:
        return ["ranking"] if lp in self._ranking else []

    def human(self, lp: str, kind: str) -> tuple[SysScores, SegScores | None]:
        rows = self._ranking[lp]
        return {r.name: (r.human if r.human is not None else math.nan) for r in rows}, None

    def ranking(self, lp: str) -> list[RankedSystem]:
        return self._ranking[lp]

    def output(self, lp: str, system: str) -> list[str]:
        letter = _human_ref_letter(system)
        if letter:
            return self.wmt.reference(lp, f"ref{letter}")
        return self.wmt.system_output(lp, system)

    def reference(self, lp: str) -> list[str]:
        return self.wmt.reference(lp, "refA")

    def source(self, lp: str) -> list[str]:
        return self.wmt.source(lp)

    def segments(self, lp: str) -> list[int] | None:
        """All but the canary line WMT24 planted at the top of each test set."""
        docs = self.wmt.root / "documents" / f"{lp}.docs"
        if not docs.exists():
            return None
        keep = [i for i, (_dom, doc) in enumerate(self.wmt.documents(lp)) if doc != "canary"]
        return keep if len(keep) < len(self.source(lp)) else None


def open_source(path: str | Path) -> Source:
    """Recognise the layout of a data folder."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{p}: no such data folder")
    if (p / "system-outputs").is_dir():
        return MTMESource(p)
    if (p / "txt" / "system-outputs").is_dir() and (p / "humaneval" / "DA").is_dir():
        return WMT22Source(p)
    if (p / "txt" / "system-outputs").is_dir() and (p / "humeval").is_dir():
        return WMT24Source(p)
    nested = sorted(p.glob("mt-metrics-eval-v2/wmt*/system-outputs"))
    if len(nested) == 1:
        return MTMESource(nested[0].parent)
    raise InputError(
        f"{p}: not a WMT data folder evalkit knows (an mt-metrics-eval year folder with system-outputs/, "
        "a WMT22 release with txt/ and humaneval/DA/, or a WMT24 folder with txt/ and humeval/)"
    )
