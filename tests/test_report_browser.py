"""The HTML error report in a real headless Chromium: spans in the DOM, filters from the URL, no injected code runs.

Chromium loads the page from file://, runs its script (allowed by hash in the page's CSP) under a virtual-time
budget, and ``--dump-dom`` prints the resulting DOM, which is parsed here. Debian's ``chromium`` package is
installed by ``.ci/run``; without it these tests skip.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import TITLE, XSS_HYP, Dom, sample_result

from evalkit.report.errors import write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)")


def dump_dom(page: Path, fragment: str, profile: Path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", page.as_uri() + fragment]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(sample_result(), out / "errors")
    return out / "errors.html"


def visible(dom: Dom) -> list[str]:
    return [r["attrs"]["id"] for r in dom.rows if "hidden" not in r["attrs"]]


def test_spans_are_highlighted_in_the_rendered_dom(report: Path, tmp_path: Path) -> None:
    dom = Dom(dump_dom(report, "", tmp_path / "profile"))
    assert dom.title == TITLE
    assert ("html", {"lang": "en", "data-report-ready": "1"}) in dom.elements  # our script ran under the CSP
    assert len(visible(dom)) == 4
    by_text = {r["mt"]: r for r in dom.rows}
    seg = sample_result().systems[0].segments[0]
    row = by_text[seg.hyp]
    assert [(m["text"], m["class"]) for m in row["marks"]] == [
        ("Der", ["err", "sev-minor", "cat-mistranslation", "opens"]),
        ("number ", ["err", "sev-major", "cat-mistranslation", "opens"]),
        ("one in", ["err", "sev-major", "cat-mistranslation", "cat-word-order", "opens", "overlap"]),
        (" Tōkyō", ["err", "sev-minor", "cat-word-order"]),
        ("sagte", ["err", "sev-minor", "cat-mistranslation", "opens"]),
        (":", ["err", "sev-minor", "cat-punctuation", "opens"]),
        (".", ["err", "sev-minor", "cat-punctuation", "opens"]),
    ]
    assert [o["text"] for o in row["omissions"]] == ["‸Tokyo", "‸end"]
    b = by_text["Völlig falsch übersetzt"]
    assert [(m["text"], m["class"][1]) for m in b["marks"]] == [("falsch", "sev-major")]


def test_filters_and_sort_read_from_the_url_fragment(report: Path, tmp_path: Path) -> None:
    rows = {r["mt"]: r["attrs"]["id"] for r in Dom(report.read_text(encoding="utf-8")).rows}
    h1, h3 = sample_result().systems[0].segments[0].hyp, sample_result().systems[0].segments[2].hyp
    dom = Dom(dump_dom(report, "#severity=major&sort=chrf:desc", tmp_path / "p1"))
    # major spans: segment 1 of the first system and "falsch" of the second; best chrf first (55 > 41.5)
    assert visible(dom) == [rows["Völlig falsch übersetzt"], rows[h1]]
    assert [r["attrs"]["data-k-chrf"] for r in dom.rows] == ["88.0", "55.0", "41.5", "20.25"]
    assert ("th", {"class": "num", "aria-sort": "descending"}) in dom.elements
    assert ("span", {"id": "shown-count"}) in dom.elements and "<span id=\"shown-count\">2</span>" in \
        dump_dom(report, "#severity=major", tmp_path / "p2")
    dom = Dom(dump_dom(report, "#system=uni-b&category=word-order", tmp_path / "p3"))
    assert visible(dom) == []  # the word-order span is in the other system
    dom = Dom(dump_dom(report, "#category=spelling&severity=minor&system=nonsense", tmp_path / "p4"))
    assert visible(dom) == [rows[XSS_HYP]]  # an unknown value falls back to "all"
    assert rows[h3] not in visible(dom)


def test_script_in_mt_text_does_not_run_and_shows_as_text(report: Path, tmp_path: Path) -> None:
    text = dump_dom(report, "", tmp_path / "profile")
    dom = Dom(text)
    assert dom.title == TITLE
    assert not any(a.get("id") == "pwned" for _, a in dom.elements)
    assert not any(t == "img" for t, _ in dom.elements)
    assert [t for t, _ in dom.elements].count("script") == 1
    assert XSS_HYP in [r["mt"] for r in dom.rows]
    assert "document.title='pwned'&lt;/script&gt;" in text


def test_csp_blocks_markup_that_escaped_escaping(report: Path, tmp_path: Path) -> None:
    """Defence in depth: were raw markup ever to reach the page, the CSP still stops it while our script runs."""
    page = report.read_text(encoding="utf-8")
    injected = ("<img src=x onerror=\"document.body.id='pwned'\">"
                "<script>document.title='pwned'</script><div onclick=\"x()\" id=\"marker\"></div>")
    hostile = tmp_path / "hostile.html"
    hostile.write_text(page.replace("<main>", "<main>" + injected, 1), encoding="utf-8")
    dom = Dom(dump_dom(hostile, "#severity=critical", tmp_path / "profile"))
    assert dom.title == TITLE
    assert not any(a.get("id") == "pwned" for _, a in dom.elements)
    assert ("html", {"lang": "en", "data-report-ready": "1"}) in dom.elements
    assert len(visible(dom)) == 1
