"""Significance clusters: systems ranked into groups that are not significantly different.

The rule is the one WMT uses for its rankings: sort systems by score, best first, and draw a line
between rank ``i`` and rank ``i + 1`` exactly when *every* system above the line is significantly better
than *every* system below it. Two properties follow, and the tests check both against the pairwise
p-values:

* consistency: a system in a higher cluster is significantly better than each system in a lower one;
* maximality: wherever no line is drawn, some pair across that position is not significantly different,
  so no cluster can be split further without breaking consistency.

Members of one cluster need not all be pairwise tied (A > C can hold inside {A, B, C} when B ties with
both): a cluster is a run of systems that cannot be separated, not a clique.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cut_points(better: np.ndarray) -> list[int]:
    """Positions ``i`` (0-based) after which a line is drawn; ``better[i, j]`` is for systems in rank order."""
    better = np.asarray(better, dtype=bool)
    s = better.shape[0]
    return [i for i in range(s - 1) if bool(better[: i + 1, i + 1:].all())]


def clusters(ranked: Sequence[str], better: np.ndarray) -> list[list[str]]:
    """Group ``ranked`` (best first) by :func:`cut_points`.

    ``better[i, j]`` is True when ``ranked[i]`` is significantly better than ``ranked[j]``.
    """
    if len(ranked) == 0:
        return []
    groups: list[list[str]] = []
    start = 0
    for cut in cut_points(better):
        groups.append(list(ranked[start:cut + 1]))
        start = cut + 1
    groups.append(list(ranked[start:]))
    return groups
