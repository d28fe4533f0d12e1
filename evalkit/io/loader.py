"""Turn file arguments (plain text, records, datasets, raw documents) into one TestSet."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import InputError
from evalkit.io.records import Columns, Records, read_dataset, read_jsonl, read_tsv
from evalkit.io.text import read_lines
from evalkit.io.validate import check_same_length
from evalkit.testset import TestSet

FORMATS = ("auto", "text", "tsv", "jsonl", "dataset", "document")


def detect_format(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "dataset"
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".tsv":
        return "tsv"
    if suffix in (".parquet", ".arrow", ".csv", ".json"):
        return "dataset"
    return "text"


def system_names(paths: Sequence[str | Path], names: Sequence[str] | None = None) -> list[str]:
    if names:
        if len(names) != len(paths):
            raise InputError(f"--names gives {len(names)} names for {len(paths)} systems")
        return list(names)
    out: list[str] = []
    for p in paths:
        stem = Path(p).name
        for suffix in (".txt", ".jsonl", ".tsv", ".json", ".csv", ".parquet", ".arrow"):
            stem = stem.removesuffix(suffix)
        name, k = stem, 2
        while name in out:
            name, k = f"{stem}#{k}", k + 1
        out.append(name)
    return out


def _read_records(path: str | Path, fmt: str, cols: Columns, split: str | None) -> Records:
    if fmt == "jsonl":
        return read_jsonl(path, cols)
    if fmt == "tsv":
        return read_tsv(path, cols)
    return read_dataset(path, cols, split)


def load_testset(
    hyp_paths: Sequence[str | Path],
    ref_paths: Sequence[str | Path] = (),
    src_path: str | Path | None = None,
    *,
    input_format: str = "auto",
    names: Sequence[str] | None = None,
    columns: Columns = Columns(),
    split: str | None = None,
    language: str = "en",
) -> TestSet:
    """Read every input, check that they line up, and return a TestSet.

    For ``document`` input (raw articles), boilerplate is dropped, text is split into sentences
    (with the rules of ``language``, the target language) and, when the MT and reference are
    segmented differently, the MT is resegmented to the reference by minimum edit distance.
    """
    if not hyp_paths:
        raise InputError("no system outputs given (use -t/--hyp)")
    if input_format not in FORMATS:
        raise InputError(f"unknown input format {input_format!r} (choose from {', '.join(FORMATS)})")
    sys_names = system_names(hyp_paths, names)
    fmt = input_format if input_format != "auto" else detect_format(hyp_paths[0])
    if fmt == "document":
        return _load_documents(hyp_paths, ref_paths, sys_names, language)
    if fmt in ("jsonl", "tsv", "dataset"):
        hyps: list[Any] = [_read_records(path, fmt, columns, split) for path in hyp_paths]
    else:
        check_text_inputs(ref_paths, src_path)
        hyps = [read_lines(p) for p in hyp_paths]
    refs = [read_lines(p) for p in ref_paths]
    srcs = read_lines(src_path) if src_path else None
    return build_testset(sys_names, hyp_paths, hyps, ref_paths, refs, src_path, srcs)


def check_text_inputs(ref_paths: Sequence[str | Path], src_path: str | Path | None) -> None:
    """Plain-text systems need references, or a source for a reference-free metric."""
    if not ref_paths and not src_path:
        raise InputError("no references given (use -r/--ref; repeat it for several references), and no source "
                         "(-s/--src) for a reference-free metric")


def build_testset(
    names: Sequence[str],
    hyp_paths: Sequence[str | Path],
    hyps: Sequence[Records] | Sequence[list[str]],
    ref_paths: Sequence[str | Path] = (),
    refs: Sequence[list[str]] = (),
    src_path: str | Path | None = None,
    srcs: list[str] | None = None,
    *,
    ids: list[str] | None = None,
) -> TestSet:
    """A TestSet from inputs already read: each system's records (src, mt, refs) or lines, then ``-r``/``-s`` lines.

    Whole files (``load_testset``) and the partitions of a Dask run (``evalkit.cluster``) go through these same
    checks. Records carry their own references unless ``-r`` is given; then every system's must agree.
    """
    if hyps and isinstance(hyps[0], Records):
        systems: dict[str, list[str]] = {}
        streams: list[list[str]] | None = None
        for name, path, rec in zip(names, hyp_paths, hyps):
            systems[name] = rec.hyps  # type: ignore[union-attr]
            if streams is None:
                streams, srcs_read = rec.refs, rec.srcs  # type: ignore[union-attr]
            elif rec.refs != streams and not ref_paths:  # type: ignore[union-attr]
                raise InputError(f"{path}: its references differ from those in {hyp_paths[0]}; give -r explicitly")
        if ref_paths:
            streams = list(refs)
        if not src_path:
            srcs = srcs_read
    else:
        check_text_inputs(ref_paths, src_path)
        systems = {name: lines for name, lines in zip(names, hyps)}  # type: ignore[misc]
        streams = list(refs)
    named: dict[str, Sequence[str]] = {str(p): systems[n] for n, p in zip(names, hyp_paths)}
    named.update({str(p): r for p, r in zip(ref_paths, streams or [])})
    if src_path and srcs is not None:
        named[str(src_path)] = srcs
    check_same_length(named)
    return TestSet(refs=streams or [], systems=systems, srcs=srcs, ids=list(ids or []))


def _load_documents(
    hyp_paths: Sequence[str | Path], ref_paths: Sequence[str | Path], names: list[str], language: str
) -> TestSet:
    from evalkit.io.document import read_document, splitter_languages
    from evalkit.io.realign import realign_document

    if not ref_paths:
        raise InputError("no references given (use -r/--ref)")
    notes: list[str] = []
    if language not in splitter_languages():
        notes.append(f"the sentence splitter has no rules for {language!r}; English rules were used")
        language = "en"
    ref_docs = [read_document(p, language) for p in ref_paths]
    refs = [d.segments for d in ref_docs]
    n = len(refs[0])
    for p, d in zip(ref_paths[1:], ref_docs[1:]):
        if len(d.segments) != n:
            raise InputError(f"{p}: {len(d.segments)} segments but {ref_paths[0]} has {n}; references must align")
    for p, d in zip(ref_paths, ref_docs):
        if d.dropped:
            notes.append(_dropped_note(p, d.dropped))
    systems: dict[str, list[str]] = {}
    for name, path in zip(names, hyp_paths):
        doc = read_document(path, language)
        if doc.dropped:
            notes.append(_dropped_note(path, doc.dropped))
        segs, changed = realign_document(doc, ref_docs[0])
        if changed is None:
            notes.append(f"{path}: {len(doc.segments)} segments resegmented to the reference's {n} "
                         "by minimum edit distance (the paragraphs differ)")
        elif changed:
            notes.append(f"{path}: paragraph(s) {', '.join(str(p + 1) for p in changed)} split into sentences "
                         "differently from the reference; resegmented to it by minimum edit distance")
        systems[name] = segs
    return TestSet(refs=refs, systems=systems, notes=notes)


def _dropped_note(path: str | Path, dropped: list[str]) -> str:
    return f"{path}: dropped {len(dropped)} boilerplate line(s): " + "; ".join(repr(x[:60]) for x in dropped)
