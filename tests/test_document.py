"""The raw-article reader on the showcase seed and on general cases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT
from evalkit.errors import InputError
from evalkit.io.document import boilerplate_kind, parse_document, read_document, split_sentences

SEED = ROOT / "seeds" / "000_2179a3658f654c48.txt"
REFERENCE = ROOT / "references" / "000_2179a3658f654c48.txt"
TITLE = "The United States confirms the sending of North Korean troops to Russia"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def seed():
    return read_document(SEED)


def test_seed_boilerplate_is_dropped_and_reported(seed) -> None:
    assert seed.dropped == [
        f"Home » World » {TITLE}",
        "Leave a Comment",
        "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    ]
    assert not any("Akismet" in s or s == "Leave a Comment" or "»" in s for s in seed.segments)


def test_seed_headings_and_title_once(seed) -> None:
    assert [seed.segments[i] for i in seed.headings] == [
        TITLE,
        "There is evidence that there are DPRK troops in Russia",
        "Seoul raises its estimate of North Korean soldiers sent to Russia to three thousand",
        "Military cooperation between Moscow and Pyongyang",
    ]
    assert seed.headings[0] == 0
    assert sum(TITLE in s for s in seed.segments) == 1
    assert len(seed.segments) == 33
    assert len(seed.paragraphs) == 33 and seed.paragraphs[-1] == 29


def test_seed_sentence_cuts(seed) -> None:
    segs = seed.segments
    # pysbd cuts the dateline "ROME (France 24).– For ..." after the period; no space follows, so it is undone.
    assert segs[1].startswith("ROME (France 24).– For Lloyd Austin, number one in")
    assert segs[1].endswith("has sent troops to Russia.")
    # Curly quotes: the quoted question stays with its broken quotation (pysbd keeps quoted spans whole).
    i = segs.index("“There is evidence that there are DPRK troops in Russia,” the defense secretary said, using "
                   "North Korea’s formal name: Democratic People’s Republic of Korea.")
    assert segs[i + 1] == "“What exactly are they doing? It remains visible. “These are things we have to solve,” he added."
    # The stray " ." at a paragraph end stays with its sentence, never a segment of its own.
    assert any(s.endswith("at military bases. .") for s in segs)
    assert all(any(ch.isalnum() for ch in s) for s in segs)
    # The MT's wrongly broken last sentence is two segments, as in the reference.
    assert segs[-2].endswith("how much they would actually help.")
    assert segs[-1] == "North Korean troops to Russia, citing a lack of battle experience."


def test_seed_no_text_lost(seed) -> None:
    text = SEED.read_text(encoding="utf-8")
    for line in seed.dropped:
        text = text.replace(line, "", 1)
    assert _squash("".join(seed.segments)) == _squash(text)


def test_reference_is_segmented_like_the_seed(seed) -> None:
    if not REFERENCE.exists():
        pytest.skip("the team's reference for the seed is not written yet")
    ref = read_document(REFERENCE)
    assert ref.dropped == []
    assert ref.paragraphs == seed.paragraphs
    assert ref.headings == seed.headings


@pytest.mark.parametrize(
    "line, kind",
    [
        ("Home » World » The United States confirms the sending of troops", "breadcrumb"),
        ("Home > News > Europe", "breadcrumb"),
        ("Inicio / Mundo / Estados Unidos confirma el envío de tropas", "breadcrumb"),
        ("News › Europe › France › Paris police arrest two", "breadcrumb"),
        ("Leave a Comment", "comment prompt"),
        ("Leave a Reply", "comment prompt"),
        ("Add comment", "comment prompt"),
        ("Post a comment:", "comment prompt"),
        ("12 Comments", "comment prompt"),
        ("No comments yet", "comment prompt"),
        ("Join the discussion", "comment prompt"),
        ("You must be logged in to post a comment.", "comment prompt"),
        ("This site uses Akismet to reduce spam. Learn how your comment data is processed.", "anti-spam notice"),
        ("Learn how your comment data is processed.", "anti-spam notice"),
        ("Share this article", "share/subscribe line"),
        ("Share on Facebook", "share/subscribe line"),
        ("Facebook Twitter WhatsApp Email", "share/subscribe line"),
        ("Subscribe to our newsletter", "share/subscribe line"),
        ("Sign up for our newsletter to get the latest news.", "share/subscribe line"),
        ("Follow us on Twitter and Facebook", "share/subscribe line"),
        ("We use cookies to improve your experience. By continuing you accept them.", "cookie notice"),
        ("This website uses cookies.", "cookie notice"),
        ("Accept all cookies", "cookie notice"),
        ("© 2024 France 24. All rights reserved.", "copyright line"),
    ],
)
def test_boilerplate_lines(line: str, kind: str) -> None:
    assert boilerplate_kind(line) == kind


@pytest.mark.parametrize(
    "line",
    [
        "He left a comment on the minister's page, which was later deleted.",
        "Share prices fell 3% on Monday.",
        "Comments by the minister were widely criticised.",
        "Cookies were handed out to the children.",
        "The ratio is 1 / 2 / 3 in every sample.",
        "Follow the money, the investigators said.",
        "Subscribers complained about the newsletter.",
        "World",
        "Military cooperation between Moscow and Pyongyang",
        "Europe > Asia in total output, the report says.",
    ],
)
def test_article_lines_are_kept(line: str) -> None:
    assert boilerplate_kind(line) is None


def test_title_repeated_as_first_heading_is_kept_once() -> None:
    doc = parse_document("Troops sent to Russia\n\nTroops sent to Russia\n\nThe ministry said so. It was late.\n")
    assert doc.segments == ["Troops sent to Russia", "The ministry said so.", "It was late."]
    assert doc.headings == [0]
    assert doc.dropped == ["Troops sent to Russia"]


def test_abbreviations_and_numbers_do_not_cut() -> None:
    par = "Mr. Smith met Dr. Jones at 5 p.m. on Jan. 3 in the U.S. capital. Prices rose 3.5% after that."
    assert split_sentences(par) == ["Mr. Smith met Dr. Jones at 5 p.m. on Jan. 3 in the U.S. capital.",
                                    "Prices rose 3.5% after that."]


def test_every_character_is_kept_by_the_splitter() -> None:
    pars = [
        "ROME (AFP).– He said so. It is. .",
        "“Go now,” she said. “Why?” he asked. ‘Because.’ Then silence…",
        "A sentence without end",
        "Numbers: 1,500 troops. 3.5 million people (approx.). Done!",
    ]
    for par in pars:
        assert _squash("".join(split_sentences(par))) == _squash(par)


def test_hard_wrapped_lines_are_joined_headings_stay() -> None:
    doc = parse_document("A heading here\nThe officials said that the troops\nhad arrived on Monday. They left.\n")
    assert doc.segments == ["A heading here", "The officials said that the troops had arrived on Monday.", "They left."]
    assert doc.headings == [0]


def test_bom_and_crlf_give_the_same_document(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    p = tmp_path / "crlf.txt"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    a, b = read_document(SEED), read_document(p)
    assert (a.segments, a.dropped, a.headings) == (b.segments, b.dropped, b.headings)


def test_only_boilerplate_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "b.txt"
    p.write_text("Leave a Comment\n\nShare this article\n", encoding="utf-8")
    with pytest.raises(InputError, match="only boilerplate"):
        read_document(p)


def test_unsupported_language_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not supported by the sentence splitter"):
        parse_document("Hello there.", language="xx")
