"""TER alignment: exact edit counts against sacrebleu, valid offsets, hand-checked shifts, both backends."""
from __future__ import annotations

import functools
import itertools
import random
import shutil
import sysconfig

import pytest
from sacrebleu.metrics import TER
from sacrebleu.metrics.lib_ter import translation_edit_rate

from evalkit.errors import InputError
from evalkit.io.wmt import WMTLayout
from evalkit.spans import align as align_mod
from evalkit.spans.align import align, align_words, ter_edits
from evalkit.spans.tokenize import punct_tokens, ter_tokens, whitespace_tokens

BACKENDS = sorted(align_mod.BACKENDS)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setattr(align_mod, "_core", align_mod.BACKENDS[request.param])
    return request.param


def test_c_extension_is_built():
    """``pip install -e .`` builds it wherever a C compiler exists; elsewhere the Python fallback runs."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(cc):
        pytest.skip(f"no C compiler ({cc}): evalkit runs the pure-Python TER")
    assert "c" in align_mod.BACKENDS, "evalkit.spans._ter_c was not built: re-run python3 -m pip install -e ."


# ---- hand-checked alignments ----

def _pairs(a):
    return [(p.hyp, p.ref, p.op) for p in a.pairs]


def test_single_word_swap_is_one_shift(backend):
    # "b a c" -> "a b c": moving "b" or "a" both gain 2; tercom prefers the earliest hyp block (b).
    a = align("b a c", "a b c")
    assert a.num_shifts == 1 and a.shifts == [(0,)] and a.shifted == {0}
    assert _pairs(a) == [(1, 0, "match"), (0, 1, "match"), (2, 2, "match")]
    assert a.edits == 1


def test_block_shift_prefers_earliest_longest_block(backend):
    a = align("the cat sat on the mat", "on the mat the cat sat")
    assert a.shifts == [(0, 1, 2)] and a.edits == 1
    assert [p.hyp for p in a.pairs] == [3, 4, 5, 0, 1, 2]
    assert all(p.op == "match" for p in a.pairs)


def test_shift_then_deletion(backend):
    a = align("a b c d e", "c d e a b x")
    assert a.shifts == [(0, 1)]
    assert _pairs(a)[-1] == (None, 5, "del")
    assert a.edits == 2 == translation_edit_rate("a b c d e".split(), "c d e a b x".split())[0]


def test_case_insensitive_by_default_and_offsets_into_original(backend):
    mt = "  I saw him Yesterday at the station . "
    ref = "Yesterday I saw him at the station."
    a = align(mt, ref)
    assert a.num_shifts == 1 and a.shifted == {3}
    assert a.hyp_tokens[3].text == "Yesterday" and mt[a.hyp_tokens[3].start:a.hyp_tokens[3].end] == "Yesterday"
    # "station ." vs "station.": tercom's tie order gives an insertion of "station" and a substitution
    assert [p.op for p in a.pairs][-2:] == ["ins", "sub"]
    assert align(mt, ref, case_sensitive=True).hyp_keys[3] == "Yesterday"


def test_custom_tokenizer_splits_punctuation():
    a = align("Hello, World!", "hello world", tokenizer=punct_tokens)
    assert [t.text for t in a.hyp_tokens] == ["Hello", ",", "World", "!"]
    assert [p.op for p in a.pairs] == ["match", "ins", "match", "ins"]
    assert align("Hello, World!", "hello world", tokenizer=punct_tokens, case_sensitive=True).edits == 4
    with pytest.raises(InputError):
        align("a", "b", tokenizer=punct_tokens, normalized=True)


def test_empty_sides(backend):
    assert _pairs(align("x y", "")) == [(0, None, "ins"), (1, None, "ins")]
    assert _pairs(align("", "x y")) == [(None, 0, "del"), (None, 1, "del")]
    assert align("", "").pairs == []
    assert ter_edits([], []) == 0


def test_pairs_cover_every_token_once():
    rng = random.Random(1)
    vocab = "a b c d e f the of".split()
    for _ in range(200):
        h = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
        r = [rng.choice(vocab) for _ in range(rng.randint(0, 25))]
        pairs, moved = align_words(h, r)
        assert sorted(p.hyp for p in pairs if p.hyp is not None) == list(range(len(h)))
        assert [p.ref for p in pairs if p.ref is not None] == list(range(len(r)))
        for p in pairs:
            if p.op == "match":
                assert h[p.hyp] == r[p.ref]
            elif p.op == "sub":
                assert h[p.hyp] != r[p.ref]
        assert len(moved) + sum(p.op != "match" for p in pairs) == translation_edit_rate(h, r)[0]


def _sacrebleu_alignment(h: list[str], r: list[str], with_checked: bool = False):
    """sacrebleu's own shifted hyp and final trace (its shift loop, replayed through lib_ter)."""
    from sacrebleu.metrics import lib_ter

    if not r:
        return h, "i" * len(h)
    ed = lib_ter.BeamEditDistance(r)
    words, checked = h, 0
    while True:
        delta, new, checked = lib_ter._shift(words, r, ed, checked)
        if checked >= lib_ter._MAX_SHIFT_CANDIDATES or delta <= 0:
            break
        words = new
    out = words, lib_ter._flip_trace(ed(words)[1])
    return (*out, checked) if with_checked else out


def _shifted_words(a) -> list[str]:
    return [a.hyp_keys[p.hyp] for p in a.pairs if p.hyp is not None]


