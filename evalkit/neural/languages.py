"""Target languages each neural metric is built for (no heavy imports: the CLI help reads this)."""
from __future__ import annotations

import re

# all-MiniLM-L6-v2 was trained on English only; USE multilingual v3 on these 16 languages.
MINILM_LANGUAGES: tuple[str, ...] = ("en",)
USE_LANGUAGES: tuple[str, ...] = (
    "ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh", "zh-tw",
)

TARGET_LANGUAGES: dict[str, tuple[str, ...]] = {
    "comet-minilm": MINILM_LANGUAGES,
    "embed-sim-use": USE_LANGUAGES,
}
# multilingual-e5-small (XLM-R's vocabulary, ~100 languages): no list to check a target against.
MULTILINGUAL = {"comet-e5": "~100 languages, reads the source", "comet-e5-qe": "~100 languages, no reference"}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to a in is that for it was on with as are be by this have from at not".split()
)


def describe(name: str) -> str | None:
    if name in MULTILINGUAL:
        return MULTILINGUAL[name]
    langs = TARGET_LANGUAGES.get(name)
    if langs is None:
        return None
    return "English targets" if langs == ("en",) else f"targets: {' '.join(langs)}"


def english_share(texts: list[str], limit: int = 2000) -> float:
    """Share of words that are common English function words (~0.25-0.35 in English prose, ~0 otherwise).

    A cheap guard for metrics whose encoder only knows English, used when no target language is given.
    """
    words = [w.lower() for t in texts[:limit] for w in _WORD.findall(t)]
    if not words:
        return 0.0
    return sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words)


def language_warning(metric: str, trg_lang: str | None, texts: list[str]) -> str | None:
    """A one-line warning when the target language is (or looks) unsupported, else None."""
    langs = TARGET_LANGUAGES[metric]
    if trg_lang:
        code = trg_lang.strip().lower()
        if code in langs or code.split("-")[0] in langs:
            return None
        return f"{metric} supports {', '.join(langs)} targets, not {trg_lang!r}: its scores are not meaningful here"
    if langs == ("en",) and texts and english_share(texts) < 0.08:
        return (f"{metric} supports English targets only and these references do not look English; "
                "its scores are not meaningful here (pass --trg-lang to state the language)")
    return None
