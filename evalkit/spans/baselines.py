"""Baselines that evalkit's spans are measured against (``bench/bench_spans.py`` and the tests)."""
from __future__ import annotations

import difflib
import re

_WORD = re.compile(r"\S+")


def naive_diff(mt: str, ref: str) -> list[tuple[int, int]]:
    """difflib's opcodes of MT words against reference words: each replace/delete run of MT words is a span."""
    words = [m.span() for m in _WORD.finditer(mt)]
    ops = difflib.SequenceMatcher(None, mt.split(), ref.split(), autojunk=False).get_opcodes()
    return [(words[i1][0], words[i2 - 1][1]) for tag, i1, i2, _, _ in ops if tag in ("replace", "delete")]
