"""Turn file arguments (plain text, records, datasets, raw documents) into one TestSet."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
    notes: list[str] = []
    if fmt == "document":
        return _load_documents(hyp_paths, ref_paths, sys_names, language)
    if fmt in ("jsonl", "tsv", "dataset"):
        systems: dict[str, list[str]] = {}
        refs: list[list[str]] | None = None
        srcs = None
        for name, path in zip(sys_names, hyp_paths):
            rec = _read_records(path, fmt, columns, split)
            systems[name] = rec.hyps
            if refs is None:
                refs, srcs = rec.refs, rec.srcs
            elif rec.refs != refs and not ref_paths:
                raise InputError(f"{path}: its references differ from those in {hyp_paths[0]}; give -r explicitly")
        if ref_paths:
            refs = [read_lines(p) for p in ref_paths]
        if src_path:
            srcs = read_lines(src_path)
        named = {**{str(p): systems[n] for n, p in zip(sys_names, hyp_paths)},
                 **{str(p): r for p, r in zip(ref_paths, refs or [])},
                 **({str(src_path): srcs} if src_path and srcs is not None else {})}
        check_same_length(named)
        return TestSet(refs=refs or [], systems=systems, srcs=srcs, notes=notes)
    if not ref_paths and not src_path:
        raise InputError("no references given (use -r/--ref; repeat it for several references), and no source "
                         "(-s/--src) for a reference-free metric")
    systems = {name: read_lines(p) for name, p in zip(sys_names, hyp_paths)}
    refs = [read_lines(p) for p in ref_paths]
    srcs = read_lines(src_path) if src_path else None
    named = {str(p): systems[n] for n, p in zip(sys_names, hyp_paths)}
    named.update({str(p): r for p, r in zip(ref_paths, refs)})
    if src_path:
        named[str(src_path)] = srcs  # type: ignore[assignment]
    check_same_length(named)
    return TestSet(refs=refs, systems=systems, srcs=srcs, notes=notes)


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
