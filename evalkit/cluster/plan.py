"""What a Dask run reads: its input arguments as indexed shards, and the partitions of rows that tasks read.

Partitions are fixed runs of rows of the whole input (``[k*P, (k+1)*P)``), whatever the shards look like, so
a rerun over the same inputs makes the same partitions and can reuse the ones already written. Every stream
(each ``-t``, ``-r`` and ``-s`` argument) is cut at the same rows, so a partition holds every system's output,
every reference and the source of the same segments, and the per-segment work (reference n-grams, rows shared
by systems that repeat a segment, other systems' outputs as span evidence) is what a single process does.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace

from evalkit.cluster.runner import Runner
from evalkit.cluster.shards import FORMATS, Shard, file_format, index_file, list_files
from evalkit.errors import InputError
from evalkit.io.loader import build_testset, check_text_inputs, system_names
from evalkit.io.records import Columns, Records, concat_records
from evalkit.io.validate import check_same_length
from evalkit.spans.pipeline import CHUNK
from evalkit.testset import TestSet

# chrF and BLEU keep every reference's n-grams while a partition is scored (about 60 kB a segment together),
# so a 10,000-row partition peaks near 600 MB on its worker.
MAX_PARTITION_ROWS = 10_000
# Default partitions are whole blocks of reference-mode spans (which encode segments CHUNK at a time), so that the
# spans of a partition are those of the same segments in one process.
ROW_QUANTUM = CHUNK


@dataclass(frozen=True)
class InputSpec:
    """The input arguments as the user gave them (paths seen from the workers)."""

    hyp: tuple[str, ...]
    ref: tuple[str, ...] = ()
    src: str | None = None
    names: tuple[str, ...] | None = None
    input_format: str = "auto"
    columns: Columns = field(default_factory=Columns)


@dataclass(frozen=True)
class Stream:
    """One input argument: its shards, and the row of the whole input at which each starts."""

    spec: str
    shards: tuple[Shard, ...]
    starts: tuple[int, ...]

    @property
    def rows(self) -> int:
        return self.starts[-1] + self.shards[-1].rows if self.shards else 0

    def _overlaps(self, start: int, stop: int) -> list[int]:
        return [i for i, (s, g) in enumerate(zip(self.shards, self.starts)) if g < stop and g + s.rows > start]

    def window(self, start: int, stop: int) -> Stream:
        picked = self._overlaps(start, stop)
        shards = tuple(self.shards[i].window(max(start - self.starts[i], 0), min(stop - self.starts[i],
                                                                                  self.shards[i].rows))
                       for i in picked)
        return Stream(self.spec, shards, tuple(self.starts[i] for i in picked))

    def read(self, start: int, stop: int, cols: Columns, has_src: bool | None) -> Records | list[str]:
        pieces = [self.shards[i].read(max(start - self.starts[i], 0), min(stop - self.starts[i], self.shards[i].rows),
                                      cols, has_src) for i in self._overlaps(start, stop)]
        if isinstance(pieces[0], Records):
            return concat_records(pieces)  # type: ignore[arg-type]
        return [line for piece in pieces for line in piece]  # type: ignore[union-attr]


@dataclass(frozen=True)
class Inputs:
    """Every stream of a run, indexed; ``read`` turns a run of rows into the TestSet a single process would hold."""

    names: tuple[str, ...]
    hyps: tuple[Stream, ...]
    refs: tuple[Stream, ...]
    src: Stream | None
    columns: Columns
    has_src: bool | None

    @property
    def rows(self) -> int:
        return self.hyps[0].rows

    @property
    def streams(self) -> tuple[Stream, ...]:
        return self.hyps + self.refs + ((self.src,) if self.src is not None else ())

    def window(self, start: int, stop: int) -> Inputs:
        """Only what reading rows ``[start, stop)`` needs (a few marks per shard), to send with a task."""
        return replace(self, hyps=tuple(s.window(start, stop) for s in self.hyps),
                       refs=tuple(s.window(start, stop) for s in self.refs),
                       src=self.src.window(start, stop) if self.src is not None else None)

    def read(self, start: int, stop: int) -> TestSet:
        cols = self.columns
        hyps = [s.read(start, stop, cols, self.has_src) for s in self.hyps]
        refs = [s.read(start, stop, cols, None) for s in self.refs]
        src = self.src.read(start, stop, cols, None) if self.src is not None else None
        return build_testset(self.names, [s.spec for s in self.hyps], hyps, [s.spec for s in self.refs], refs,  # type: ignore[arg-type]
                             self.src.spec if self.src is not None else None, src,  # type: ignore[arg-type]
                             ids=[str(i + 1) for i in range(start, stop)])

    def fingerprint(self) -> list[object]:
        """Every shard's path, row count and content hash, by stream: a changed input changes the checkpoint key."""
        return [[s.spec, [[sh.path, sh.fmt, sh.rows, sh.digest] for sh in s.shards]] for s in self.streams]


