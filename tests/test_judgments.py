"""Human-judgment sets for training learned metrics: counts, rows checked against the raw files, dedup
rules, the WMT22 DA join, MQM weights against the released scores, and that WMT23 is never opened.

Each test loads one language pair of one set (a few seconds at most); the whole table is
``bench/check_judgments.py``.
"""
from __future__ import annotations

import gzip
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import SHARED_DATA, require  # noqa: E402
from sacrebleu.metrics import CHRF as SacreCHRF

from evalkit.errors import InputError
from evalkit.neural.judgments import (
    FOLDERS,
    SETS,
    Judgment,
    alignment_check,
    load_judgments,
)
from evalkit.neural.judgments.checks import sentence_chrf
from evalkit.neural.judgments.core import tsv_rows
from evalkit.neural.judgments.mqm import mqm_weight, unescape_quotes, vote_text

@pytest.fixture(scope="module")
def data() -> Path:
    return require(SHARED_DATA / "wmt-qe-2022")


def load(data: Path, name: str, lp: str, counts: Counter | None = None) -> list[Judgment]:
    return load_judgments(data.parent, [name], [lp], counts=counts)


def find(rows: list[Judgment], **kw: str) -> Judgment:
    hits = [j for j in rows if all(getattr(j, k) == v for k, v in kw.items())]
    assert len(hits) == 1, (kw, len(hits))
    return hits[0]


# --- WMT22 DA ------------------------------------------------------------------------------------

def test_wmt22_da_zh_en_joins_through_the_sid_map(data: Path) -> None:
    counts: Counter[str] = Counter()
    rows = load(data, "wmt22-da", "zh-en", counts)
    # 20,820 DA rows; one is of an empty output line (skipped and counted)
    assert len(rows) == 20819 and counts["wmt22-da:zh-en: skipped: empty hyp"] == 1
    # ad-seg-scores-zh-en.csv: "JDExploreAcademy.6 618 93.5 0.473092529952429 2"; sid-to-line: 618 -> line 899
    j = find(rows, system="JDExploreAcademy", segment="wmt22-da:zh-en:899")
    assert j.label == 0.473092529952429 and j.scale == "da-z" and j.group == "wmt22-da:zh-en"
    assert (j.src, j.hyp, j.refs) == ("那么，系统是否可看到新订单", "So, can the system see the new order",
                                      ("So, can the system see new orders?",))
    # HUMAN-B is reference B judged as a system: its text is ref.B's line, its reference ref.A's
    txt = data.parent / "wmt22-general-zh-en" / "txt" / "references"
    ref_a, ref_b = ((txt / f"generaltest2022.zh-en.ref.{x}.en").read_text("utf-8").split("\n") for x in "AB")
    human = [j for j in rows if j.system == "HUMAN-B"]
    assert len(human) == 1586
    for j in human:
        i = int(j.segment.rsplit(":", 1)[1]) - 1
        assert (j.hyp, j.refs) == (ref_b[i], (ref_a[i],))


def test_wmt22_da_map_beats_the_sid_as_line_join(data: Path) -> None:
    """tau of sentence chrF with Z.SCR on every fourth DA row: through the map, and SID - 1 read as a line."""
    rows = load(data, "wmt22-da", "zh-en")
    assert alignment_check(rows[::4])["wmt22-da:zh-en"]["tau"] > 0.15
    # The old join, built here independently from the raw files.
    txt = data.parent / "wmt22-general-zh-en" / "txt"
    files = {p.name.split(".")[-2]: p.read_text(encoding="utf-8").split("\n")
             for p in (txt / "system-outputs").glob("generaltest2022.zh-en.hyp.*.en")}
    files["HUMAN-B"] = (txt / "references/generaltest2022.zh-en.ref.B.en").read_text(encoding="utf-8").split("\n")
    ref = (txt / "references/generaltest2022.zh-en.ref.A.en").read_text(encoding="utf-8").split("\n")
    scores = data.parent / "wmt22-general-zh-en/humaneval/DA/newstest2022-toen/ad-seg-scores-zh-en.csv"
    wrong = []
    for line in scores.read_text(encoding="utf-8").split("\n")[1::4]:
        if line.strip():
            system, sid, _, z, _ = line.split()
            hyp = files[system.rsplit(".", 1)[0]][int(sid) - 1]
            wrong.append(Judgment("sid-1", "zh-en", sid, system, "", hyp, (ref[int(sid) - 1],), None, float(z), "da-z", ""))
    assert alignment_check(wrong)["sid-1:zh-en"]["tau"] < 0.1


