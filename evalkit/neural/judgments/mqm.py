"""MQM sets: scores from error rows with one weighting, and the released text recovered from them.

Weights (Freitag et al. 2021, the scheme behind Google's released segment scores; reproduced exactly
on ``google-mqm-ted`` and on the organisers' ``en-de-mqm.2021.csv``): Major 5, Major Non-translation 25,
Minor 1, Minor punctuation 0.1, Neutral and no-error 0, and Critical 10 (en-ru and BioMQM only; MQM's
usual critical weight). Errors marked on the source side count like any other, as in Google's scores.
A rater's segment score is minus the sum of its weights; a (system, segment) label is the mean over
raters (higher is better).

The WMT error TSVs (``wmt-qe-2022/.../task1_word-level/train``) repeat the MT once per error row with
the span marked ``<v>…</v>``. Some files CSV-escape quotes (undone here), and the marking is
unreliable: omissions insert the missing words, and many 2020 rows duplicate or drop text (a fifth of
the en-de and two fifths of the zh-en items show more than one text). The MT of a (system, segment)
is the unmarked text most of its raters saw; where variants tie the text is unknown, and the item is
skipped and counted. Segments are ``(doc, doc_id)``, the one id consistent within every file (``seg_id``
is -1 for en-ru and numbers en-de newstest2021 twice).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.judgments import strip_system_id
from evalkit.io.mqm import _bio_records
from evalkit.io.mqm_ted import read_ted_mqm, strip_marks
from evalkit.neural.judgments.core import Judgment, Tally, csv_rows, tsv_rows, wanted

SEVERITIES = ("no-error", "neutral", "minor", "major", "critical")


def mqm_weight(category: str, severity: str) -> float:
    """The weight of one error row (see the module doc)."""
    sev = severity.strip().lower()
    cat = category.strip().lower().replace("_", "-")
    if sev == "major":
        return 25.0 if cat.startswith("non-translation") else 5.0
    if sev == "minor":
        return 0.1 if cat.split("/")[-1] == "punctuation" else 1.0
    if sev == "critical":
        return 10.0
    return 0.0


def vote_text(raters: dict[str, set[str]]) -> str | None:
    """The text more raters (or files) show than any other, or None when two variants tie (it is unknown)."""
    (first, n1), *rest = sorted(((t, len(r)) for t, r in raters.items()), key=lambda x: -x[1])[:2]
    return None if rest and rest[0][1] == n1 else first


@dataclass(frozen=True)
class TSVSet:
    """One WMT MQM error TSV: where it is and who its human translators are."""

    dataset: str
    lp: str
    testset: str
    path: str                       # under wmt-qe-2022/train-dev_data/task1_word-level/train/
    standard: str                   # the human translation used as the reference
    alternate: str | None           # the reference of the standard's own rows
    dependent: tuple[str, ...] = ()  # human outputs derived from a reference: no reference given
    ref_csv: str | None = None      # a release CSV (task1_mqm/train/) whose ``ref`` column is the standard
    csv_ids: bool = False           # its (system, doc, doc_id) are the TSV's: take src, MT and ref from it


_W = "wmt-qe-2022/train-dev_data/task1_word-level/train"
_Q = "wmt-qe-2022/train-dev_data/task1_mqm/train"

# Human-P is Freitag et al.'s paraphrase of a reference, so neither reference is independent of it.
NEWS_TSVS = (
    TSVSet("news-mqm", "en-de", "newstest2020", "en-de_mqm/en-de-train-2020/mqm_newstest2020_ende.tsv.gz",
           "Human-A", "Human-B", ("Human-P",)),
    TSVSet("news-mqm", "zh-en", "newstest2020", "zh-en_mqm/zh-en-train-2020/mqm_newstest2020_zhen.tsv.gz",
           "Human-A", "Human-B"),
    TSVSet("news-mqm", "en-de", "newstest2021", "en-de_mqm/en-de-train-2021-news/mqm-newstest2021_ende.tsv.gz",
           "ref.A", "ref.B", ref_csv="en-de/en-de-mqm.2021.csv.gz", csv_ids=True),
    TSVSet("news-mqm", "zh-en", "newstest2021", "zh-en_mqm/zh-en-train-2021-news/mqm-newstest2021_zhen.tsv.gz",
           "ref.A", "ref.B"),
    TSVSet("news-mqm", "en-ru", "newstest2021", "en-ru_mqm/en-ru-train-2021-news/mqm-newstest2021_enru.tsv.gz",
           "ref.A", "ref.B"),
)
# TED en-de and zh-en come from google-mqm-ted (the same ratings); only en-ru is read from these TSVs.
TED_ENRU = TSVSet("ted-mqm", "en-ru", "ted2021", "en-ru_mqm/en-ru-train-2021-ted/mqm-ted_enru.tsv.gz",
                  "ref.A", None, ref_csv="en-ru/en-ru-mqm.2021-ted.csv.gz")

_HEADER = ("system", "doc", "doc_id", "seg_id", "rater", "source", "target", "category", "severity")


def unescape_quotes(text: str) -> str:
    """Undo the CSV escaping these TSVs carry: ``"a ""b"" c"`` becomes ``a "b" c``, ``""b""`` becomes ``"b"``.

    The enclosing pair goes only when every inner quote is doubled; a doubled quote never occurs in
    the texts themselves, so it is always read as one.
    """
    inner = text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == '"' and '""' in inner and '"' not in inner.replace('""', ""):
        text = inner
    return text.replace('""', '"')


def _system_name(raw: str) -> str:
    """``hyp.Facebook-AI`` -> ``Facebook-AI``; ``Human-A.0`` -> ``Human-A``."""
    return strip_system_id(raw.removeprefix("hyp."))


@dataclass
class _Item:
    raters: dict[str, float]      # rater -> weighted error count
    texts: dict[str, set[str]]    # MT text as shown in the rows -> raters


def read_tsv_set(root: Path, spec: TSVSet, tally: Tally) -> list[Judgment]:
    """Every rated (system, segment) of one error TSV, its label averaged over raters."""
    path = root / _W / spec.path
    items: dict[tuple[str, str, str], _Item] = {}
    sources: dict[tuple[str, str], dict[str, set[str]]] = {}
    for lineno, cells in tsv_rows(path, _HEADER, keep=len(_HEADER)):
        system, doc, doc_id, _, rater, source, target, category, severity = cells
        if severity.strip().lower() not in SEVERITIES:
            raise InputError(f"{path}:{lineno}: unknown severity {severity!r}")
        item = items.setdefault((_system_name(system), doc, doc_id), _Item({}, defaultdict(set)))
        item.raters[rater] = item.raters.get(rater, 0.0) + mqm_weight(category, severity)
        item.texts[strip_marks(unescape_quotes(target))].add(rater)
        sources.setdefault((doc, doc_id), defaultdict(set))[strip_marks(unescape_quotes(source))].add(rater)
    src_text = {key: vote_text(variants) for key, variants in sources.items()}
    hyp_text = {key: vote_text(item.texts) for key, item in items.items()}
    known = {key: t for key, t in hyp_text.items() if t is not None}
    refs = {(doc, doc_id): t for (system, doc, doc_id), t in known.items() if system == spec.standard}
    alt = {(doc, doc_id): t for (system, doc, doc_id), t in known.items() if system == spec.alternate}
    if spec.ref_csv and spec.csv_ids:
        _csv_texts(root / _Q / spec.ref_csv, src_text, hyp_text, refs, spec, tally)
    elif spec.ref_csv:
        refs.update(_csv_references(root / _Q / spec.ref_csv, src_text, spec, tally))
    out = []
    for (system, doc, doc_id), item in items.items():
        seg = (doc, doc_id)
        hyp, src = hyp_text[(system, doc, doc_id)], src_text[seg]
        if hyp is None or src is None:
            tally.add(spec.dataset, spec.lp, f"skipped: {spec.testset} raters saw different texts, none by a majority")
            continue
        if not hyp.strip():
            tally.add(spec.dataset, spec.lp, "skipped: empty hyp")
            continue
        if system in spec.dependent:
            ref = None
        elif system == spec.standard:
            ref = alt.get(seg)
        else:
            ref = refs.get(seg)
        if ref is None:
            tally.add(spec.dataset, spec.lp, "rows without a reference")
        label = -sum(item.raters.values()) / len(item.raters)
        out.append(Judgment(spec.dataset, spec.lp, f"{spec.dataset}:{spec.lp}:{spec.testset}:{doc}:{doc_id}", system,
                            src, hyp, (ref,) if ref is not None else (), None, label + 0.0, "mqm",
                            f"{spec.dataset}:{spec.lp}:{spec.testset}"))
    return out


def _csv_texts(path: Path, src_text: dict[tuple[str, str], str | None],
               hyp_text: dict[tuple[str, str, str], str | None], refs: dict[tuple[str, str], str], spec: TSVSet,
               tally: Tally) -> None:
    """Replace TSV texts by the release CSV's, joined on (system, doc, doc_id).

    Google's newstest2021 TSVs drop some punctuation (``U.S.`` -> ``US``, ``10,000`` -> ``10000``); the
    organisers' CSV has the texts as released, for the MT systems it covers.
    """
    csv_src: dict[tuple[str, str], set[str]] = defaultdict(set)
    csv_ref: dict[tuple[str, str], set[str]] = defaultdict(set)
    for lineno, row in csv_rows(path, ("system", "doc", "doc_id", "src", "mt", "ref")):
        seg, key = (row["doc"], row["doc_id"]), (row["system"], row["doc"], row["doc_id"])
        if key not in hyp_text:
            raise InputError(f"{path}:{lineno}: {row['system']} {row['doc']}:{row['doc_id']} is not in {spec.path}")
        tally.add(spec.dataset, spec.lp, f"{spec.testset} MT texts taken from the CSV, differing from the TSV's",
                  hyp_text[key] != row["mt"])
        hyp_text[key] = row["mt"]
        csv_src[seg].add(row["src"])
        csv_ref[seg].add(row["ref"])
    for seg, srcs in csv_src.items():
        if len(srcs) > 1 or len(csv_ref[seg]) > 1:
            raise InputError(f"{path}: two sources or references for {seg[0]}:{seg[1]}")
        (src,), (ref,) = srcs, csv_ref[seg]
        tally.add(spec.dataset, spec.lp, f"{spec.testset} sources taken from the CSV, differing from the TSV's",
                  src_text[seg] != src)
        src_text[seg], refs[seg] = src, ref


def _csv_references(path: Path, src_text: dict[tuple[str, str], str | None], spec: TSVSet,
                    tally: Tally) -> dict[tuple[str, str], str]:
    """The release CSV's ``ref`` per segment, joined on the exact source text (its ids are unreliable)."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for _, row in csv_rows(path, ("src", "ref")):
        by_source[row["src"]].add(row["ref"])
    out = {}
    for seg, src in src_text.items():
        if src is None:
            continue
        found = by_source.get(src)
        if found is None:
            tally.add(spec.dataset, spec.lp, f"{spec.testset} segments without a CSV reference (the rated one used)")
        elif len(found) > 1:
            tally.add(spec.dataset, spec.lp, f"{spec.testset} segments with two CSV references (the rated one used)")
        else:
            out[seg] = next(iter(found))
    return out


