"""TER alignment (tercom's edit distance with shifts) between MT and reference tokens.

Edit counts are sacrebleu's exactly: same beam-limited distance, same shift candidates, ordering,
ties and limits (see ``_ter_py``). sacrebleu ports tercom's shift search; its distance beam follows
the diagonal where tercom's prunes by cost, which differs only when the two sides have very unequal
lengths (see ``tags``). The work runs in the C extension
``evalkit.spans._ter_c`` when it was built at install time, else in the pure-Python ``_ter_py``;
``BACKEND`` says which. ``EVALKIT_TER_BACKEND=python`` forces the fallback.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from evalkit.errors import InputError
from evalkit.spans import _ter_py
from evalkit.spans.tokenize import ter_tokens
from evalkit.spans.types import AlignedPair, Alignment, Token

Core = Callable[[list[int], list[int], bool], tuple[int, int, str, list[int], list[tuple[int, int, int]]]]

BACKENDS: dict[str, Core] = {"python": _ter_py.ter}
try:
    from evalkit.spans import _ter_c  # type: ignore[attr-defined]

    BACKENDS["c"] = _ter_c.ter
except ImportError:  # not built (e.g. no compiler at install time): same results, slower
    pass

BACKEND = os.environ.get("EVALKIT_TER_BACKEND") or ("c" if "c" in BACKENDS else "python")
if BACKEND not in BACKENDS:
    BACKEND = "python"
_core: Core = BACKENDS[BACKEND]

_OPS = {" ": "match", "s": "sub", "i": "ins", "d": "del"}


def _encode(hyp_words: Sequence[str], ref_words: Sequence[str]) -> tuple[list[int], list[int]]:
    vocab: dict[str, int] = {}
    ref = [vocab.setdefault(w, len(vocab)) for w in ref_words]
    hyp = [vocab.setdefault(w, len(vocab)) for w in hyp_words]
    return hyp, ref


def ter_edits(hyp_words: Sequence[str], ref_words: Sequence[str]) -> int:
    """Number of TER edits (insertions, deletions, substitutions, shifts) turning hyp into ref."""
    hyp, ref = _encode(hyp_words, ref_words)
    num_shifts, distance, _, _, _ = _core(hyp, ref, True)
    return num_shifts + distance


def align_words(
    hyp_words: Sequence[str], ref_words: Sequence[str], *, shifts: bool = True
) -> tuple[list[AlignedPair], list[tuple[int, ...]]]:
    """TER alignment of token keys: pairs in reference order, and the original hyp indices each shift moved.

    ``shifts=False`` is tercom's ``-d 0`` (edit distance only), as used for the WMT/MLQE-PE QE tags.
    """
    hyp, ref = _encode(hyp_words, ref_words)
    _, _, trace, perm, applied = _core(hyp, ref, shifts)
    moved: list[tuple[int, ...]] = []
    order = list(range(len(hyp)))
    for start, length, target in applied:
        moved.append(tuple(order[start:start + length]))
        order = _ter_py.perform_shift(order, start, length, target)
    pairs: list[AlignedPair] = []
    ph = pr = -1
    for t in trace:
        h = r = None
        if t != "d":
            ph += 1
            h = perm[ph]
        if t != "i":
            pr += 1
            r = pr
        pairs.append(AlignedPair(h, r, _OPS[t]))
    return pairs, moved


def align(
    hyp: str,
    ref: str,
    *,
    case_sensitive: bool = False,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
    shifts: bool = True,
    tokenizer: Callable[[str], list[Token]] | None = None,
) -> Alignment:
    """Align an MT segment with a reference (or post-edit) as TER does.

    Tokens are tercom's (sacrebleu ``TER`` with the same options) with offsets into the original
    strings; ``alignment.edits`` equals sacrebleu's edit count for the pair (with ``shifts=True``).
    ``tokenizer`` (e.g. ``tokenize.punct_tokens``) replaces tercom's tokens for span finding; keys are
    then the token texts, lowercased unless ``case_sensitive``.
    """
    if tokenizer is None:
        opts = dict(case_sensitive=case_sensitive, normalized=normalized, no_punct=no_punct,
                    asian_support=asian_support)
        hyp_tokens, hyp_keys = ter_tokens(hyp, **opts)
        ref_tokens, ref_keys = ter_tokens(ref, **opts)
    else:
        if normalized or no_punct or asian_support:
            raise InputError("align: tercom normalisation options do not apply to a custom tokenizer")
        hyp_tokens, ref_tokens = tokenizer(hyp), tokenizer(ref)
        hyp_keys = [t.text if case_sensitive else t.text.lower() for t in hyp_tokens]
        ref_keys = [t.text if case_sensitive else t.text.lower() for t in ref_tokens]
    pairs, moved = align_words(hyp_keys, ref_keys, shifts=shifts)
    return Alignment(
        hyp_tokens=hyp_tokens,
        ref_tokens=ref_tokens,
        pairs=pairs,
        shifted={i for block in moved for i in block},
        num_shifts=len(moved),
        shifts=moved,
        hyp_keys=hyp_keys,
        ref_keys=ref_keys,
    )