def test_wmt22_da_cs_en_uses_reference_b(data: Path) -> None:
    rows = load(data, "wmt22-da", "cs-en")
    assert len(rows) == 16008 and Counter(j.system for j in rows)["HUMAN-C"] == 1285
    refs_b = (data.parent / "wmt22-da-toen/txt/references/generaltest2022.cs-en.ref.B.en").read_text("utf-8").split("\n")
    refs_c = set((data.parent / "wmt22-da-toen/txt/references/generaltest2022.cs-en.ref.C.en").read_text("utf-8").split("\n"))
    for j in rows[:2000]:
        assert j.refs == (refs_b[int(j.segment.rsplit(":", 1)[1]) - 1],)
    assert all(j.hyp in refs_c for j in rows if j.system == "HUMAN-C")


# --- MQM -----------------------------------------------------------------------------------------

def test_mqm_weights_reproduce_googles_ted_scores(data: Path) -> None:
    """Every (system, segment) score of google-mqm-ted's avg_seg_scores from its error rows."""
    folder = data.parent / "google-mqm-ted" / "ted" / "zhen"
    per_rater: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _, (system, _, _, seg, rater, _, _, cat, sev) in tsv_rows(folder / "mqm_ted_zhen.tsv", ("system", "doc")
                                                                  , keep=9):
        per_rater[({"ref": "ref-A", "refB": "ref-B"}.get(system, system), seg)][rater] += mqm_weight(cat, sev)
    released = {}
    for line in (folder / "mqm_ted_zhen.avg_seg_scores.tsv").read_text().split("\n")[1:]:
        if line and "None" not in line:
            system, score, seg = line.split()
            released[(system, seg)] = float(score)
    assert len(released) == len(per_rater) == 7935
    for key, raters in per_rater.items():
        assert -sum(raters.values()) / len(raters) == pytest.approx(released[key], abs=1e-6)


def test_mqm_weights_reproduce_the_organisers_newstest2021_en_de_scores(data: Path) -> None:
    from evalkit.neural.judgments.core import csv_rows
    base = data / "train-dev_data"
    sums: dict[tuple[str, str, str, str], float] = defaultdict(float)
    tsv = base / "task1_word-level/train/en-de_mqm/en-de-train-2021-news/mqm-newstest2021_ende.tsv.gz"
    for _, (system, doc, _, seg, rater, _, _, cat, sev) in tsv_rows(tsv, ("system",), keep=9):
        sums[(system.removeprefix("hyp."), doc, seg, rater)] += mqm_weight(cat, sev)
    n = 0
    for _, r in csv_rows(base / "task1_mqm/train/en-de/en-de-mqm.2021.csv.gz", ("system", "doc", "seg_id", "rater", "score")):
        assert -sums[(r["system"], r["doc"], r["seg_id"], r["rater"])] == pytest.approx(float(r["score"]), abs=1e-9)
        n += 1
    assert n == 6851


def test_mqm_weight_rules() -> None:
    assert mqm_weight("Non-translation!", "Major") == 25 and mqm_weight("Non_translation", "Major") == 25
    assert mqm_weight("Fluency/Punctuation", "Minor") == 0.1 and mqm_weight("Punctuation", "minor") == 0.1
    assert mqm_weight("Fluency/Punctuation", "Major") == 5 and mqm_weight("Lexical Selection", "critical") == 10
    assert mqm_weight("Style/Awkward", "Neutral") == 0 and mqm_weight("No-error", "no-error") == 0


