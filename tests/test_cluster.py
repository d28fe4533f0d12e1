"""``--cluster``: the same numbers as one process, from a Dask LocalCluster of two worker processes.

Inputs are read in partitions by the workers (text, TSV, JSONL and Parquet shards; a file, a directory or a
glob), a killed worker is replaced without duplicate or missing rows, a rerun resumes from the partitions
already written, and a bad line in one shard is a one-line error naming the file and the line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, WMT23, require

distributed = pytest.importorskip("distributed")

from evalkit.cli import main  # noqa: E402
from evalkit.io.records import read_jsonl, read_tsv  # noqa: E402
from evalkit.io.text import read_lines  # noqa: E402

WORDS = ("the committee said on monday that new rules for river water quality would be published after a long "
         "review of farming data from three regions while local groups asked for faster action").split()


@pytest.fixture(scope="module")
def dask_cluster():
    """Two worker processes, one thread each, shared by the tests of this module, and a client for the tests'
    own use. A task may kill its worker once and be rerun; the second time the scheduler gives up on it."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=50) as lc, distributed.Client(lc) as client:
            yield lc.scheduler_address, client


@pytest.fixture
def cluster(dask_cluster) -> str:
    address, client = dask_cluster
    client.wait_for_workers(2)
    return address


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc, out, err = _run(capsys, *argv)
    assert rc == 0, err
    return out


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def _synthetic(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """References, a close system and a damaged one: n sentences of real-looking words."""
    rng = np.random.default_rng(seed)
    refs = [" ".join(rng.choice(WORDS, size=int(rng.integers(4, 16)))) for _ in range(n)]
    good = [" ".join(w for j, w in enumerate(r.split()) if j % 5 != 2) for r in refs]
    bad = [" ".join(reversed(r.split()[: max(1, len(r.split()) // 2)])) for r in refs]
    return refs, good, bad


@pytest.fixture(scope="module")
def wmt23_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str, str]:
    """Three WMT23 zh-en systems and the reference, first 400 segments, as files."""
    from evalkit.io.wmt import WMTLayout

    layout = WMTLayout(require(WMT23))
    root = tmp_path_factory.mktemp("wmt23")
    systems = [_write(root / f"{name}.txt", layout.system_output("zh-en", name)[:400])
               for name in ("GPT4-5shot", "ONLINE-A", "NLLB_Greedy")]
    ref = _write(root / "ref.txt", layout.reference("zh-en")[:400])
    src = _write(root / "src.txt", layout.source("zh-en")[:400])
    return systems, ref, src


# ---------------------------------------------------------------- same bytes as one process

def test_wmt23_score_json_is_byte_identical(cluster: str, wmt23_slice, capsys: pytest.CaptureFixture[str]) -> None:
    systems, ref, src = wmt23_slice
    argv = ["score", "-t", *systems, "-r", ref, "-s", src, "-m", "bleu", "chrf", "ter", "--confidence", "-f", "json",
            "--spans", "post-edit"]
    single = _ok(capsys, *argv, "--workers", "1")
    distributed_ = _ok(capsys, *argv, "--cluster", cluster, "--partition-rows", "90")
    assert distributed_ == single
    result = json.loads(single)
    assert len(result["systems"]) == 3 and len(result["systems"][0]["segments"]) == 400
    assert result["systems"][0]["span_counts"] and "spans" in result["systems"][0]["segments"][0]


def test_wmt23_compare_json_is_byte_identical(cluster: str, wmt23_slice, capsys: pytest.CaptureFixture[str]) -> None:
    systems, ref, _ = wmt23_slice
    argv = ["compare", "-t", *systems, "-r", ref, "-m", "bleu", "chrf", "--test", "both", "--n", "300", "-f", "json",
            "--spans", "post-edit"]
    single = _ok(capsys, *argv, "--workers", "1")
    assert _ok(capsys, *argv, "--cluster", cluster, "--partition-rows", "150") == single
    result = json.loads(single)
    assert len(result["pairs"]) == 3 * 2 * 2 and result["systems"][0]["span_error_rates"]["all"] > 0


def test_environment_variable_and_a_local_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``EVALKIT_CLUSTER=local:2`` starts a LocalCluster of its own (partitions appear); ``--cluster none`` and a
    run without the variable stay in one process."""
    refs, good, _ = _synthetic(300)
    hyp, ref = _write(tmp_path / "hyp.txt", good), _write(tmp_path / "ref.txt", refs)
    argv = ["score", "-t", hyp, "-r", ref, "-m", "bleu", "chrf++"]
    lines = _ok(capsys, *argv, "-f", "jsonl")
    monkeypatch.setenv("EVALKIT_CLUSTER", "local:2")
    text = _ok(capsys, *argv, "--partition-rows", "64", "-o", f"{tmp_path / 'out'}/")
    assert "as 5 jsonl partitions" in text
    assert "".join(f.read_text(encoding="utf-8") for f in _parts(tmp_path / "out")) == lines
    rc, out, err = _run(capsys, *argv, "--cluster", "none", "-f", "parquet", "-o", str(tmp_path / "pq"))
    assert rc == 2 and "use --cluster ADDRESS" in err


def test_without_cluster_dask_is_never_imported(tmp_path: Path) -> None:
    refs, good, _ = _synthetic(5)
    hyp, ref = _write(tmp_path / "hyp.txt", good), _write(tmp_path / "ref.txt", refs)
    code = ("import sys; from evalkit.cli import main; "
            f"rc = main(['score', '-t', {hyp!r}, '-r', {ref!r}, '-m', 'bleu', '-f', 'json', '--workers', '1']); "
            "print(rc, any(m == 'dask' or m.startswith(('dask.', 'distributed')) for m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("EVALKIT_CLUSTER", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip().splitlines()[-1] == "0 False", out.stderr


# ---------------------------------------------------------------- inputs: shards, directories, globs, formats

def _records(refs: list[str], hyps: list[str], extra_refs: dict[int, str] | None = None) -> list[dict]:
    rows = []
    for i, (r, h) in enumerate(zip(refs, hyps)):
        row = {"src": f"source {i}", "mt": h}
        row["refs"] = [r, extra_refs[i]] if extra_refs and i in extra_refs else [r]
        rows.append(row)
    return rows


def test_record_shards_in_every_layout_give_one_file_s_numbers(tmp_path: Path, cluster: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """JSONL (blank lines, BOM, CRLF), Parquet (several row groups) and TSV shards, as a directory or a glob,
    give what one process gives for the same records in one file. A second reference on only some records
    (none in the first shard) makes the reference count variable: ``nrefs:var``, as sacrebleu signs it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    refs, good, _ = _synthetic(500, seed=1)
    rows = _records(refs, good, {i: refs[(i + 1) % 500] for i in range(200, 500, 3)})
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    argv = ["-m", "bleu", "chrf", "ter", "-f", "json", "--names", "sys"]
    single = json.loads(_ok(capsys, "score", "-t", str(whole), *argv, "--workers", "1"))
    assert "nrefs:var" in single["systems"][0]["metrics"]["bleu"]["signature"]
    cuts = [0, 120, 121, 330, 500]
    jsonl_dir, pq_dir, tsv_dir = tmp_path / "jsonl", tmp_path / "parquet", tmp_path / "tsv"
    for d in (jsonl_dir, pq_dir, tsv_dir):
        d.mkdir()
    for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
        text = "\n".join(json.dumps(r, ensure_ascii=False) + ("\n" if i % 7 == 0 else "") for i, r in
                         enumerate(rows[a:b])) + "\n"
        data = text.replace("\n", "\r\n").encode("utf-8")
        (jsonl_dir / f"part-{k}.jsonl").write_bytes(b"\xef\xbb\xbf" + data if k == 1 else data)
        pq.write_table(pa.table({"src": [r["src"] for r in rows[a:b]], "mt": [r["mt"] for r in rows[a:b]],
                                 "refs": [r["refs"] for r in rows[a:b]]}), pq_dir / f"part-{k}.parquet",
                       row_group_size=37)
    (jsonl_dir / "_SUCCESS").write_text("")
    for spec in (str(jsonl_dir), str(pq_dir), str(jsonl_dir / "part-*.jsonl")):
        got = json.loads(_ok(capsys, "score", "-t", spec, *argv, "--cluster", cluster, "--partition-rows", "64"))
        assert got == single, spec
    # TSV: one reference per column (ref, ref2); the glob picks three shards and leaves a stray file alone
    one_ref = [{"src": r["src"], "mt": r["mt"], "ref": r["refs"][0]} for r in rows]
    whole_tsv = tmp_path / "whole.tsv"
    whole_tsv.write_text("src\tmt\tref\n" + "".join(f"{r['src']}\t{r['mt']}\t{r['ref']}\n" for r in one_ref))
    for k, (a, b) in enumerate(zip([0, 100, 400], [100, 400, 500])):
        (tsv_dir / f"t{k}.tsv").write_text("src\tmt\tref\n" + "".join(f"{r['src']}\t{r['mt']}\t{r['ref']}\n\n"
                                                                       for r in one_ref[a:b]))
    (tsv_dir / "notes.txt").write_text("not a shard\n")
    single_tsv = _ok(capsys, "score", "-t", str(whole_tsv), *argv, "--workers", "1")
    assert _ok(capsys, "score", "-t", str(tsv_dir / "t*.tsv"), *argv, "--cluster", cluster,
               "--partition-rows", "70") == single_tsv


def test_text_shards_with_references_and_sources(tmp_path: Path, cluster: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Plain-text systems sharded differently from the reference (one big file, read in partitions)."""
    refs, good, bad = _synthetic(700, seed=2)
    srcs = [f"source {i}" for i in range(700)]
    good_dir, bad_dir = tmp_path / "good", tmp_path / "bad"
    good_dir.mkdir()
    bad_dir.mkdir()
    for k in range(0, 700, 250):
        _write(good_dir / f"{k:04d}.txt", good[k:k + 250])
    for k in range(0, 700, 333):
        _write(bad_dir / f"{k:04d}.txt", bad[k:k + 333])
    ref, src = _write(tmp_path / "ref.txt", refs), _write(tmp_path / "src.txt", srcs)
    whole = [_write(tmp_path / "good.txt", good), _write(tmp_path / "bad.txt", bad)]
    argv = ["-r", ref, "-s", src, "-m", "bleu", "chrf", "-f", "json", "--names", "good", "bad"]
    single = _ok(capsys, "score", "-t", *whole, *argv, "--workers", "1")
    assert _ok(capsys, "score", "-t", str(good_dir), str(bad_dir), *argv, "--cluster", cluster,
               "--partition-rows", "97") == single


# ---------------------------------------------------------------- partitioned output and resuming

def _parts(d: Path, ext: str = "jsonl") -> list[Path]:
    return sorted(d.glob(f"part-*.{ext}"))


def test_partitioned_jsonl_and_parquet_output(tmp_path: Path, cluster: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``-o DIR``: the parts hold exactly ``score -f jsonl``'s lines; the summary's corpus scores and intervals
    (TER's rows are not integers, so they travel as rows) are a single process's; the terminal gets a summary."""
    import pyarrow.parquet as pq

    refs, good, bad = _synthetic(600, seed=3)
    hyps = [_write(tmp_path / "good.txt", good), _write(tmp_path / "bad.txt", bad)]
    ref = _write(tmp_path / "ref.txt", refs)
    argv = ["score", "-t", *hyps, "-r", ref, "-m", "bleu", "chrf", "ter", "--confidence", "--n-bootstrap", "200"]
    single = json.loads(_ok(capsys, *argv, "-f", "json", "--workers", "1"))
    lines = _ok(capsys, *argv, "-f", "jsonl", "--workers", "1").splitlines()
    out = tmp_path / "out"
    rc, text, err = _run(capsys, *argv, "--cluster", cluster, "--partition-rows", "128", "-o", f"{out}/")
    assert rc == 0, err
    assert "Corpus scores" in text and "worst" not in text and "600 segments x 2 system(s)" in text
    files = _parts(out)
    assert len(files) == 5
    got = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(got) == sorted(lines) and len(got) == len(set(got)) == 1200
    summary = json.loads((out / "summary.json").read_text())
    for s_single, s_dist in zip(single["systems"], summary["systems"]):
        assert s_dist["metrics"] == s_single["metrics"] and s_dist["segments"] == []
    manifest = json.loads((out / "_evalkit.json").read_text())
    assert manifest["complete"] and manifest["partitions"] == 5 and manifest["rows"] == 600

    pq_out = tmp_path / "pq"
    _ok(capsys, "score", "-t", *hyps, "-r", ref, "-m", "bleu", "chrf", "-f", "parquet", "-o", str(pq_out),
        "--cluster", cluster, "--partition-rows", "250")
    table = [row for f in _parts(pq_out, "parquet") for row in pq.read_table(f).to_pylist()]
    want = [json.loads(x) for x in lines]
    assert len(table) == 1200
    assert sorted((r["system"], int(r["id"]), r["hyp"], r["refs"], r["bleu"], r["chrf"]) for r in table) == \
        sorted((w["system"], int(w["id"]), w["hyp"], w["refs"], w["scores"]["bleu"], w["scores"]["chrf"]) for w in want)


def _settled(out: Path) -> dict[str, int]:
    """The part files once the tasks still running after a failed run (Dask lets them finish) are done."""
    seen: dict[str, int] = {}
    for _ in range(40):
        now = {f.name: f.stat().st_mtime_ns for f in _parts(out) if out.joinpath(f.name[:10] + ".done.json").exists()}
        if now == seen:
            return now
        seen = now
        time.sleep(1.0)
    return seen


class _Kill(distributed.WorkerPlugin):
    """Kills the worker process about to run partition ``index``: once (a marker file remembers), or every time."""

    def __init__(self, marker: str, index: int, once: bool = True) -> None:
        self.marker, self.index, self.once = marker, index, once

    def transition(self, key, start, finish, **kwargs) -> None:  # noqa: ANN001
        if finish == "executing" and str(key).startswith(f"evalkit-partition-{self.index}-"):
            if self.once and os.path.exists(self.marker):
                return
            Path(self.marker).touch()
            os._exit(1)


def test_a_killed_worker_is_replaced_and_its_partition_recomputed(tmp_path: Path, cluster: str, dask_cluster,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, client = dask_cluster
    refs, good, bad = _synthetic(800, seed=4)
    hyps = [_write(tmp_path / "good.txt", good), _write(tmp_path / "bad.txt", bad)]
    ref = _write(tmp_path / "ref.txt", refs)
    argv = ["score", "-t", *hyps, "-r", ref, "-m", "bleu", "chrf", "--cluster", cluster, "--partition-rows", "100"]
    single = _ok(capsys, *argv[:-4], "-f", "json", "--workers", "1")
    lines = _ok(capsys, *argv[:-4], "-f", "jsonl", "--workers", "1").splitlines()
    first = set(client.run(os.getpid).values())
    client.register_plugin(_Kill(str(tmp_path / "killed-a"), 2), name="kill-a")
    try:
        assert _ok(capsys, *argv, "-f", "json") == single
    finally:
        client.unregister_worker_plugin("kill-a")
    client.register_plugin(_Kill(str(tmp_path / "killed-b"), 5), name="kill-b")
    out = tmp_path / "out"
    try:
        _ok(capsys, *argv, "-o", f"{out}/")
    finally:
        client.unregister_worker_plugin("kill-b")
    client.wait_for_workers(2)
    assert (tmp_path / "killed-a").exists() and (tmp_path / "killed-b").exists()
    assert len(first - set(client.run(os.getpid).values())) >= 1  # a worker process was replaced
    got = [line for f in _parts(out) for line in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(got) == sorted(lines) and len(got) == len(set(got))
    assert not list(out.glob(".part-*"))


def test_rerun_resumes_from_finished_partitions_and_a_changed_setting_does_not(
        tmp_path: Path, cluster: str, dask_cluster, capsys: pytest.CaptureFixture[str]) -> None:
    address, client = dask_cluster
    refs, good, _ = _synthetic(600, seed=5)
    hyp, ref = _write(tmp_path / "hyp.txt", good), _write(tmp_path / "ref.txt", refs)
    out = tmp_path / "out"
    argv = ["score", "-t", hyp, "-r", ref, "-m", "bleu", "chrf", "-o", f"{out}/", "--cluster", address,
            "--partition-rows", "100"]
    client.register_plugin(_Kill(str(tmp_path / "killed"), 4, once=False), name="crash")
    try:
        rc, _, err = _run(capsys, *argv)
    finally:
        client.unregister_worker_plugin("crash")
    assert rc == 2 and err.count("\n") == 1 and "killed its worker" in err  # the run crashed on partition 4
    client.wait_for_workers(2)
    before = _settled(out)
    assert 1 <= len(before) < 6 and "part-00004.jsonl" not in before
    text = _ok(capsys, *argv)
    assert f"resumed: {len(before)} of 6 partitions" in text
    assert all(f.stat().st_mtime_ns == before[f.name] for f in _parts(out) if f.name in before)
    lines = _ok(capsys, "score", "-t", hyp, "-r", ref, "-m", "bleu", "chrf", "-f", "jsonl", "--workers", "1")
    assert "".join(f.read_text(encoding="utf-8") for f in _parts(out)) == lines
    text = _ok(capsys, *argv, "--chrf-char-order", "4")
    assert "resumed" not in text and "inputs or settings differ" in text
    changed = _ok(capsys, "score", "-t", hyp, "-r", ref, "-m", "bleu", "chrf", "--chrf-char-order", "4", "-f", "jsonl",
                  "--workers", "1")
    assert "".join(f.read_text(encoding="utf-8") for f in _parts(out)) == changed != lines


# ---------------------------------------------------------------- bad input: one line, file and line

def test_bad_line_in_one_shard_is_one_line_naming_file_and_line(tmp_path: Path, cluster: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    refs, good, _ = _synthetic(400, seed=6)
    shards = tmp_path / "shards"
    shards.mkdir()
    for k in range(4):
        (shards / f"s{k}.jsonl").write_text("".join(json.dumps({"mt": h, "ref": r}) + "\n" for h, r in
                                                    zip(good[k * 100:(k + 1) * 100], refs[k * 100:(k + 1) * 100])))
    bad = shards / "s2.jsonl"
    lines = bad.read_text().splitlines()
    lines[56] = '{"mt": "a", "ref": '
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception) as whole_file:
        read_jsonl(bad)
    rc, out, err = _run(capsys, "score", "-t", str(shards), "--cluster", cluster, "--partition-rows", "50")
    assert rc == 2 and out == "" and err == f"evalkit: error: {whole_file.value}\n"
    assert f"{bad}: line 57: invalid JSON" in err

    lines[56] = json.dumps({"hyp": "a", "ref": "b"})
    bad.write_text("\n".join(lines) + "\n")
    rc, _, err = _run(capsys, "score", "-t", str(shards), "--cluster", cluster, "--partition-rows", "50")
    assert rc == 2 and err == f"evalkit: error: {bad}: line 57: record 57 has no 'mt' field (fields: hyp, ref); " \
                              "name the MT field with --mt-column\n"

    text_dir = tmp_path / "text"
    text_dir.mkdir()
    _write(text_dir / "a.txt", good[:200])
    (text_dir / "b.txt").write_bytes("\n".join(good[200:]).encode("utf-8") + b"\ncaf\xe9\n")
    ref = _write(tmp_path / "ref.txt", refs + ["x"])
    with pytest.raises(Exception) as whole_file:
        read_lines(text_dir / "b.txt")
    rc, _, err = _run(capsys, "score", "-t", str(text_dir), "-r", ref, "--cluster", cluster)
    assert rc == 2 and err == f"evalkit: error: {whole_file.value}\n" and "(line 201)" in err

    tsv = tmp_path / "t.tsv"
    tsv.write_text("mt\tref\n" + "".join(f"{h}\t{r}\n" for h, r in zip(good[:30], refs[:30])) + "only one field\n")
    with pytest.raises(Exception) as whole_file:
        read_tsv(tsv)
    rc, _, err = _run(capsys, "score", "-t", str(tsv), "--cluster", cluster, "--partition-rows", "8")
    assert rc == 2 and err == f"evalkit: error: {whole_file.value}\n" and "line 32 has 1 fields" in err


@pytest.mark.parametrize("argv, message", [
    (["--cluster", "nowhere"], "expected local, local:N or a scheduler address"),
    (["--cluster", "local:0"], "at least one worker"),
    (["-f", "parquet", "-o", "x"], "parquet output is written in partitions"),
    (["--cluster", "local:1", "-f", "json", "-o", "{tmp}/dir/"], "for -f json give a file name"),
    (["--cluster", "local:1", "--input-format", "document"], "a document input is read whole"),
    (["--cluster", "local:1", "-r", "{tmp}/short.txt"], "line counts differ"),
])
def test_cluster_usage_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                          message: str) -> None:
    refs, good, _ = _synthetic(20, seed=7)
    hyp, ref = _write(tmp_path / "hyp.txt", good), _write(tmp_path / "ref.txt", refs)
    _write(tmp_path / "short.txt", refs[:-1])
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "-r" not in argv:
        argv += ["-r", ref]
    rc, out, err = _run(capsys, "score", "-t", hyp, *argv)
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err


# ---------------------------------------------------------------- neural metrics: a model per worker

def test_neural_metric_on_workers(tmp_path: Path, cluster: str, dask_cluster,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """comet-minilm on the workers, each loading the model once for all its partitions. A float32 model's
    output depends on which texts share a batch, so scores agree to float32 rounding, not to the bit."""
    from evalkit.neural.metric import CometMiniLM

    refs, good, _ = _synthetic(40, seed=8)
    hyp, ref = _write(tmp_path / "good.txt", good), _write(tmp_path / "ref.txt", refs)
    argv = ["score", "-t", hyp, "-r", ref, "-m", "comet-minilm", "bleu", "-f", "json", "--neural-cache", "off"]
    single = json.loads(_ok(capsys, *argv))
    got = json.loads(_ok(capsys, *argv, "--cluster", cluster, "--partition-rows", "10"))
    for a, b in zip(single["systems"], got["systems"]):
        assert b["metrics"]["bleu"] == a["metrics"]["bleu"]
        assert b["metrics"]["comet-minilm"]["signature"] == a["metrics"]["comet-minilm"]["signature"]
        assert b["metrics"]["comet-minilm"]["score"] == pytest.approx(a["metrics"]["comet-minilm"]["score"], abs=1e-6)
        assert [s["scores"]["comet-minilm"] for s in b["segments"]] == pytest.approx(
            [s["scores"]["comet-minilm"] for s in a["segments"]], abs=1e-5)
    loaded = dask_cluster[1].run(lambda: sorted(k[0] for k in __import__("evalkit.neural.metric").neural.metric._MODELS))
    assert all(keys.count("encoder") <= 1 and keys.count("estimator") <= 1 for keys in loaded.values())
    assert sum("encoder" in keys for keys in loaded.values()) >= 1
    one, two = CometMiniLM(neural_cache="off"), CometMiniLM(neural_cache="off")
    assert one._encoder() is two._encoder()
