"""Meta-evaluation: how well metrics agree with human judgments on WMT data (``evalkit metaeval``)."""
from __future__ import annotations

from evalkit.metaeval.evaluate import Metaeval
from evalkit.metaeval.pipeline import run_metaeval

__all__ = ["Metaeval", "run_metaeval"]