def test_text_vote_and_quote_unescaping() -> None:
    clean = "State-owned enterprises entered the area of southern Jiangxi."
    garbled = "State-owned enterprises entered the area of southern JiangxiState-owned enterprises entered"
    # rater r2's rows are all garbled (and more numerous); two raters saw the clean text
    assert vote_text({clean: {"r4", "r6"}, garbled: {"r2", "r4"}, clean + " ": {"r2"}}) is None
    assert vote_text({clean: {"r4", "r6"}, garbled: {"r2"}}) == clean
    assert vote_text({clean: {"r1"}, garbled: {"r2"}}) is None
    assert unescape_quotes('"Другой работник сказал: ""Павианы были найдены."') == 'Другой работник сказал: "Павианы были найдены.'
    assert unescape_quotes('""Education workers,"" he said.') == '"Education workers," he said.'
    assert unescape_quotes('"Obwohl Fortschritte gemacht wurden."') == '"Obwohl Fortschritte gemacht wurden."'


def test_news_mqm_en_ru_rows(data: Path) -> None:
    counts: Counter[str] = Counter()
    rows = load(data, "news-mqm", "en-ru", counts)
    # 527 segments x 16 systems; 5 items whose raters saw different MT texts, none by a majority
    assert len(rows) == 8427 == 527 * 16 - 5 and len({j.segment for j in rows}) == 527
    assert counts["news-mqm:en-ru: skipped: newstest2021 raters saw different texts, none by a majority"] == 5
    # mqm-newstest2021_enru.tsv: one rater, Punctuation/minor (0.1) + Other POS omitted/critical (10), CSV-escaped MT
    j = find(rows, system="Facebook-AI", segment="news-mqm:en-ru:newstest2021:thesun.co.uk.114323:8")
    assert j.label == pytest.approx(-10.1) and j.scale == "mqm" and j.group == "news-mqm:en-ru:newstest2021"
    assert j.hyp == 'Другой работник сказал: "Павианы были найдены с ножами и отвертками.'
    # the reference is ref.A's rated text; ref.A's own rows are scored against ref.B
    ref_a = find(rows, system="ref.A", segment=j.segment)
    assert j.refs == (ref_a.hyp,) and ref_a.refs == (find(rows, system="ref.B", segment=j.segment).hyp,)
    assert all(j.post_edit is None for j in rows)


def test_news_mqm_en_de_texts_and_references(data: Path) -> None:
    counts: Counter[str] = Counter()
    rows = load(data, "news-mqm", "en-de", counts)
    by_set = Counter(j.group for j in rows)
    # 14,180 (system, segment) items in 2020, of which 146 show the raters no majority text; 9,909 in 2021
    assert by_set == {"news-mqm:en-de:newstest2020": 14180 - 146, "news-mqm:en-de:newstest2021": 9909}
    # Human-P paraphrases a reference: no reference for it
    assert all(not j.refs for j in rows if j.system == "Human-P")
    # newstest2021: src, MT and the reference as the organisers' CSV has them (Google's TSV writes "10000")
    j = find(rows, system="Nemo", segment="news-mqm:en-de:newstest2021:abcnews.420140:1")
    assert j.src == "UN says thousands of anti-Pakistan militants in Afghanistan"
    assert j.refs == ("UN sagt, dass Tausende von anti-pakistanischen Kämpfern in Afghanistan sind",)
    assert any("10,000" in j.src for j in rows if j.group.endswith("2021"))
    assert not any("TED" in j.segment or "talk." in j.segment for j in rows)


