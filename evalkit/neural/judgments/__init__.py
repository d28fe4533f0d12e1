"""Every human-judgment set in ``../shared/data`` that may be trained on, read into one shape.

WMT23 is the test set and is never read. Each set's reader, caveats and choices are documented in its
module: ``wmt`` (``wmt22-da``, ``wmt24-esa``), ``mqm`` (``ted-mqm``, ``news-mqm``, ``biomqm``) and ``qe``
(``mlqe-da``, ``mlqe-hter``, ``qe22-da``, ``qe22-mqm``). ``alignment_check`` (in ``checks``) tells an
aligned set from a misaligned one.

Labels are as released, oriented so that higher is better; nothing is standardised here: ``group``
names the unit to standardise within (``dataset:lp``, finer where a set mixes campaigns or annotators).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from evalkit.errors import InputError
from evalkit.neural.judgments.checks import alignment_check
from evalkit.neural.judgments.core import Judgment, Tally
from evalkit.neural.judgments.mqm import read_biomqm_dev, read_news_set, read_ted_set
from evalkit.neural.judgments.qe import read_mlqe, read_qe22
from evalkit.neural.judgments.wmt import read_esa_set, read_wmt22_da_set

__all__ = ["FOLDERS", "SETS", "Judgment", "alignment_check", "load_judgments"]

SETS: tuple[str, ...] = ("wmt22-da", "ted-mqm", "news-mqm", "wmt24-esa", "mlqe-da", "mlqe-hter", "biomqm",
                         "qe22-da", "qe22-mqm")
# The folders of the data root the readers open (WMT23, the test set, is not among them).
FOLDERS = ("wmt22-da-toen", "wmt22-general-zh-en", "google-mqm-ted", "wmt-qe-2022", "wmt24-esa", "mlqe-pe", "bio-mqm")

Reader = Callable[[Path, Sequence[str] | None, Tally, Callable[[str], list[Judgment]]], list[Judgment]]

_READERS: dict[str, Reader] = {
    "wmt22-da": lambda root, lps, tally, _: read_wmt22_da_set(root, lps, tally),
    "ted-mqm": lambda root, lps, tally, _: read_ted_set(root, lps, tally),
    "news-mqm": lambda root, lps, tally, _: read_news_set(root, lps, tally),
    "wmt24-esa": lambda root, lps, tally, _: read_esa_set(root, lps, tally),
    "mlqe-da": lambda root, lps, tally, _: read_mlqe(root, lps, tally, hter=False),
    "mlqe-hter": lambda root, lps, tally, _: read_mlqe(root, lps, tally, hter=True),
    "biomqm": lambda root, lps, tally, _: read_biomqm_dev(root, lps, tally),
    "qe22-da": lambda root, lps, tally, others: read_qe22(root, lps, tally, False, others),
    "qe22-mqm": lambda root, lps, tally, others: read_qe22(root, lps, tally, True, others),
}


def load_judgments(data_root: Path, sets: Sequence[str], lps: Sequence[str] | None = None, *,
                   counts: Counter[str] | None = None) -> list[Judgment]:
    """The judgments of ``sets`` (names from ``SETS``), restricted to the language pairs ``lps`` if given.

    ``counts``, when given, receives what the readers skipped or settled by a rule, keyed
    ``"dataset:lp: what"`` (for the dedup sets this includes the sets read to dedupe against).
    """
    unknown = [s for s in sets if s not in _READERS]
    if unknown:
        raise InputError(f"unknown judgment set {', '.join(map(repr, unknown))} (available: {', '.join(SETS)})")
    root = Path(data_root)
    if not root.is_dir():
        raise InputError(f"{root}: no such data folder (expected ../shared/data)")
    tally = Tally(counts)
    loaded: dict[str, list[Judgment]] = {}

    def load(name: str) -> list[Judgment]:
        if name not in loaded:
            loaded[name] = _READERS[name](root, lps, tally, load)
        return loaded[name]

    out: list[Judgment] = []
    for name in dict.fromkeys(sets):
        out += load(name)
    return out
