"""Error reports: span splitting, HTML structure and escaping, Markdown escaping, JSONL, the report CLI."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sacrebleu
from markdown_it import MarkdownIt

from evalkit.cli import main
from evalkit.errors import InputError
from evalkit.report import charts
from evalkit.report.errors import report_stem, write_report
from evalkit.report.html import render_errors
from evalkit.report.markdown import escape, marked, render_markdown
from evalkit.report.serialize import to_jsonl
from evalkit.report.spanview import check_spans, pieces, tokens
from evalkit.results import MetricScore, Result, SegmentResult, Span, SystemResult

XSS_HYP = "Er sagte <script>document.title='pwned'</script> und <img src=x onerror=\"document.body.id='pwned'\"> ok"
TITLE = "evalkit error report"


def span(hyp: str, text: str, category: str, severity: str, ref_text: str = "", *, at: int | None = None,
         confidence: float = 1.0) -> Span:
    start = hyp.index(text) if at is None else at
    return Span(start, start + len(text), text, category, severity, ref_text, confidence)


def gap(hyp: str, before: str, category: str, severity: str, ref_text: str) -> Span:
    """A zero-width omission anchored just before ``before`` (or at the end for "")."""
    at = hyp.index(before) if before else len(hyp)
    return Span(at, at, "", category, severity, ref_text)


def sample_result() -> Result:
    """Two systems, hand-made spans: overlapping, adjacent, zero-width, at both ends, non-ASCII, hostile text."""
    h1 = "Der Präsident number one in Tōkyō sagte: „Wir müssen“ 東京."
    h2 = XSS_HYP
    h3 = "Alles gut *hier* | [link](http://x) $x$"
    h4 = "Völlig falsch übersetzt"
    s1 = [
        span(h1, "Der", "mistranslation", "minor", "The"),            # at the very start
        span(h1, "number one in", "mistranslation", "major", "head of"),
        span(h1, "one in Tōkyō", "word order", "minor", "in Tokyo"),  # overlaps the previous one
        span(h1, "sagte", "mistranslation", "minor", "said"),
        span(h1, ":", "punctuation", "minor", ","),                   # adjacent to "sagte"
        gap(h1, "東京", "omission", "major", "Tokyo"),
        span(h1, ".", "punctuation", "minor", "!", at=len(h1) - 1),   # at the very end
        gap(h1, "", "omission", "minor", "end"),                      # zero-width at the end
    ]
    s2 = [span(h2, "<script>", "addition", "critical", ""), span(h2, "ok", "spelling", "minor", "okay", confidence=0.5)]
    refs = ["The president head of Tokyo said: “We must” Tokyo!", "He said and ok", "All fine here", "Totally wrong"]
    segs_a = [
        SegmentResult("1", h1, [refs[0]], {"chrf": 41.5, "ter": 70.0}, spans=s1, mqm=9.2),
        SegmentResult("2", h2, [refs[1], "Er sagte und okay"], {"chrf": 20.25, "ter": 90.0}, spans=s2, mqm=11.0),
        SegmentResult("3", h3, [refs[2]], {"chrf": 88.0, "ter": 10.0}, spans=[], mqm=0.0),
    ]
    segs_b = [SegmentResult("1", h4, [refs[3]], {"chrf": 55.0, "ter": 40.0},
                            spans=[span(h4, "falsch", "mistranslation", "major", "wrong")], mqm=5.0)]
    metrics = {"chrf": MetricScore(50.0, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
               "ter": MetricScore(60.0, "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0",
                                  higher_is_better=False, ci=[50.0, 70.0])}
    return Result([SystemResult("sys <A> & \"co\"", metrics, segs_a), SystemResult("Ünï-B", metrics, segs_b)],
                  notes=["note with <b>markup</b> & *stars*"])


class Dom(HTMLParser):
    """Just enough of a DOM for the report: rows of the segment table with their marks and attributes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._stack: list[tuple[str, dict]] = []
        self._mark: dict | None = None
        self._cell: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "tr" and (a.get("id") or "").startswith("row-"):
            self.rows.append({"attrs": a, "marks": [], "omissions": [], "mt": ""})
        elif tag == "td" and self.rows and "mt" in (a.get("class") or "").split():
            self._cell = self.rows[-1]
        elif tag in ("mark", "ins") and self._cell is not None:
            self._mark = {"class": (a.get("class") or "").split(), "title": a.get("title"), "text": ""}
            self._cell["marks" if tag == "mark" else "omissions"].append(self._mark)
        if tag not in ("meta", "br", "img", "input", "rect"):
            self._stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("mark", "ins"):
            self._mark = None
        if tag == "td":
            self._cell = None
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1][0] == "title" and len(self._stack) >= 2 and self._stack[-2][0] == "head":
            self.title += data
        if self._mark is not None:
            self._mark["text"] += data
        if self._cell is not None and self._mark is None:
            self._cell["mt"] += data
        elif self._cell is not None and self._mark is not None and "omission" not in self._mark["class"]:
            self._cell["mt"] += data