def test_ted_mqm_counts_once_and_uses_the_other_reference(data: Path) -> None:
    rows = load(data, "ted-mqm", "zh-en")
    assert len(rows) == 7935 and len({j.segment for j in rows}) == 529  # google-mqm-ted only, not its wmt-qe copy
    # avg_seg_scores: "DIDI-NLP -5.000000 95" (one Accuracy/Mistranslation Major)
    j = find(rows, system="DIDI-NLP", segment="ted-mqm:zh-en:95")
    assert j.label == -5.0 and j.hyp.endswith("I am also very happy to give you Play some of the sounds we predicted.")
    assert j.refs[0].startswith("So in this ambition to capture songs from the universe,")
    ref_a = find(rows, system="ref-A", segment=j.segment)
    assert ref_a.hyp == j.refs[0] and ref_a.refs == (find(rows, system="ref-B", segment=j.segment).hyp,)
    en_ru = load(data, "ted-mqm", "en-ru")
    assert len(en_ru) == 7680 - 4 and all(not j.refs for j in en_ru if j.system == "ref.A")
    assert sum(1 for j in en_ru if j.refs) == 7676 - 512


def test_biomqm_dev_documents_only(data: Path) -> None:
    from evalkit.spans.train import biomqm_docs
    counts: Counter[str] = Counter()
    rows = load(data, "biomqm", "en-es", counts)
    assert len(rows) == 711 and counts["biomqm:en-es: skipped: record text belongs to another segment"] == 190
    dev = biomqm_docs(data.parent / "bio-mqm/data/doc_id_splits.json", "en-es", "dev")
    assert {j.segment.split(":")[2] for j in rows} <= dev
    # TMT_run1.json, en_es_doc5.txt SEG_ID 2: three Minor errors
    j = find(rows, system="TMT_run1", segment="biomqm:en-es:doc5:2")
    assert j.label == -3.0
    assert j.hyp == "La causa suele ser desconocida, aunque a veces est relacionada con la malformacin del conducto biliar."
    assert j.refs == ("La causa suele ser desconocida, aunque a veces está relacionada con la malformación del conducto biliar.",)
    assert all(not j.refs for j in rows if j.system.startswith("reference"))


# --- ESA -----------------------------------------------------------------------------------------

def test_wmt24_esa_en_cs_rows(data: Path) -> None:
    counts: Counter[str] = Counter()
    rows = load(data, "wmt24-esa", "en-cs", counts)
    # README: 4,767 en-cs ratings after the organisers' filters, 15 of them repeats
    assert len(rows) == 4752 and counts["wmt24-esa:en-cs: repeated ratings (the later end_time kept)"] == 15
    assert len({j.segment for j in rows}) == 297 and all(0 < int(j.segment.rsplit(":", 1)[1]) < 998 for j in rows)
    assert all(not j.refs for j in rows if j.system == "refA") and all(j.refs for j in rows if j.system != "refA")
    assert len({(j.system, j.segment) for j in rows}) == len(rows)  # one rating per item: nothing averaged


def test_wmt24_esa_en_ja_row(data: Path) -> None:
    rows = load(data, "wmt24-esa", "en-ja")
    # wave2: "engjpn7904,NTTSU,688,TGT,eng,jpn,98,test-en-speech_-uigLE6EI1g_000,..."
    j = find(rows, system="NTTSU", segment="wmt24-esa:en-ja:688")
    txt = data.parent / "wmt24-esa" / "txt"
    assert (j.label, j.scale, j.group) == (98.0, "esa", "wmt24-esa:en-ja:engjpn7904")
    assert j.hyp == (txt / "system-outputs/en-ja/NTTSU.txt").read_text("utf-8").split("\n")[688]
    assert j.refs == ((txt / "references/en-ja.refA.txt").read_text("utf-8").split("\n")[688],)


# --- QE sets -------------------------------------------------------------------------------------