# --- google-mqm-ted ------------------------------------------------------------------------------

# ref-A is the standard reference; ref-B (zh-en only) is the reference of ref-A's own rows.
TED_PAIRS = {"en-de": "ende", "zh-en": "zhen"}


def read_ted(root: Path, lp: str, tally: Tally) -> list[Judgment]:
    """Google's TED ratings (scores averaged over raters as released), ref-A as the reference."""
    rows = read_ted_mqm(root / "google-mqm-ted", TED_PAIRS[lp])
    human = {(r.system, r.seg_id): r.target for r in rows if r.system in ("ref-A", "ref-B")}
    out = []
    for r in rows:
        if not r.target.strip():
            tally.add("ted-mqm", lp, "skipped: empty hyp")
            continue
        ref = human.get(("ref-B" if r.system == "ref-A" else "ref-A", r.seg_id))
        if ref is None:
            tally.add("ted-mqm", lp, "rows without a reference")
        out.append(Judgment("ted-mqm", lp, f"ted-mqm:{lp}:{r.seg_id}", r.system, r.source, r.target,
                            (ref,) if ref is not None else (), None, r.score + 0.0, "mqm", f"ted-mqm:{lp}"))
    return out


def read_ted_set(root: Path, lps: Sequence[str] | None, tally: Tally) -> list[Judgment]:
    out = [j for lp in TED_PAIRS if wanted(lp, lps) for j in read_ted(root, lp, tally)]
    return out + (read_tsv_set(root, TED_ENRU, tally) if wanted(TED_ENRU.lp, lps) else [])