# --- spans cut in Python -------------------------------------------------------------------------------------------

def test_pieces_cover_the_text_at_every_boundary() -> None:
    r = sample_result()
    seg = r.systems[0].segments[0]
    spans = check_spans(seg, "a")
    ps = pieces(seg.hyp, spans)
    assert "".join(p.text for p in ps if p.kind != "omission") == seg.hyp
    assert ps[0].kind == "error" and ps[0].text == "Der" and ps[0].opens
    overlap = [p for p in ps if len(p.spans) == 2]
    assert [p.text for p in overlap] == ["one in"]
    assert [p.text for p in ps if p.kind == "error"] == ["Der", "number ", "one in", " Tōkyō", "sagte", ":", "."]
    kinds = [p.kind for p in ps]
    assert kinds[-2:] == ["error", "omission"]  # the final "." then the omission anchored after it
    tokyo = kinds.index("omission")
    assert ps[tokyo + 1].text.startswith("東京")
    # "sagte" and ":" touch: two pieces, each opening its own span
    i = [p.text for p in ps].index("sagte")
    assert ps[i + 1].text == ":" and ps[i].opens and ps[i + 1].opens


def test_pieces_of_empty_text_and_no_spans() -> None:
    assert [p.kind for p in pieces("", [Span(0, 0, "", "omission", "major", "x")])] == ["omission"]
    assert pieces("abc", []) == [pieces("abc", [])[0]] and pieces("abc", [])[0].text == "abc"


@pytest.mark.parametrize("bad, message", [
    (Span(3, 99, "x", "c", "minor"), "fall outside the MT"),
    (Span(-1, 2, "x", "c", "minor"), "fall outside the MT"),
    (Span(2, 1, "", "c", "minor"), "fall outside the MT"),
    (Span(0, 3, "xyz", "c", "minor"), "is not the MT"),
])
def test_spans_that_do_not_point_into_the_mt_are_input_errors(bad: Span, message: str) -> None:
    seg = SegmentResult("7", "abcdef", ["abc"], {}, spans=[bad])
    with pytest.raises(InputError, match=message):
        check_spans(seg, "s")
    with pytest.raises(InputError, match="segment '7'"):
        render_errors(Result([SystemResult("s", {}, [seg])]))


def test_tokens_are_distinct_and_safe() -> None:
    t = tokens(["chrf", "chrf++", "Word order", "word-order", "<x>", "", "Ünï-B", "東京"])
    assert t == {"chrf": "chrf", "chrf++": "chrfpp", "Word order": "word-order", "word-order": "word-order-2",
                 "<x>": "x", "": "x-2", "Ünï-B": "uni-b", "東京": "x-3"}


# --- HTML without a browser ----------------------------------------------------------------------------------------

def test_html_marks_spans_by_severity_and_escapes_everything() -> None:
    r = sample_result()
    page = render_errors(r)
    dom = Dom(page)
    assert dom.title == TITLE
    assert len(dom.rows) == 4
    # rows start worst chrf first within each system: 20.25 then 41.5 then 88 for the first system
    assert [row["attrs"]["data-k-chrf"] for row in dom.rows] == ["20.25", "41.5", "88.0", "55.0"]
    row1 = next(row for row in dom.rows if row["attrs"]["data-k-chrf"] == "41.5")
    assert row1["mt"] == r.systems[0].segments[0].hyp
    marks = [(m["text"], [c for c in m["class"] if c.startswith("sev-")][0]) for m in row1["marks"]]
    assert marks == [("Der", "sev-minor"), ("number ", "sev-major"), ("one in", "sev-major"), (" Tōkyō", "sev-minor"),
                     ("sagte", "sev-minor"), (":", "sev-minor"), (".", "sev-minor")]
    overlap = row1["marks"][2]
    assert {"overlap", "cat-mistranslation", "cat-word-order"} <= set(overlap["class"])
    assert overlap["title"] == ("major mistranslation: “number one in” → “head of”\n"
                                "minor word order: “one in Tōkyō” → “in Tokyo”")
    assert [(o["text"], o["class"]) for o in row1["omissions"]] == [
        ("‸Tokyo", ["omission", "sev-major", "cat-omission"]), ("‸end", ["omission", "sev-minor", "cat-omission"])]
    assert row1["attrs"]["data-errs"] == ("mistranslation:major mistranslation:minor omission:major "
                                          "omission:minor punctuation:minor word-order:minor")
    # hostile text arrives as text: no script, img or handler from the data anywhere in the markup
    row2 = next(row for row in dom.rows if row["attrs"]["data-k-chrf"] == "20.25")
    assert row2["mt"] == XSS_HYP
    assert [t for t, _ in dom.elements].count("script") == 1  # the page's own
    assert not any(t == "img" or "onerror" in a for t, a in dom.elements)
    assert re.search(r'title="critical addition: “&lt;script&gt;” → \(delete\)">&lt;script&gt;</mark>'
                     r"document.title=&#39;pwned&#39;&lt;/script&gt;", page)
    assert "sys &lt;A&gt; &amp; &#34;co&#34;" in page and "note with &lt;b&gt;markup&lt;/b&gt;" in page