def test_mlqe_da_and_hter_share_rows_and_segments(data: Path) -> None:
    da, hter = load(data, "mlqe-da", "en-de"), load(data, "mlqe-hter", "en-de")
    assert len(da) == 9000 and len(hter) == 8000  # train 7000 + dev 1000 (+ test20 1000 without post-edits)
    first = find(da, segment="mlqe-da:en-de:train:0")
    assert first.src == "José Ortega y Gasset visited Husserl at Freiburg in 1934."
    assert first.hyp == "1934 besuchte José Ortega y Gasset Husserl in Freiburg."
    assert first.post_edit == "1934 besuchte José Ortega y Gasset Husserl in Freiburg ."
    assert first.label == 1.1194085809023286 and not first.refs
    h = find(hter, segment="mlqe-da:en-de:train:1")
    assert h.label == pytest.approx(1 - 0.157895) and h.scale == "hter"
    assert {j.segment for j in hter} <= {j.segment for j in da}
    assert sum(1 for j in da if j.post_edit is None) == 1000


def test_qe22_da_dedupe_and_repeats(data: Path) -> None:
    counts: Counter[str] = Counter()
    ru = load_judgments(data.parent, ["qe22-da", "mlqe-da"], ["ru-en"], counts=counts)
    qe, mlqe = [j for j in ru if j.dataset == "qe22-da"], [j for j in ru if j.dataset == "mlqe-da"]
    assert len(qe) == 999 and counts["qe22-da:ru-en: skipped: same src and hyp as a row of another set"] == 1
    assert not {(j.src, j.hyp) for j in qe} & {(j.src, j.hyp) for j in mlqe}
    km = load(data, "qe22-da", "km-en")
    assert len(km) == 990 + 992 and {j.group for j in km} == {"qe22-da:km-en:dev2022", "qe22-da:km-en:test2022"}
    gold = find(km, segment="qe22-da:km-en:test2022:0")
    assert gold.label == 1.2088273071361246
    assert gold.hyp == "It is true that Khmer society has been influenced by many foreigners, but Cambodians are reluctant to embrace it."
    cs = find(load(data, "qe22-da", "en-cs"), segment="qe22-da:en-cs:dev2022:0")  # untokenised text
    assert cs.src == ("British tradition for a formal wedding requires the bridegroom, male ushers, "
                      "and close male family to wear morning suits.") and cs.label == 1.1464925537440045


def test_qe22_mqm_merges_repeats_and_dedupes_against_news(data: Path) -> None:
    counts: Counter[str] = Counter()
    both = load_judgments(data.parent, ["qe22-mqm", "news-mqm", "ted-mqm"], ["zh-en"], counts=counts)
    rows = [j for j in both if j.dataset == "qe22-mqm"]
    assert len(rows) == 1019 - 15 + 505 and counts["qe22-mqm:zh-en: repeated items merged (mean label)"] == 15
    j = find(rows, src="广东海陆空积极应对国庆黄金周运输-中新网")
    assert j.label == (37.5 + 100.0) / 2 and j.scale == "mqm-norm"
    assert not {(j.src, j.hyp) for j in rows} & {(j.src, j.hyp) for j in both if j.dataset != "qe22-mqm"}
    de = load(data, "qe22-mqm", "en-de")
    first = find(de, segment="qe22-mqm:en-de:dev2022:0")
    assert first.label == 54.54545454545455 and first.src.startswith("Wayde Sims shooting: Police arrest suspect")


# --- across sets ---------------------------------------------------------------------------------

ONE_PAIR = {"wmt22-da": "uk-en", "ted-mqm": "en-de", "news-mqm": "en-ru", "wmt24-esa": "en-hi", "mlqe-da": "si-en",
            "mlqe-hter": "si-en", "biomqm": "en-es", "qe22-da": "en-mr", "qe22-mqm": "en-ru"}


@pytest.fixture(scope="module")
def sample(data: Path) -> tuple[list[Judgment], set[Path]]:
    """One pair of every set, and every file opened while reading them (a Python audit hook)."""
    opened: set[Path] = set()
    active = [True]

    def hook(event: str, args: tuple) -> None:
        if active[0] and event == "open" and isinstance(args[0], (str, Path)):
            opened.add(Path(args[0]).resolve())

    sys.addaudithook(hook)
    try:
        rows = [j for name, lp in ONE_PAIR.items() for j in load(data, name, lp)]
    finally:
        active[0] = False
    return rows, opened


