"""TER alignment between MT and reference tokens."""
from __future__ import annotations

from sacrebleu.metrics.lib_ter import translation_edit_rate


def ter_edits(hyp_words: list[str], ref_words: list[str]) -> int:
    """Number of TER edits (insertions, deletions, substitutions, shifts) turning hyp into ref."""
    edits, _ = translation_edit_rate(hyp_words, ref_words)
    return int(edits)