def test_html_is_self_contained_and_its_csp_allows_exactly_its_own_script() -> None:
    page = render_errors(sample_result())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    csp = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1))
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)

    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"script-src {sha(script)};" in csp and f"style-src {sha(style)};" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.index("Content-Security-Policy") < page.index("<style>")
    assert " style=" not in page  # inline style attributes would be blocked by the CSP


def test_html_summary_counts_and_corpus_scores() -> None:
    page = render_errors(sample_result())
    # spans by category across both systems: mistranslation minor 2 (Der, sagte) + major 1 + 1 (falsch)
    assert "<title>mistranslation, major: 2</title>" in page
    assert "<title>mistranslation, minor: 2</title>" in page
    assert "<title>punctuation, minor: 2</title>" in page
    assert "<title>addition, critical: 1</title>" in page
    assert "60.00 <small>(50.00–70.00)</small>" in page


def test_histogram_bins_and_stacked_bars() -> None:
    h = charts.histogram("t", [0.0, 9.99, 10.0, 55.0, 100.0, 100.0])
    counts = [int(re.search(r": (\d+) segment", b.tip).group(1)) for b in h.bars]
    assert counts == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert h.bars[0].height == h.bars[-1].height == max(b.height for b in h.bars)
    assert h.bars[1].height == pytest.approx(h.bars[0].height / 2)
    wide = charts.histogram("t", [-50.0, 150.0], bins=4)  # beyond [0, 100]: bins follow the data
    assert [b.tip.split(":")[0] for b in wide.bars] == ["-50–0", "0–50", "50–100", "100–150"]
    c = charts.stacked_hbars("s", [("a", [2, 1]), ("b", [0, 3])], [("sev-major", "major"), ("sev-minor", "minor")])
    assert [(b.css, round(b.width, 6)) for b in c.bars[:2]] == [
        ("sev-major", round(c.bars[2].width * 2 / 3, 6)), ("sev-minor", round(c.bars[2].width / 3, 6))]
    assert c.bars[2].tip == "b, minor: 3"


# --- Markdown --------------------------------------------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _plain(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("text", [
    XSS_HYP, "*a* _b_ **c** `d` [e](f) ![g](h) <i> &amp; | ~~s~~ $x$ \\ # h", "1. not a list", "- nor this",
    "line\nbreak\r\nhere", "Tōkyō 東京 „quotes“",
])
def test_markdown_escape_renders_the_text_verbatim(text: str) -> None:
    rendered = MD.renderInline(escape(text))
    assert _plain(rendered) == re.sub(r"\r\n|\n", " ", text)
    assert not re.search(r"<(?!/?p>)[a-z]", rendered)  # no element came from the text


def test_markdown_marks_spans_in_bold_even_next_to_punctuation() -> None:
    r = sample_result()
    seg1, seg2 = r.systems[0].segments[:2]
    out1 = MD.renderInline(marked(seg1.hyp, seg1.spans))
    assert re.findall(r"<strong>(.*?)</strong>|<b>(.*?)</b>", out1) == [
        ("Der", ""), ("number one in Tōkyō", ""), ("sagte:", ""), ("", ".")]  # "." after 東京: <b>
    assert _plain(out1) == "Der Präsident number one in Tōkyō sagte: „Wir müssen“ ⟨+Tokyo⟩東京.⟨+end⟩"
    out2 = MD.renderInline(marked(seg2.hyp, seg2.spans))
    # "<script>" touches "document": ** cannot close there in CommonMark, so <b> is used
    assert "<b>&lt;script&gt;</b>document.title" in out2 and "<strong>ok</strong>" in out2
    assert _plain(out2) == XSS_HYP


