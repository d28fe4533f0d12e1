"""Data passed between the span steps: align -> merge -> classify."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Token:
    """A token and its character offsets in the original, untokenised text (``text[start:end]``)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class AlignedPair:
    """One column of the TER alignment, in reference order after shifts.

    ``op``: ``match`` / ``sub`` (both indices), ``ins`` (an MT token with no reference counterpart,
    ``ref`` is None), ``del`` (a reference token missing from the MT, ``hyp`` is None).
    ``hyp`` indexes the MT tokens in their *original* order.
    """

    hyp: int | None
    ref: int | None
    op: str


@dataclass
class Alignment:
    """TER alignment of one MT segment with one reference."""

    hyp_tokens: list[Token]
    ref_tokens: list[Token]
    pairs: list[AlignedPair]
    shifted: set[int] = field(default_factory=set)  # original MT token indices moved by a shift
    num_shifts: int = 0

    @property
    def edits(self) -> int:
        """TER edits: substitutions + insertions + deletions + shifts."""
        return self.num_shifts + sum(1 for p in self.pairs if p.op != "match")
