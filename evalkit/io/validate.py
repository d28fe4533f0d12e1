"""Shape checks shared by the API, the readers and the CLI."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.errors import InputError


def check_hypotheses(hyps: Any, name: str = "hypotheses") -> list[str]:
    if isinstance(hyps, str):
        raise InputError(f"{name}: expected a list of segments, got a single string")
    if not isinstance(hyps, Sequence):
        raise InputError(f"{name}: expected a list of strings, got {type(hyps).__name__}")
    for i, h in enumerate(hyps):
        if not isinstance(h, str):
            raise InputError(f"{name}: segment {i + 1} is {type(h).__name__}, expected str")
    return list(hyps)


def check_references(refs: Any, n: int | None = None) -> list[list[str]]:
    """References are a list of reference *streams*, each a list of segments.

    A bare list of strings is the classic sacrebleu mistake (#220, #256, #259): it would be read as
    one reference per character-less stream and silently mis-score, so it is rejected.
    """
    if isinstance(refs, str):
        raise InputError("references: expected a list of reference streams (list of lists of str), got a string")
    if not isinstance(refs, Sequence) or len(refs) == 0:
        raise InputError("references: expected a non-empty list of reference streams (list of lists of str)")
    if all(isinstance(r, str) for r in refs):
        raise InputError(
            "references: got a list of strings where a list of reference streams was expected; "
            "wrap it: refs=[your_reference_lines]"
        )
    streams: list[list[str]] = []
    for k, stream in enumerate(refs):
        if isinstance(stream, str) or not isinstance(stream, Sequence):
            raise InputError(f"references: stream {k + 1} is {type(stream).__name__}, expected a list of str")
        for i, r in enumerate(stream):
            if r is not None and not isinstance(r, str):
                raise InputError(f"references: stream {k + 1} segment {i + 1} is {type(r).__name__}, expected str")
        streams.append(list(stream))
    lengths = {len(s) for s in streams}
    if len(lengths) > 1:
        raise InputError(f"references: streams have different lengths {sorted(lengths)}")
    if n is not None and streams and len(streams[0]) != n:
        raise InputError(f"references have {len(streams[0])} segments but hypotheses have {n}")
    for i, refs in enumerate(zip(*streams)):
        if all(r is None for r in refs):
            raise InputError(f"references: segment {i + 1} has no reference in any stream")
    return streams


def check_same_length(named: dict[str, Sequence[str]]) -> int:
    """All named inputs must have the same number of segments; the error names each file and count."""
    counts = {name: len(v) for name, v in named.items()}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{name}: {c} lines" for name, c in counts.items())
        raise InputError(f"line counts differ ({detail}); every input needs one segment per line, aligned")
    return next(iter(counts.values())) if counts else 0


def join_streams(parts: Sequence[tuple[Sequence[Sequence[Any]], int]]) -> list[list[Any]]:
    """Reference streams of consecutive pieces (``(streams, segments)`` each) joined, padded with None where a
    piece has fewer streams than the piece that has most, as one reader would have padded them."""
    k = max(len(streams) for streams, _ in parts)
    return [[x for streams, n in parts for x in (streams[j] if j < len(streams) else [None] * n)] for j in range(k)]
