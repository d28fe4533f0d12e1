"""Readers and validation: every supported input gives the same scores, every bad input a clear InputError."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu

import evalkit
from evalkit.errors import InputError
from evalkit.io.loader import load_testset
from evalkit.io.records import Columns
from evalkit.io.text import read_lines
from evalkit.metrics import resolve_name

HYPS_A = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
HYPS_B = ["A dog bit a man.", "That was no surprise.", "The man bit him first."]
REF_1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
REF_2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]
SRCS = ["Der Hund biss den Mann.", "Es war nicht überraschend.", "Der Mann hatte ihn gerade gebissen."]


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sacre(hyps: list[str], refs: list[list[str]]) -> dict[str, float]:
    return {"bleu": sacrebleu.corpus_bleu(hyps, refs).score,
            "chrf": sacrebleu.corpus_chrf(hyps, refs).score,
            "ter": sacrebleu.corpus_ter(hyps, refs).score}


def _scores(testset, system: str) -> dict[str, float]:
    result = evalkit.score(testset=testset, workers=1)
    return {k: v.score for k, v in result.system(system).metrics.items()}


# ---------------------------------------------------------------- plain text

def test_text_files_several_systems_and_references(tmp_path: Path) -> None:
    ts = load_testset([_lines(tmp_path / "a.txt", HYPS_A), _lines(tmp_path / "b.txt", HYPS_B)],
                      [_lines(tmp_path / "r1.txt", REF_1), _lines(tmp_path / "r2.txt", REF_2)],
                      _lines(tmp_path / "src.txt", SRCS))
    assert list(ts.systems) == ["a", "b"] and ts.srcs == SRCS and ts.refs == [REF_1, REF_2]
    for name, hyps in (("a", HYPS_A), ("b", HYPS_B)):
        assert _scores(ts, name) == pytest.approx(_sacre(hyps, [REF_1, REF_2]), abs=1e-9)


def test_bom_and_crlf_score_like_the_clean_file(tmp_path: Path) -> None:
    clean = _lines(tmp_path / "clean.txt", HYPS_A)
    dirty = tmp_path / "dirty.txt"
    dirty.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(HYPS_A).encode("utf-8") + b"\r\n")
    ref = tmp_path / "ref.txt"
    ref.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(REF_1).encode("utf-8"))  # no final newline either
    assert read_lines(dirty) == HYPS_A and read_lines(ref) == REF_1
    a = _scores(load_testset([clean], [_lines(tmp_path / "r.txt", REF_1)]), "clean")
    b = _scores(load_testset([dirty], [ref]), "dirty")
    assert a == b == pytest.approx(_sacre(HYPS_A, [REF_1]), abs=1e-9)


def test_mismatched_line_counts_name_each_file_and_count(tmp_path: Path) -> None:
    hyp = _lines(tmp_path / "sys.txt", HYPS_A)
    ref = _lines(tmp_path / "ref.txt", REF_1[:2])
    with pytest.raises(InputError) as err:
        load_testset([hyp], [ref])
    msg = str(err.value)
    assert f"{hyp}: 3 lines" in msg and f"{ref}: 2 lines" in msg and "\n" not in msg
    src = _lines(tmp_path / "src.txt", SRCS + ["extra"])
    with pytest.raises(InputError, match=r"src\.txt: 4 lines"):
        load_testset([hyp], [_lines(tmp_path / "r.txt", REF_1)], src)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n  \n", encoding="utf-8")
    ref = _lines(tmp_path / "ref.txt", REF_1)
    for path in (empty, blank):
        with pytest.raises(InputError, match=f"{path.name}: file is empty"):
            load_testset([path], [ref])
    with pytest.raises(InputError, match="missing.txt: no such file"):
        load_testset([tmp_path / "missing.txt"], [ref])
    with pytest.raises(InputError, match="is a directory"):
        read_lines(tmp_path)


def test_invalid_utf8_gives_file_byte_offset_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("first line\nsecond caf".encode("utf-8") + "é".encode("latin-1") + b"\n")
    with pytest.raises(InputError) as err:
        read_lines(bad)
    assert str(err.value) == (f"{bad}: invalid UTF-8 at byte offset 21 (line 2); re-encode the file as UTF-8")


# ---------------------------------------------------------------- Python API

@pytest.mark.parametrize(
    "refs, message",
    [
        ("The dog bit the man.", "got a string"),
        (REF_1, "got a list of strings where a list of reference streams was expected; wrap it"),
        ([REF_1, "The dog"], "stream 2 is str"),
        ([[1, 2, 3]], "stream 1 segment 1 is int"),
        ([], "no references and no source given"),
        ([REF_1[:2]], "references have 2 segments but hypotheses have 3"),
        ([REF_1, REF_2[:2]], "streams have different lengths"),
        ([[None, "b", "c"]], "segment 1 has no reference in any stream"),
    ],
)
def test_api_rejects_malformed_references(refs, message: str) -> None:
    """sacrebleu#220, #256, #259: a string or flat list where reference streams belong is rejected."""
    with pytest.raises(InputError, match=message):
        evalkit.score(HYPS_A, refs)


