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
    shifts: list[tuple[int, ...]] = field(default_factory=list)  # per shift, in order: the MT indices moved
    hyp_keys: list[str] = field(default_factory=list)  # what TER compared (lowercased/normalised tokens)
    ref_keys: list[str] = field(default_factory=list)

    @property
    def edits(self) -> int:
        """TER edits: substitutions + insertions + deletions + shifts."""
        return self.num_shifts + sum(1 for p in self.pairs if p.op != "match")

    @property
    def trace(self) -> str:
        """The edit trace as one character per pair: ' ' match, 's' sub, 'i' ins, 'd' del."""
        return "".join(_TRACE[p.op] for p in self.pairs)


_TRACE = {"match": " ", "sub": "s", "ins": "i", "del": "d"}
