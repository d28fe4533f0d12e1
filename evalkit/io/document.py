"""Raw articles as segments: site boilerplate dropped (and reported), headings kept whole, paragraphs
split into sentences with pysbd.

A web article copied as text carries lines that are not part of the article (navigation
breadcrumbs, comment prompts, anti-spam and cookie notices, share buttons). Scoring them would
reward or punish a system for text nobody translated, so they are dropped, but always listed in
``Document.dropped`` so that the user sees what went. The patterns are deliberately conservative:
a line is dropped only when the *whole* line is boilerplate.

Segmentation keeps every character: sentences are cuts of the paragraph text (pysbd only decides
where to cut), so apart from whitespace at the cuts nothing is ever lost.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.text import read_text

HEADING_MAX_WORDS = 20
HEADING_MAX_CHARS = 200

# Sentence-final punctuation: a line ending in one of these is prose, not a heading.
_FINAL = ".!?;:,…。！？"
_CJK_FINAL = "。！？"
_CLOSERS = "\"'”’»)]"

# Breadcrumb separators between spaces: "Home » World » Title", "News > Europe > France".
_CRUMB_SEP = re.compile(r"\s+(?:»|›|>|→|/|\||::)\s+")
_HOME = {"home", "inicio", "accueil", "startseite", "start", "home page", "homepage", "portada", "main page"}

_SOCIAL = "facebook|twitter|linkedin|whatsapp|telegram|reddit|pinterest|email"

# Whole-line boilerplate, matched case-insensitively after stripping whitespace. Each entry is
# (kind, pattern); ``kind`` is what the drop note says.
BOILERPLATE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("comment prompt", r"(leave|post|write|add|submit) (a |your )?(comment|reply|response)s?[.:!]?"),
        ("comment prompt", r"(\d+ |no )?comments?( \(\d+\))?( yet)?[.:!]?"),
        ("comment prompt", r"(join|start) the (discussion|conversation)[.:!]?"),
        ("comment prompt", r"you must be logged in to post a comment\.?"),
        ("comment prompt", r"cancel reply"),
        ("anti-spam notice", r"this site uses akismet to reduce spam\..*"),
        ("anti-spam notice", r"learn how your comment data is processed\.?"),
        ("share/subscribe line", r"share( this( article| story| post| page)?)?( on| via)?[ :]*"
                                 rf"(({_SOCIAL}|x|e-mail)[ ,|]*)*"),
        ("share/subscribe line", rf"(({_SOCIAL})[ ,|·•]*){{2,}}"),
        ("share/subscribe line", r"(subscribe|sign up)( now)?( to| for)? (our|the) (newsletter|mailing list).{0,80}"),
        ("share/subscribe line", r"follow us( on \w+(( and|,) \w+)*)?[.!]?"),
        ("cookie notice", r"(we|this (web)?site|our (web)?site) uses? cookies\b.*"),
        ("cookie notice", r"(accept|reject|manage) (all )?cookies.{0,40}"),
        ("copyright line", r"(©|\(c\)|copyright)\s*(©\s*)?\d{4}.{0,120}"),
    )
)


@dataclass
class Document:
    """An article cut into segments (one sentence or heading each).

    ``headings`` indexes the heading segments; ``paragraphs[i]`` is the paragraph of segment ``i``
    (realignment works paragraph by paragraph when both sides have the same paragraphs).
    """

    segments: list[str]
    dropped: list[str] = field(default_factory=list)
    headings: list[int] = field(default_factory=list)
    paragraphs: list[int] = field(default_factory=list)


def read_document(path: str | Path, language: str = "en") -> Document:
    """Read a raw article (UTF-8 checked, BOM/CRLF handled) and segment it."""
    doc = parse_document(read_text(path), language)
    if not doc.segments:
        what = "only boilerplate" if doc.dropped else "no text"
        raise InputError(f"{path}: the document has {what}; nothing to score")
    return doc


def parse_document(text: str, language: str = "en") -> Document:
    """Segments of an article's text: one per heading, one per sentence of every other paragraph."""
    lines = [ln.strip() for ln in text.split("\n")]
    dropped: list[str] = []
    kept: list[str] = []
    for ln in lines:
        if ln and boilerplate_kind(ln) is not None:
            dropped.append(ln)
            kept.append("")  # a dropped line also ends the paragraph around it
        else:
            kept.append(ln)
    paragraphs = _paragraphs(kept)
    if len(paragraphs) > 1 and is_heading(paragraphs[0]) and _same(paragraphs[0], paragraphs[1]):
        dropped.append(paragraphs.pop(1))  # the title repeated as the first heading
    doc = Document(segments=[], dropped=dropped)
    splitter = _segmenter(language)
    for p_index, par in enumerate(paragraphs):
        if is_heading(par):
            doc.headings.append(len(doc.segments))
            pieces = [par]
        else:
            pieces = split_sentences(par, splitter)
        doc.segments.extend(pieces)
        doc.paragraphs.extend([p_index] * len(pieces))
    return doc