def test_markdown_report_sections_worst_first() -> None:
    md = render_markdown(sample_result())
    rendered = MD.render(md)
    heads = re.findall(r"^### (.* · segment .*)$", md, re.M)
    assert heads == [
        "sys \\<A\\> \\& \"co\" · segment 2 · chrf 20.25, ter 90.00, MQM penalty 11.00",
        "sys \\<A\\> \\& \"co\" · segment 1 · chrf 41.50, ter 70.00, MQM penalty 9.20",
        "sys \\<A\\> \\& \"co\" · segment 3 · chrf 88.00, ter 10.00, MQM penalty 0.00",
        "Ünï-B · segment 1 · chrf 55.00, ter 40.00, MQM penalty 5.00",
    ]
    assert "| sys \\<A\\> \\& \"co\" | 50.00 | 60.00 (50.00–70.00) | 1 | 2 | 7 | 10 |" in md
    assert "- **number one in** → **head of** (mistranslation, major)" in md
    assert "- **ok** → **okay** (spelling, minor, confidence 0.50)" in md
    assert "- missing **Tokyo** at character 54 (omission, major)" in md
    assert "- **\\<script\\>** → *delete* (addition, critical)" in md
    assert "<table>" in rendered and "<script" not in rendered and "<img" not in rendered
    assert "**Reference 2:** Er sagte und okay" in md


# --- JSONL and files -----------------------------------------------------------------------------------------------

