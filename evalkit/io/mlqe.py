"""Reader for the MLQE-PE post-editing data (``data/post-editing/<split>/<lp>-<split>/<split>.{src,mt,pe,hter}``).

Texts are tokenised as released (spaces around punctuation); HTER is the TER of the MT against its own
post-edit, so 0 means the post-editor changed nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_lines

SPLITS = ("train", "dev")


@dataclass(frozen=True)
class PostEdits:
    """One language pair and split: aligned sources, MT, post-edits and sentence HTER."""

    lp: str
    split: str
    src: list[str]
    mt: list[str]
    pe: list[str]
    hter: list[float]

    def __len__(self) -> int:
        return len(self.mt)


def mlqe_pairs(root: str | Path, split: str = "train") -> list[str]:
    """Language pairs present for a split (``ro-en``, ``en-de``...)."""
    base = Path(root) / "data" / "post-editing" / split
    if not base.is_dir():
        raise InputError(f"{root}: not an MLQE-PE folder (no data/post-editing/{split}/)")
    return sorted(p.name[: -len(split) - 1] for p in base.iterdir() if p.is_dir() and p.name.endswith(f"-{split}"))


def read_post_edits(root: str | Path, lp: str, split: str = "train") -> PostEdits:
    if split not in SPLITS:
        raise InputError(f"MLQE-PE split must be one of {', '.join(SPLITS)}, got {split!r}")
    folder = Path(root) / "data" / "post-editing" / split / f"{lp}-{split}"
    if not folder.is_dir():
        raise InputError(f"{folder}: no MLQE-PE data for {lp} ({split}); available: {', '.join(mlqe_pairs(root, split))}")
    cols = {k: read_lines(folder / f"{split}.{k}") for k in ("src", "mt", "pe", "hter")}
    n = len(cols["mt"])
    for k, v in cols.items():
        if len(v) != n:
            raise InputError(f"{folder}/{split}.{k} has {len(v)} lines but {split}.mt has {n}")
    try:
        hter = [float(x) for x in cols["hter"]]
    except ValueError as exc:
        raise InputError(f"{folder}/{split}.hter: not a number: {exc}") from None
    return PostEdits(lp, split, cols["src"], cols["mt"], cols["pe"], hter)