def boilerplate_kind(line: str) -> str | None:
    """What kind of site boilerplate a whole line is, or None if it is article text."""
    s = line.strip()
    if _is_breadcrumb(s):
        return "breadcrumb"
    for kind, pattern in BOILERPLATE:
        if pattern.fullmatch(s):
            return kind
    return None


def _is_breadcrumb(line: str) -> bool:
    """``Home » World » Title``: at least three short crumbs (or two after "Home"), no final period."""
    crumbs = _CRUMB_SEP.split(line)
    if len(crumbs) < 2 or line.endswith("."):
        return False
    if any(not c or len(c.split()) > HEADING_MAX_WORDS for c in crumbs):
        return False
    if crumbs[0].lower() in _HOME:
        return True
    return len(crumbs) >= 3 and all(len(c.split()) <= 3 for c in crumbs[:-1])


def is_heading(paragraph: str) -> bool:
    """A heading is a short one-line paragraph without sentence-final punctuation."""
    s = paragraph.strip()
    if not s or "\n" in s or len(s) > HEADING_MAX_CHARS or len(s.split()) > HEADING_MAX_WORDS:
        return False
    if not any(ch.isalnum() for ch in s):
        return False
    return s.rstrip(_CLOSERS)[-1:] not in _FINAL


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _paragraphs(lines: list[str]) -> list[str]:
    """One paragraph per line, except that a hard-wrapped line continues when the next line starts
    in lower case and the line does not end a sentence."""
    out: list[str] = []
    current: str | None = None
    for ln in lines:
        if not ln:
            if current is not None:
                out.append(current)
            current = None
            continue
        if current is not None and ln[0].islower() and current.rstrip(_CLOSERS)[-1:] not in _FINAL:
            current = current + " " + ln
            continue
        if current is not None:
            out.append(current)
        current = ln
    if current is not None:
        out.append(current)
    return out


def splitter_languages() -> list[str]:
    """Languages the sentence splitter (pysbd) has rules for."""
    from pysbd.languages import LANGUAGE_CODES

    return sorted(LANGUAGE_CODES)


@lru_cache(maxsize=8)
def _segmenter(language: str):  # -> pysbd.Segmenter
    import pysbd
    from pysbd.languages import LANGUAGE_CODES

    if language not in LANGUAGE_CODES:
        raise InputError(f"document language {language!r} is not supported by the sentence splitter "
                         f"(pysbd: {', '.join(sorted(LANGUAGE_CODES))})")
    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(paragraph: str, splitter=None) -> list[str]:
    """Sentences of one paragraph: pysbd's boundaries, then two repairs, every character kept.

    * a piece with no letter or digit (a stray " ." at a paragraph end) joins the previous one;
    * a cut not followed by whitespace in the text ("ROME (France 24).– For ...", where pysbd cuts
      after the dateline's period) is undone, except after CJK full stops, which take no space.
    """
    par = paragraph.strip()
    if not par:
        return []
    splitter = splitter or _segmenter("en")
    starts = [0]
    pos = 0
    for piece in splitter.segment(par):
        s = piece.strip()
        if not s:
            continue
        k = par.find(s, pos)
        if k < 0:  # pysbd changed the text: make no cut here, the text stays in the previous piece
            continue
        if k > starts[-1]:
            starts.append(k)
        pos = k + len(s)
    cuts = [0]
    for k in starts[1:]:
        if par[k - 1].isspace() or par[:k].rstrip()[-1:] in _CJK_FINAL:
            cuts.append(k)
    pieces = [par[a:b] for a, b in zip(cuts, cuts[1:] + [len(par)])]
    merged: list[str] = []
    for piece in pieces:
        if merged and not any(ch.isalnum() for ch in piece):
            merged[-1] += piece
        elif merged and not any(ch.isalnum() for ch in merged[-1]):
            merged[-1] += piece
        else:
            merged.append(piece)
    return [m.strip() for m in merged]
