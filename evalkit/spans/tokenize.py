"""Tokens with character offsets into the original, untokenised text.

TER compares *keys* (tercom's tokens: lowercased, optionally normalised) while spans must point into
the text the user gave us. ``ter_tokens`` therefore returns both: the keys are exactly what
sacrebleu's ``TercomTokenizer(text.rstrip()).split()`` yields, and each key carries the offsets of
the original characters it came from, so ``text[t.start:t.end] == t.text`` always holds.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from evalkit.spans.types import Token

# ``\S`` in ``re`` and ``str.split()`` agree on every code point (both use Py_UNICODE_ISSPACE).
_WORD = re.compile(r"\S+")
# Words keep internal hyphens/apostrophes ("well-known", "don't"); other punctuation stands alone.
_PUNCT_SPLIT = re.compile(r"\w+(?:[-'\u2019]\w+)*|[^\w\s]")


def whitespace_tokens(text: str) -> list[Token]:
    """Whitespace-separated tokens, as TER (``str.split``) sees them without normalisation."""
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def punct_tokens(text: str) -> list[Token]:
    """Words with punctuation split off, for span finding: ``"Hello, world!"`` -> Hello , world !"""
    out: list[Token] = []
    for w in _WORD.finditer(text):
        base = w.start()
        for m in _PUNCT_SPLIT.finditer(w.group()):
            out.append(Token(m.group(), base + m.start(), base + m.end()))
    return out


# ---- tercom normalisation, replayed on text that remembers where each character came from ----

_Part = int | str  # a group number or a literal


class _Tracked:
    """A string whose every character carries the [start, end) of the original characters it stands for."""

    __slots__ = ("text", "starts", "ends")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text, self.starts, self.ends = text, starts, ends

    @classmethod
    def of(cls, text: str) -> _Tracked:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    def lower(self) -> _Tracked:
        low = self.text.lower()
        if len(low) == len(self.text):
            return _Tracked(low, self.starts, self.ends)
        starts: list[int] = []
        ends: list[int] = []
        for ch, s, e in zip(self.text, self.starts, self.ends):
            k = len(ch.lower())  # only U+0130 grows (to 2); final sigma keeps its length
            starts += [s] * k
            ends += [e] * k
        return _Tracked(low, starts, ends)

    def sub(self, pattern: str, template: Sequence[_Part]) -> _Tracked:
        """``re.sub(pattern, template, text)`` where literals inherit the offsets of the whole match."""
        text, starts, ends = self.text, self.starts, self.ends
        out_t: list[str] = []
        out_s: list[int] = []
        out_e: list[int] = []
        pos = 0
        for m in re.finditer(pattern, text):
            a, b = m.span()
            out_t.append(text[pos:a])
            out_s += starts[pos:a]
            out_e += ends[pos:a]
            solid = [k for k in range(a, b) if not text[k].isspace()] or list(range(a, b))
            if solid:
                ms, me = min(starts[k] for k in solid), max(ends[k] for k in solid)
            else:
                ms = me = starts[a] if a < len(text) else (ends[-1] if ends else 0)
            for part in template:
                if isinstance(part, int):
                    ga, gb = m.span(part)
                    if ga < 0:
                        continue
                    out_t.append(text[ga:gb])
                    out_s += starts[ga:gb]
                    out_e += ends[ga:gb]
                else:
                    out_t.append(part)
                    out_s += [ms] * len(part)
                    out_e += [me] * len(part)
            pos = b
        out_t.append(text[pos:])
        out_s += starts[pos:]
        out_e += ends[pos:]
        return _Tracked("".join(out_t), out_s, out_e)


_SP = " "
_ASIAN_PUNCT = r"([\u3001\u3002\u3008-\u3011\u3014-\u301f\uff61-\uff65\u30fb])"
_FULL_WIDTH_PUNCT = r"([\uff0e\uff0c\uff1f\uff1a\uff1b\uff01\uff02\uff08\uff09])"
_PAD: list[_Part] = [_SP, 1, _SP]

# tercom's Normalizer rules (the ones sacrebleu's TercomTokenizer applies), in order.
_GENERAL: list[tuple[str, list[_Part]]] = [
    (r"\n-", []),
    (r"\n", [_SP]),
    (r"&quot;", ['"']),
    (r"&amp;", ["&"]),
    (r"&lt;", ["<"]),
    (r"&gt;", [">"]),
]
_WESTERN: list[tuple[str, list[_Part]]] = [
    (r"([{-~[-` -&(-+:-@/])", _PAD),
    (r"'s ", [_SP, "'s", _SP]),
    (r"'s$", [_SP, "'s"]),
    (r"([^0-9])([\.,])", [1, _SP, 2, _SP]),
    (r"([\.,])([^0-9])", [_SP, 1, _SP, 2]),
    (r"([0-9])(-)", [1, _SP, 2, _SP]),
]
_ASIAN: list[tuple[str, list[_Part]]] = [
    (r"([\u4e00-\u9fff\u3400-\u4dbf])", _PAD),
    (r"([\u31c0-\u31ef\u2e80-\u2eff])", _PAD),
    (r"([\u3300-\u33ff\uf900-\ufaff\ufe30-\ufe4f])", _PAD),
    (r"([\u3200-\u3f22])", _PAD),
    (r"(^|^[\u3040-\u309f])([\u3040-\u309f]+)(?=$|^[\u3040-\u309f])", [1, _SP, 2, _SP]),
    (r"(^|^[\u30a0-\u30ff])([\u30a0-\u30ff]+)(?=$|^[\u30a0-\u30ff])", [1, _SP, 2, _SP]),
    (r"(^|^[\u31f0-\u31ff])([\u31f0-\u31ff]+)(?=$|^[\u31f0-\u31ff])", [1, _SP, 2, _SP]),
    (_ASIAN_PUNCT, _PAD),
    (_FULL_WIDTH_PUNCT, _PAD),
]
_NO_PUNCT: list[tuple[str, list[_Part]]] = [(r"[\.,\?:;!\"\(\)]", [])]
_NO_ASIAN_PUNCT: list[tuple[str, list[_Part]]] = [(_ASIAN_PUNCT, []), (_FULL_WIDTH_PUNCT, [])]


def _apply(t: _Tracked, rules: list[tuple[str, list[_Part]]]) -> _Tracked:
    for pattern, template in rules:
        t = t.sub(pattern, template)
    return t


def ter_tokens(
    text: str,
    *,
    case_sensitive: bool = False,
    normalized: bool = False,
    no_punct: bool = False,
    asian_support: bool = False,
) -> tuple[list[Token], list[str]]:
    """tercom's tokens of ``text`` as (tokens with original offsets, comparison keys).

    The keys equal sacrebleu's ``TER(...)._preprocess_segment(text).split()`` for the same options.
    """
    if not normalized and not no_punct:
        toks = whitespace_tokens(text)
        if case_sensitive:
            return toks, [t.text for t in toks]
        low = text.lower()
        if len(low) == len(text):
            return toks, [low[t.start:t.end] for t in toks]
    t = _Tracked.of(text.rstrip())
    if not case_sensitive:
        t = t.lower()
    if normalized:
        t = _apply(t, _GENERAL)
        n = len(text)
        t = _Tracked(_SP + t.text + _SP, [0] + t.starts + [n], [0] + t.ends + [n])
        t = _apply(t, _WESTERN)
        if asian_support:
            t = _apply(t, _ASIAN)
    if no_punct:
        t = _apply(t, _NO_PUNCT)
        if asian_support:
            t = _apply(t, _NO_ASIAN_PUNCT)
    tokens: list[Token] = []
    keys: list[str] = []
    for m in _WORD.finditer(t.text):
        a, b = m.span()
        start, end = min(t.starts[a:b]), max(t.ends[a:b])
        tokens.append(Token(text[start:end], start, end))
        keys.append(m.group())
    return tokens, keys

