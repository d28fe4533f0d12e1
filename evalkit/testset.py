"""The one in-memory shape every reader produces and every command consumes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evalkit.errors import InputError
from evalkit.io.validate import check_hypotheses, check_references, join_streams


@dataclass
class TestSet:
    """Aligned segments: references (k streams of n, or none for quality estimation), optional sources,
    and n hypotheses per system."""

    refs: list[list[str]]
    systems: dict[str, list[str]]
    srcs: list[str] | None = None
    ids: list[str] = field(default_factory=list)
    docs: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    __test__ = False  # not a pytest class

    def __post_init__(self) -> None:
        if not self.systems:
            raise InputError("no system outputs given (use -t/--hyp)")
        names = list(self.systems)
        first = check_hypotheses(self.systems[names[0]], names[0])
        n = len(first)
        for name in names:
            hyps = check_hypotheses(self.systems[name], name)
            if len(hyps) != n:
                raise InputError(f"system {name!r} has {len(hyps)} segments but {names[0]!r} has {n}")
            self.systems[name] = hyps
        self.refs = check_references(self.refs, n) if self.refs else []
        if not self.refs and self.srcs is None:
            raise InputError("no references and no source given: use -r/--ref, or -s/--src with a reference-free "
                             "(quality estimation) metric")
        if self.srcs is not None and len(self.srcs) != n:
            raise InputError(f"source has {len(self.srcs)} segments but hypotheses have {n}")
        if not self.ids:
            self.ids = [str(i + 1) for i in range(n)]
        if n == 0:
            raise InputError("the test set has no segments")

    @classmethod
    def concat(cls, parts: Sequence[TestSet]) -> TestSet:
        """Consecutive pieces of one test set (the partitions of a Dask run) as the one test set they came from."""
        first = parts[0]
        return cls(
            refs=join_streams([(p.refs, len(p)) for p in parts]),
            systems={name: [h for p in parts for h in p.systems[name]] for name in first.systems},
            srcs=None if first.srcs is None else [s for p in parts for s in (p.srcs or [])],
            ids=[i for p in parts for i in p.ids],
            notes=list(dict.fromkeys(n for p in parts for n in p.notes)),
        )

    def __len__(self) -> int:
        return len(next(iter(self.systems.values())))

    @property
    def has_references(self) -> bool:
        return bool(self.refs)

    def segment_refs(self, i: int) -> list[str]:
        return [stream[i] for stream in self.refs if stream[i] is not None]