def test_api_rejects_a_string_hypothesis() -> None:
    with pytest.raises(InputError, match="expected a list of segments, got a single string"):
        evalkit.score("The dog bit the man.", [["The dog bit the man."]])


def test_api_scores_equal_sacrebleu_and_variable_references() -> None:
    result = evalkit.score(HYPS_A, [REF_1, REF_2], workers=1)
    assert {k: v.score for k, v in result.systems[0].metrics.items()} == pytest.approx(
        _sacre(HYPS_A, [REF_1, REF_2]), abs=1e-9)
    partial = [REF_2[0], None, REF_2[2]]  # a second reference for two segments only, as sacrebleu allows
    got = evalkit.score(HYPS_A, [REF_1, partial], metrics=["bleu"], workers=1).systems[0].metrics["bleu"]
    assert got.score == pytest.approx(sacrebleu.corpus_bleu(HYPS_A, [REF_1, partial]).score, abs=1e-9)
    assert got.signature.startswith("nrefs:var|")


@pytest.mark.parametrize("name, hint", [("bleuu", "'bleu'"), ("chrf+", "'chrf'"), ("terr", "'ter'")])
def test_unknown_metric_suggests(name: str, hint: str) -> None:
    with pytest.raises(InputError) as err:
        resolve_name(name)
    assert f"unknown metric {name!r}; did you mean" in str(err.value) and hint in str(err.value)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"tokenize": "13b"}, "unknown tokenizer '13b'; did you mean '13a'"),
        ({"max_ngram_order": 0}, "must be at least 1"),
    ],
)
def test_bad_metric_options(options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        evalkit.score(HYPS_A, [REF_1], metrics=["bleu"], options=options)


def test_bad_bootstrap_arguments() -> None:
    with pytest.raises(InputError, match="--n-bootstrap must be at least 2"):
        evalkit.score(HYPS_A, [REF_1], confidence=True, n_bootstrap=1, workers=1)
    with pytest.raises(InputError, match="--seed must be a non-negative integer"):
        evalkit.score(HYPS_A, [REF_1], confidence=True, seed=-1, workers=1)


# ---------------------------------------------------------------- TSV and JSONL records

def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_records_with_ref_and_refs(tmp_path: Path) -> None:
    a = _jsonl(tmp_path / "a.jsonl", [{"src": s, "mt": h, "refs": [r1, r2]}
                                      for s, h, r1, r2 in zip(SRCS, HYPS_A, REF_1, REF_2)])
    ts = load_testset([a])
    assert ts.refs == [REF_1, REF_2] and ts.srcs == SRCS and ts.systems == {"a": HYPS_A}
    assert _scores(ts, "a") == pytest.approx(_sacre(HYPS_A, [REF_1, REF_2]), abs=1e-9)
    b = _jsonl(tmp_path / "b.jsonl", [{"mt": h, "ref": r} for h, r in zip(HYPS_B, REF_1)])
    assert load_testset([b]).refs == [REF_1]


def test_jsonl_refs_as_a_string_is_rejected(tmp_path: Path) -> None:
    p = _jsonl(tmp_path / "x.jsonl", [{"mt": HYPS_A[0], "refs": REF_1[0]}])
    with pytest.raises(InputError, match=r"record 1: 'refs' must be a list of strings, got a string \(use 'ref'"):
        load_testset([p])


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"mt": "a", "ref": "a"\n', "line 1: invalid JSON"),
        ('["a", "b"]\n', "line 1: expected a JSON object"),
        ('{"hyp": "a", "ref": "a"}\n', "record 1 has no 'mt' field (fields: hyp, ref); name the MT field with --mt-column"),
        ('{"mt": "a"}\n', "record 1 has no 'ref' or 'refs' field"),
        ('{"mt": 3, "ref": "a"}\n', "record 1: 'mt' must be a string"),
        ('{"mt": "a", "refs": []}\n', "record 1 has an empty reference list"),
        ("\n\n", "no records"),
    ],
)
def test_bad_jsonl(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_testset([p])


def test_tsv_records_with_reference_columns_and_mapping(tmp_path: Path) -> None:
    p = tmp_path / "data.tsv"
    p.write_text("source\thyp\tref\tref2\n" + "".join(f"{s}\t{h}\t{r1}\t{r2}\n" for s, h, r1, r2
                                                       in zip(SRCS, HYPS_A, REF_1, REF_2)), encoding="utf-8")
    ts = load_testset([p], columns=Columns(mt="hyp", src="source"))
    assert ts.refs == [REF_1, REF_2] and ts.srcs == SRCS and ts.systems == {"data": HYPS_A}
    assert _scores(ts, "data") == pytest.approx(_sacre(HYPS_A, [REF_1, REF_2]), abs=1e-9)


def test_tsv_with_wrong_field_count(tmp_path: Path) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text("src\tmt\tref\ns1\ta b\ta b\ns2\tc d\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.tsv: line 3 has 2 fields, header has 3"):
        load_testset([p])


def test_record_systems_with_different_references(tmp_path: Path) -> None:
    a = _jsonl(tmp_path / "a.jsonl", [{"mt": h, "ref": r} for h, r in zip(HYPS_A, REF_1)])
    b = _jsonl(tmp_path / "b.jsonl", [{"mt": h, "ref": r} for h, r in zip(HYPS_B, REF_2)])
    with pytest.raises(InputError, match="references differ from those in"):
        load_testset([a, b])
    ts = load_testset([a, b], [_lines(tmp_path / "r.txt", REF_2)])
    assert ts.refs == [REF_2] and list(ts.systems) == ["a", "b"]


# ---------------------------------------------------------------- Hugging Face datasets (local only)

@pytest.fixture(scope="module")
def hf_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    root = tmp_path_factory.mktemp("hf")
    table = datasets.Dataset.from_dict({"source": SRCS, "translation": HYPS_A, "reference": REF_1,
                                        "references": [[a, b] for a, b in zip(REF_1, REF_2)]})
    other = datasets.Dataset.from_dict({"source": SRCS[:1], "translation": HYPS_B[:1], "reference": REF_1[:1],
                                        "references": [[REF_1[0]]]})
    datasets.DatasetDict({"train": other, "test": table}).save_to_disk(str(root / "dict"))
    table.save_to_disk(str(root / "plain"))
    table.to_csv(str(root / "data.csv"), index=False)
    table.to_parquet(str(root / "data.parquet"))
    table.to_json(str(root / "data.json"))
    return root


MAPPED = Columns(mt="translation", ref="reference", refs="references", src="source")


@pytest.mark.parametrize("name", ["dict", "plain", "data.parquet", "data.json"])
def test_hf_dataset_with_column_mapping(hf_data: Path, name: str) -> None:
    ts = load_testset([hf_data / name], columns=MAPPED)
    assert ts.systems[next(iter(ts.systems))] == HYPS_A  # the "test" split by default
    assert ts.refs == [REF_1, REF_2] and ts.srcs == SRCS


def test_hf_csv_with_single_reference_column(hf_data: Path) -> None:
    ts = load_testset([hf_data / "data.csv"], columns=Columns(mt="translation", ref="reference", refs="none"))
    assert ts.refs == [REF_1] and ts.systems == {"data": HYPS_A}
    assert _scores(ts, "data") == pytest.approx(_sacre(HYPS_A, [REF_1]), abs=1e-9)


def test_hf_dataset_split_and_errors(hf_data: Path) -> None:
    ts = load_testset([hf_data / "dict"], columns=MAPPED, split="train")
    assert ts.systems["dict"] == HYPS_B[:1]
    with pytest.raises(InputError, match=r"no split 'validation' \(splits: train, test\)"):
        load_testset([hf_data / "dict"], columns=MAPPED, split="validation")
    with pytest.raises(InputError, match="record 1 has no 'mt' field"):
        load_testset([hf_data / "plain"])
    with pytest.raises(InputError, match="no such dataset directory or file"):
        load_testset([hf_data / "absent"], input_format="dataset")