def test_candidate_cap_drops_that_rounds_shift_like_sacrebleu(backend):
    """Small-vocabulary hyps make >1000 shift candidates: the round that reaches the cap is discarded."""
    rng = random.Random(3)
    h = [rng.choice("abcd") for _ in range(40)]
    r = [rng.choice("abcd") for _ in range(40)]
    shifted, trace, checked = _sacrebleu_alignment(h, r, with_checked=True)
    assert checked >= 1000
    a = align(" ".join(h), " ".join(r))
    assert (_shifted_words(a), a.trace) == (shifted, trace)
    assert a.edits == translation_edit_rate(h, r)[0]


@pytest.mark.skipif("c" not in align_mod.BACKENDS, reason="C extension not built")
def test_backends_identical_on_random_sequences():
    """Same shifts, trace and permutation from C and Python, with and without shifts."""
    rng = random.Random(5)
    c, py = align_mod.BACKENDS["c"], align_mod.BACKENDS["python"]
    for _ in range(300):
        v = rng.randint(1, 8)
        h = [rng.randrange(v) for _ in range(rng.randint(0, 40))]
        r = [rng.randrange(v) for _ in range(rng.randint(0, 40))]
        assert c(h, r, True) == py(h, r, True)
        assert c(h, r, False) == py(h, r, False)


# ---- tokenisation ----

_TRICKY = [
    "Hello, world! It's 3.5-4 &quot;x&quot; Mr. Smith's dog's.",
    "İstanbul  ΟΔΟΣ. 東京は日本のです。カタカナ（全角）",
    "a\n-b c\nd",
    "x's",
    "\tlead\u00a0nbsp  trail  ",
    "",
]


def test_ter_tokens_equal_sacrebleu_for_every_option():
    for text, opts in itertools.product(_TRICKY, itertools.product([False, True], repeat=4)):
        kw = dict(zip(("case_sensitive", "normalized", "no_punct", "asian_support"), opts))
        toks, keys = ter_tokens(text, **kw)
        assert keys == TER(**kw)._preprocess_segment(text).split(), (text, kw)
        assert len(toks) == len(keys)
        assert all(text[t.start:t.end] == t.text for t in toks)


def test_punct_tokens_split_punctuation_keep_offsets():
    text = "Hello, world! It's well-known (really)."
    toks = punct_tokens(text)
    assert [t.text for t in toks] == ["Hello", ",", "world", "!", "It's", "well-known", "(", "really", ")", "."]
    assert all(text[t.start:t.end] == t.text for t in toks)
    assert [t.text for t in whitespace_tokens(text)] == text.split()


# ---- exactness against sacrebleu on real data ----

# Per pair: (systems, segments per system, max reference words). sacrebleu's own time dominates these
# tests (seconds per segment beyond ~150 words), so slices keep to shorter items; every segment of every
# system, long ones included, is checked by bench/bench_ter.py --verify-all.
_SLICES = {"zh-en": (4, 25, 60), "he-en": (4, 25, 60), "en-de": (2, 5, 90)}


@functools.lru_cache(maxsize=None)
def _slice(wmt23, lp):
    layout = WMTLayout(wmt23)
    refs = layout.reference(lp)
    systems = layout.system_outputs(lp)
    n_sys, n_seg, max_words = _SLICES[lp]
    rng = random.Random(lp)
    names = rng.sample(sorted(systems), n_sys)
    rows = rng.sample([i for i, r in enumerate(refs) if 0 < len(r.split()) <= max_words], n_seg)
    return [(systems[s][i], refs[i]) for s in names for i in rows]


@functools.lru_cache(maxsize=None)
def _expected(wmt23, lp):
    """sacrebleu's (shifted hyp words, trace, edits) per pair of the slice, computed once for both backends."""
    ter = TER()
    out = []
    for hyp, ref in _slice(wmt23, lp):
        h, r = ter._preprocess_segment(hyp).split(), ter._preprocess_segment(ref).split()
        out.append((h, r, *_sacrebleu_alignment(h, r), translation_edit_rate(h, r)[0]))
    return out


@pytest.mark.parametrize("lp", sorted(_SLICES))
def test_ter_equals_sacrebleu_on_wmt23(wmt23, lp, backend):
    for (hyp, ref), (h, r, shifted, trace, expected) in zip(_slice(wmt23, lp), _expected(wmt23, lp)):
        assert ter_edits(h, r) == expected
        a = align(hyp, ref)
        assert a.edits == expected
        assert (_shifted_words(a), a.trace) == (shifted, trace)
        assert a.hyp_keys == h and a.ref_keys == r
        assert all(hyp[t.start:t.end] == t.text for t in a.hyp_tokens)
        assert all(ref[t.start:t.end] == t.text for t in a.ref_tokens)


@pytest.mark.parametrize("opts", [
    dict(normalized=True), dict(no_punct=True), dict(case_sensitive=True),
    dict(normalized=True, no_punct=True, case_sensitive=True),
])
def test_ter_options_equal_sacrebleu(wmt23, opts, backend):
    ter = TER(**opts)
    for hyp, ref in _slice(wmt23, "zh-en")[::4]:
        expected = translation_edit_rate(ter._preprocess_segment(hyp).split(), ter._preprocess_segment(ref).split())[0]
        a = align(hyp, ref, **opts)
        assert a.edits == expected
        assert all(hyp[t.start:t.end] == t.text for t in a.hyp_tokens)


def test_corpus_ter_metric_equals_sacrebleu(wmt23):
    from evalkit.metrics.lexical import TER as EvalkitTER

    pairs = _slice(wmt23, "he-en")
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    metric = EvalkitTER()
    stats = metric.segment_stats(hyps, [refs], metric.prepare([refs]))
    assert metric.corpus_score(stats.sum(axis=0)) == TER().corpus_score(hyps, [refs]).score