def resolve(runner: Runner, spec: InputSpec) -> Inputs:
    """List and index every input file on the workers (the driver reads none of them) and check they line up."""
    if not spec.hyp:
        raise InputError("no system outputs given (use -t/--hyp)")
    given = spec.input_format
    if given not in ("auto", *FORMATS):
        raise InputError(f"--input-format {given}: with --cluster, inputs are read in partitions from "
                         f"{', '.join(FORMATS)} files (a {given} input is read whole: run without --cluster)")
    names = system_names(spec.hyp, spec.names)
    args = [*spec.hyp, *spec.ref, *([spec.src] if spec.src else [])]
    absolute = [os.path.abspath(os.path.expanduser(a)) for a in args]
    listed = runner.map(list_files, [(a,) for a in absolute], "evalkit-list")
    fmt = file_format(listed[0][0], given)
    if fmt == "text":
        check_text_inputs(spec.ref, spec.src)
    for arg, files in zip(args[:len(spec.hyp)], listed):
        kinds = sorted({file_format(f, given) for f in files})
        if kinds != [fmt]:
            raise InputError(f"{arg}: its files are {', '.join(kinds)}, expected {fmt} shards only "
                             "(name them with a glob, or give --input-format)")
    jobs = [(f, fmt if i < len(spec.hyp) else "text") for i, files in enumerate(listed) for f in files]
    indexed = iter(runner.map(index_file, jobs, "evalkit-index"))
    streams = []
    for arg, files in zip(args, listed):
        shards = tuple(next(indexed) for _ in files)
        starts = tuple(sum(s.rows for s in shards[:i]) for i in range(len(shards)))
        streams.append(Stream(arg, shards, starts))
    check_same_length({s.spec: range(s.rows) for s in streams})
    hyps = tuple(streams[:len(spec.hyp)])
    refs = tuple(streams[len(spec.hyp):len(spec.hyp) + len(spec.ref)])
    src = streams[-1] if spec.src else None
    has_src = spec.columns.src in hyps[0].shards[0].fields if fmt != "text" else None
    return Inputs(tuple(names), hyps, refs, src, spec.columns, has_src)


def default_partition_rows(n: int) -> int:
    """About 64 partitions (room to balance load over the workers and to resume), whole thousands of rows,
    at most 10,000 rows each; the same for the same input, whatever the cluster, so checkpoints stay valid."""
    per = math.ceil(n / 64 / ROW_QUANTUM) * ROW_QUANTUM
    return min(max(per, ROW_QUANTUM), MAX_PARTITION_ROWS)


def partitions(n: int, rows: int | None = None, spans: str | None = None) -> list[tuple[int, int]]:
    size = default_partition_rows(n) if rows is None else rows
    if size < 1:
        raise InputError(f"--partition-rows must be at least 1, got {size}")
    if spans == "reference" and size % CHUNK:
        raise InputError(f"--partition-rows {size}: with --spans reference it must be a multiple of {CHUNK} (the span "
                         f"encoder works on blocks of {CHUNK} segments; other cuts would change the spans)")
    return [(a, min(a + size, n)) for a in range(0, n, size)]

