"""Multiple-comparison correction for a family of paired tests.

Comparing N systems runs up to N(N-1)/2 tests per metric; without a correction, one in twenty pairs of
equal systems would look "significant" at 0.05. Holm's step-down method controls the family-wise error
rate like Bonferroni but rejects at least as much, and needs no independence assumption.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values, in the input order.

    With the raw p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value of the ``j``-th
    is ``max_{i <= j} min(1, (m - i + 1) p_(i))``: the running maximum keeps the adjustment monotone,
    so a hypothesis is rejected at level alpha exactly when Holm's sequential procedure rejects it.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("holm: expected a 1-d array of p-values")
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