def test_every_set_is_covered_and_labels_are_finite(sample: tuple[list[Judgment], set[Path]]) -> None:
    rows, _ = sample
    assert {j.dataset for j in rows} == set(SETS)
    assert all(j.label == j.label and abs(j.label) < 1e6 for j in rows)
    assert all(j.hyp.strip() and j.src.strip() for j in rows)
    segments: dict[str, set[str]] = defaultdict(set)
    for j in rows:
        assert j.segment.startswith(f"{j.dataset}:{j.lp}:") or j.dataset == "mlqe-hter"
        assert j.group.startswith(f"{j.dataset}:{j.lp}")
        segments[j.segment].add(j.src)
    assert all(len(srcs) == 1 for srcs in segments.values())  # a segment key names one source


def test_hyp_equal_to_its_reference_is_rare(sample: tuple[list[Judgment], set[Path]]) -> None:
    """A judged reference never gets itself (the readers' tests check which file each side comes from);
    an MT output can still read exactly like the reference (a short segment): a real, perfect translation."""
    rows, _ = sample
    assert sum(1 for j in rows if j.hyp in j.refs) < 0.03 * len(rows)


def test_no_wmt23_file_is_ever_opened(sample: tuple[list[Judgment], set[Path]], data: Path) -> None:
    _, opened = sample
    root = data.parent.resolve()
    used = {p.relative_to(root).parts[0] for p in opened if root in p.parents}
    assert used and used <= set(FOLDERS) and not any("wmt23" in part for p in opened for part in p.parts)
    assert "wmt23-general-mqm" not in FOLDERS


def test_alignment_check_uses_sacrebleu_chrf_and_reports_sets_without_text() -> None:
    hyps = ["The cat sat on the mat.", "A dog barked.", "Completely unrelated words here."]
    refs = ["The cat was sitting on the mat.", "The dog barked loudly.", "The cat was sitting on the mat."]
    chrf = SacreCHRF()
    assert sentence_chrf(hyps, refs) == pytest.approx([chrf.sentence_score(h, [r]).score for h, r in zip(hyps, refs)])
    rows = [Judgment("x", "en-de", f"x:en-de:{i}", "s", "src", h, (r,), None, float(3 - i), "mqm", "x:en-de")
            for i, (h, r) in enumerate(zip(hyps, refs))]
    rows += [Judgment("y", "en-cs", f"y:en-cs:{i}", "s", "src", h, (), None, 0.0, "da-z", "y:en-cs") for i, h in enumerate(hyps)]
    check = alignment_check(rows, floor=True)
    assert check["x:en-de"]["tau"] == pytest.approx(1.0) and check["x:en-de"]["n_compared"] == 3
    assert check["y:en-cs"] == {"n": 3}
    assert set(alignment_check(rows, by_group=True)) == {"x:en-de", "y:en-cs"}


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown judgment set 'wmt23'"):
        load_judgments(tmp_path, ["wmt23"])
    waves = tmp_path / "wmt24-esa" / "humeval"
    waves.mkdir(parents=True)
    (waves / "esa_generalMT2024_wave2.csv").write_text("a,b,c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"esa_generalMT2024_wave2\.csv:1: expected 12 fields, got 3"):
        load_judgments(tmp_path, ["wmt24-esa"])
    bad = tmp_path / "bad.tsv.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as f:
        f.write("SID\tline\tdoc_id\tseg_in_doc\n1\t2\tdoc\t1\n2\t3\n")
    with pytest.raises(InputError, match=r"bad\.tsv\.gz:3: expected 4 tab-separated fields, got 2"):
        list(tsv_rows(bad, ("SID", "line", "doc_id", "seg_in_doc")))