def test_write_report_writes_three_files_for_one_stem(tmp_path: Path) -> None:
    r = sample_result()
    for given in ("rep", "rep.html", "rep.md", "rep.jsonl"):
        paths = write_report(r, tmp_path / "out" / given)
        assert paths == [tmp_path / "out" / f"rep{s}" for s in (".html", ".md", ".jsonl")]
    assert report_stem("a/b.v2") == Path("a/b.v2")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rep.html", "rep.jsonl", "rep.md"]
    lines = (tmp_path / "out" / "rep.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert first["system"] == "sys <A> & \"co\"" and first["hyp"] == r.systems[0].segments[0].hyp
    assert first["mqm"] == 9.2 and len(first["spans"]) == 8
    at = first["hyp"].index("東京")
    assert first["spans"][5] == {"start": at, "end": at, "text": "", "category": "omission", "severity": "major",
                                 "ref_text": "Tokyo", "confidence": 1.0}
    assert (tmp_path / "out" / "rep.jsonl").read_text(encoding="utf-8") == to_jsonl(r)


def test_bad_spans_leave_no_partial_report(tmp_path: Path) -> None:
    seg = SegmentResult("1", "abc", ["abc"], {}, spans=[Span(0, 9, "abc", "c", "minor")])
    with pytest.raises(InputError):
        write_report(Result([SystemResult("s", {}, [seg])]), tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


# --- the command -----------------------------------------------------------------------------------------------------

def _files(tmp_path: Path) -> tuple[Path, Path, list[str], list[str]]:
    hyps = ["The cat sat on the mat.", "Er ist <b>nicht</b> da & weg.", "Tōkyō is big."]
    refs = ["The cat sat on a mat.", "He is not there.", "Tokyo is big."]
    h, rf = tmp_path / "mt.txt", tmp_path / "ref.txt"
    h.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    rf.write_text("\n".join(refs) + "\n", encoding="utf-8")
    return h, rf, hyps, refs


def test_report_from_a_saved_result_matches_sacrebleu(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    h, rf, hyps, refs = _files(tmp_path)
    saved = tmp_path / "result.json"
    assert main(["score", "-t", str(h), "-r", str(rf), "-m", "chrf", "ter", "-f", "json", "-o", str(saved),
                 "--workers", "1"]) == 0
    assert main(["report", "-i", str(saved), "-o", str(tmp_path / "rep.html")]) == 0
    page = (tmp_path / "rep.html").read_text(encoding="utf-8")
    dom = Dom(page)
    chrf = {h_: sacrebleu.sentence_chrf(h_, [r_]).score for h_, r_ in zip(hyps, refs)}
    assert sorted(row["mt"] for row in dom.rows) == sorted(hyps)
    for row in dom.rows:
        assert float(row["attrs"]["data-k-chrf"]) == pytest.approx(chrf[row["mt"]], abs=1e-9)
    corpus = sacrebleu.corpus_chrf(hyps, [refs]).score
    assert f"<td class=\"num\">{corpus:.2f}</td>" in page
    assert "Er ist &lt;b&gt;nicht&lt;/b&gt; da &amp; weg." in page
    assert (tmp_path / "rep.jsonl").read_text(encoding="utf-8") == to_jsonl(Result.from_dict(json.loads(
        saved.read_text(encoding="utf-8"))))
    assert "wrote " in capsys.readouterr().err


def test_report_from_inputs_without_spans(tmp_path: Path) -> None:
    h, rf, hyps, refs = _files(tmp_path)
    assert main(["report", "-t", str(h), "-r", str(rf), "-m", "bleu", "--spans", "none", "-o", str(tmp_path / "x"),
                 "--workers", "1"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["hyp"] for r in rows] == hyps and all("spans" not in r for r in rows)
    for r_, h_, ref in zip(rows, hyps, refs):
        assert r_["scores"]["bleu"] == pytest.approx(sacrebleu.sentence_bleu(h_, [ref]).score, abs=1e-9)
    assert "no error spans in this result" in (tmp_path / "x.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not JSON"),
    ('{"schema": "other/2", "systems": []}', "schema is 'other/2'"),
    ('{"schema": "evalkit.result/1", "systems": [{"name": "s", "segments": [{"id": "1"}]}]}', "has no 'hyp'"),
    ('{"schema": "evalkit.result/1", "systems": [{"name": "s", "segments": [{"id": "1", "hyp": "ab", '
     '"spans": [{"start": 0, "end": 5, "text": "ab", "category": "c", "severity": "minor"}]}]}]}', "outside the MT"),
])
def test_report_input_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, content: str | None,
                                          message: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", "-i", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalkit: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.html").exists()


def test_report_refuses_a_saved_result_mixed_with_inputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    h, rf, _, _ = _files(tmp_path)
    assert main(["report", "-i", str(tmp_path / "r.json"), "-t", str(h), "-r", str(rf)]) == 2
    assert "do not also give -t, -r" in capsys.readouterr().err


def test_report_with_no_inputs_reports_on_the_default_run(tmp_path: Path) -> None:
    pytest.importorskip("evalkit.spans.pipeline", reason="the span finder (evalkit.spans.pipeline) is not present")
    from evalkit.config import DEFAULT_CONFIG, load_config
    from evalkit.io.loader import load_testset

    assert main(["report", "-o", str(tmp_path / "default"), "--workers", "1"]) == 0
    conf = load_config(DEFAULT_CONFIG, "score")
    ts = load_testset(conf["hyp"], conf["ref"], None, input_format=conf["input_format"], names=conf["names"])
    rows = [json.loads(x) for x in (tmp_path / "default.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["hyp"] for r in rows] == ts.systems["seed-mt"] and all("spans" in r for r in rows)
    dom = Dom((tmp_path / "default.html").read_text(encoding="utf-8"))
    assert len(dom.rows) == len(ts)
    n_marks = sum(len(row["marks"]) + len(row["omissions"]) for row in dom.rows)
    assert n_marks >= sum(1 for r in rows for s in r["spans"])  # overlaps split a span into several marks
    for row in dom.rows:
        assert row["mt"] in ts.systems["seed-mt"]
    # the same report from a saved `evalkit score --spans post-edit -f json`, byte for byte
    assert main(["score", "--spans", "post-edit", "-f", "json", "-o", str(tmp_path / "r.json"), "--workers", "1"]) == 0
    assert main(["report", "-i", str(tmp_path / "r.json"), "-o", str(tmp_path / "saved")]) == 0
    for suffix in (".html", ".md", ".jsonl"):
        assert (tmp_path / f"saved{suffix}").read_bytes() == (tmp_path / f"default{suffix}").read_bytes()


def test_result_from_dict_round_trips() -> None:
    r = sample_result()
    d = json.loads(json.dumps(r.to_dict()))
    assert Result.from_dict(d).to_dict() == d
    d["systems"][0]["segments"][0]["id"] = 7
    assert Result.from_dict(d).systems[0].segments[0].id == "7"


def test_span_signature_reaches_every_report(tmp_path: Path) -> None:
    result = sample_result()
    sig = "mode:reference|align:ter-shifts|span-tagger:abc|threshold:0.14|<b>"
    for s in result.systems:
        s.span_signature = sig
    page = render_errors(result)
    assert f"<code>{html.escape(sig)}</code>" in page and "<b>" not in page.split("<code>mode:")[1].split("</code>")[0]
    assert f"Spans found with `{sig}`" in render_markdown(result)
    again = Result.from_dict(json.loads(json.dumps(result.to_dict())))
    assert [s.span_signature for s in again.systems] == [sig, sig]
