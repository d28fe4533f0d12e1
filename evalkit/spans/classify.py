"""Classify: category, severity and reference text of a candidate span, and the MQM-style segment score.

Category (first rule that applies):
  omission        zero-width span: reference words missing from the MT, anchored where they belong
  word order      a block of correct words that TER had to shift
  punctuation     only punctuation on both sides
  capitalisation  the same words up to case
  spelling        one word for one word, at least 80% alike character-wise (difflib ratio), 4+ letters
  addition        MT words with no reference counterpart at all
  mistranslation  everything else
Severity:
  critical  a number differs (digits on one side not on the other) or a negation appears on one side only
  minor     punctuation, capitalisation, spelling; spans whose words are all function words; one content
            word replaced by one word; a word-order block or addition with fewer than 3 content words
  major     everything else: two or more words changed where a content word is involved, any omitted
            content word, a garble covering half the segment's words
MQM score of a segment (Google/WMT MQM weights, Freitag et al. 2021): minor 1, major 5, critical 10 (the MQM
framework's value; WMT's tables have no critical level), minor punctuation 0.1. It is a penalty: 0 is clean.
"""
from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from evalkit.results import Span
from evalkit.spans.merge import Candidate
from evalkit.spans.types import Token

WEIGHTS = {"minor": 1.0, "major": 5.0, "critical": 10.0}
PUNCT_MINOR_WEIGHT = 0.1
SEVERITIES = ("minor", "major", "critical")
CATEGORIES = ("mistranslation", "omission", "addition", "word order", "punctuation", "capitalisation", "spelling")
MINOR_CATEGORIES = ("punctuation", "capitalisation", "spelling")

NEGATIONS = frozenset(
    "not n't no never neither nor none nobody nothing cannot without "
    "nicht kein keine keinen keinem keiner keines nie niemals nichts weder "
    "nunca jamás ni ningún ninguna ninguno nada nadie tampoco sin".split()
)
FUNCTION_WORDS = frozenset(
    # English
    "a an the of in on at to for from by with about as into onto over under than then and or but if "
    "that this these those there here it its it's he she they them their his her him we us our you your i me my "
    "is are was were be been being am do does did has have had will would shall should can could may might must "
    "which who whom whose what when where why how so such also very just more most much many some any all both "
    "each other another one up out off again too only own same s 's "
    # German
    "der die das den dem des ein eine einen einem einer eines und oder aber wenn dass daß als wie von zu zum "
    "zur mit bei nach aus auf für über unter an am im in ins vom um durch es er sie wir ihr ich du man sich "
    "ist sind war waren sein wird werden wurde wurden hat haben hatte hatten kann können muss müssen soll "
    "sollte würde auch noch schon so sehr nur dies diese dieser dieses diesem jene welche welcher "
    # Spanish
    "el la los las lo un una unos unas de del al y e o u pero si que como en con por para sin sobre entre "
    "desde hasta a se su sus le les me te nos es son fue fueron ser está están estar ha han había haber "
    "este esta estos estas ese esa esos esas aquel muy más también ya cual cuales quien".split()
)


def is_punct(text: str) -> bool:
    return bool(text) and all(unicodedata.category(c)[0] in "PS" for c in text)


def is_function(text: str) -> bool:
    return text.casefold() in FUNCTION_WORDS


def is_content(text: str) -> bool:
    return not is_punct(text) and not is_function(text)


def _numbers(words: Sequence[str]) -> list[str]:
    return sorted("".join(c for c in w if c.isdigit()) for w in words if any(c.isdigit() for c in w))


def _negations(words: Sequence[str]) -> int:
    return sum(1 for w in words if w.casefold() in NEGATIONS or w.casefold().endswith("n't"))


def _letters(words: Sequence[str]) -> str:
    return "".join(c for w in words for c in w.casefold() if c.isalnum())


def category_of(cand: Candidate, mt_words: list[str], ref_words: list[str]) -> str:
    if cand.kind == "omission":
        return "omission"
    if cand.kind == "shift":
        return "word order"
    if all(is_punct(w) for w in mt_words + ref_words):
        return "punctuation"
    if ref_words and [w.casefold() for w in mt_words] == [w.casefold() for w in ref_words]:
        return "capitalisation"
    if ref_words and mt_words and _letters(mt_words) == _letters(ref_words):
        return "spelling"
    if (
        len(mt_words) == 1 and len(ref_words) == 1 and mt_words[0].isalpha() and ref_words[0].isalpha()
        and min(len(mt_words[0]), len(ref_words[0])) >= 4
        and difflib.SequenceMatcher(None, mt_words[0].casefold(), ref_words[0].casefold()).ratio() >= 0.8
    ):
        return "spelling"
    if not ref_words and all(op == "ins" for op in cand.ops):
        return "addition"
    return "mistranslation"


def severity_of(category: str, mt_words: list[str], ref_words: list[str], n_segment_words: int) -> str:
    if category in MINOR_CATEGORIES:
        return "minor"
    if _numbers(mt_words) != _numbers(ref_words) or _negations(mt_words) != _negations(ref_words):
        return "critical"
    mt_content = [w for w in mt_words if is_content(w)]
    ref_content = [w for w in ref_words if is_content(w)]
    if not mt_content and not ref_content:
        return "minor"
    if category == "omission":
        return "major"
    if category in ("word order", "addition"):
        return "major" if len(mt_content) >= 3 else "minor"
    mt_n = sum(1 for w in mt_words if not is_punct(w))
    ref_n = sum(1 for w in ref_words if not is_punct(w))
    if n_segment_words and mt_n >= 2 and 2 * mt_n >= n_segment_words:
        return "major"
    return "major" if max(mt_n, ref_n) >= 2 else "minor"


def classify(
    cand: Candidate,
    mt: str,
    hyp_tokens: Sequence[Token],
    ref: str,
    ref_tokens: Sequence[Token],
    *,
    confidence: float = 1.0,
) -> Span:
    """The ``Span`` for one candidate: ``mt[start:end] == text`` by construction."""
    mt_words = [t.text for t in hyp_tokens[cand.lo:cand.hi]]
    ref_words = [ref_tokens[i].text for i in cand.ref_idx]
    category = category_of(cand, mt_words, ref_words)
    n_words = sum(1 for t in hyp_tokens if not is_punct(t.text))
    severity = severity_of(category, mt_words, ref_words, n_words)
    ref_text = ref[ref_tokens[cand.ref_idx[0]].start:ref_tokens[cand.ref_idx[-1]].end] if cand.ref_idx else ""
    if cand.ref_text is not None:
        ref_text = cand.ref_text
    return Span(cand.start, cand.end, mt[cand.start:cand.end], category, severity, ref_text, round(confidence, 3),
                cand.moved_to)


def span_weight(span: Span) -> float:
    if span.severity == "minor" and span.category == "punctuation":
        return PUNCT_MINOR_WEIGHT
    return WEIGHTS[span.severity]


def mqm_score(spans: Sequence[Span]) -> float:
    """Weighted error count of one segment (a penalty: 0 is clean, higher is worse)."""
    return round(sum(span_weight(s) for s in spans), 3)


def count_spans(per_segment: Sequence[Sequence[Span]]) -> dict[str, dict[str, int]]:
    """``{category: {severity: n}}`` over a system's segments."""
    counts: dict[str, dict[str, int]] = {}
    for spans in per_segment:
        for s in spans:
            by_sev = counts.setdefault(s.category, {})
            by_sev[s.severity] = by_sev.get(s.severity, 0) + 1
    return counts