def read_news_set(root: Path, lps: Sequence[str] | None, tally: Tally) -> list[Judgment]:
    return [j for spec in NEWS_TSVS if wanted(spec.lp, lps) for j in read_tsv_set(root, spec, tally)]


# --- BioMQM --------------------------------------------------------------------------------------

BIOMQM = "bio-mqm/data/v2/target/main_phase/round_two/en2es"
BIOMQM_SPLITS = "bio-mqm/data/doc_id_splits.json"
# reference_r1 is an earlier round of the same reference (half of its segments are identical to it).
_BIO_HUMAN = ("reference", "reference_r1")


def read_biomqm_dev(root: Path, lps: Sequence[str] | None, tally: Tally) -> list[Judgment]:
    """BioMQM en-es, the documents of its dev split only (the test documents are the span benchmark's).

    Records carry ``SEG_ID``, but in about one record in six the text is that of another segment of the
    document while the errors are this slot's (their terms are absent from the text). A slot's true
    source is the one most system files agree on, and a source belongs to the first slot that holds it; records that disagree are skipped and counted (every error term of the kept records
    occurs in their target). A label is minus the weighted error count, averaged over a record's
    annotators.
    """
    from evalkit.spans.train import biomqm_doc, biomqm_docs

    lp = "en-es"
    if not wanted(lp, lps):
        return []
    folder = root / BIOMQM
    dev = biomqm_docs(root / BIOMQM_SPLITS, lp, "dev")
    files = sorted(p for p in folder.glob("*.json"))
    if not files:
        raise InputError(f"{folder}: no BioMQM system files")
    records = {p.stem: _bio_records(p) for p in files}
    votes: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for system, recs in records.items():
        for i, r in enumerate(recs):
            try:
                votes[(r["filename"], str(r["SEG_ID"]))][r["source"]].add(system)
            except (KeyError, TypeError):
                raise InputError(f"{folder / system}.json: record {i}: no filename, SEG_ID or source") from None
    slot_source = {key: src for key, src in ((k, vote_text(v)) for k, v in votes.items()) if src is not None}
    first_slot: dict[tuple[str, str], str] = {}
    for doc, seg in sorted(slot_source, key=lambda k: (k[0], int(k[1]) if k[1].isdigit() else 0, k[1])):
        first_slot.setdefault((doc, slot_source[(doc, seg)]), seg)
    scores: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    texts: dict[tuple[str, str, str], str] = {}
    for system, recs in records.items():
        for i, r in enumerate(recs):
            doc, seg, src = r["filename"], str(r["SEG_ID"]), r["source"]
            if biomqm_doc(doc) not in dev:
                continue
            if slot_source.get((doc, seg)) != src or first_slot[(doc, src)] != seg:
                tally.add("biomqm", lp, "skipped: record text belongs to another segment")
                continue
            errors = (r.get("source_errors") or []) + (r.get("target_errors") or [])
            try:
                weight = sum(_bio_weight(e) for e in errors)
            except (AttributeError, TypeError):
                raise InputError(f"{folder / system}.json: record {i}: malformed errors") from None
            scores[(system, doc, src)][str(r.get("Annotator_ID"))].append(weight)
            texts[(system, doc, src)] = r["target"]
    refs = {(doc, src): t for (system, doc, src), t in texts.items() if system == "reference"}
    out = []
    for (system, doc, src), by_annotator in scores.items():
        hyp = texts[(system, doc, src)]
        if not hyp.strip():
            tally.add("biomqm", lp, "skipped: empty hyp")
            continue
        ref = None if system in _BIO_HUMAN else refs.get((doc, src))
        if ref is None:
            tally.add("biomqm", lp, "rows without a reference")
        label = -sum(sum(v) / len(v) for v in by_annotator.values()) / len(by_annotator)
        out.append(Judgment("biomqm", lp, f"biomqm:{lp}:{biomqm_doc(doc)}:{first_slot[(doc, src)]}", system, src, hyp,
                            (ref,) if ref is not None else (), None, label + 0.0, "mqm", f"biomqm:{lp}"))
    return out


def _bio_weight(error: dict) -> float:
    category = f"{error.get('error_category') or ''}/{error.get('error_subcategory') or ''}"
    return mqm_weight(category, str(error.get("severity") or ""))
