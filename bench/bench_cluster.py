"""Scale-out on Dask: sentence chrF and BLEU for 100k and 1M pairs, one process against ``--cluster local:1/2``.

The pairs are real WMT23 system outputs with their reference (zh-en and he-en, all systems: 54,470 pairs),
repeated and shuffled (seed 1) to each corpus size, written once as one JSONL file (what one process reads)
and as JSONL shards of 50,000 rows (what the workers read). Every run writes sentence-level JSONL, as a user
filtering a corpus would: one process ``-f jsonl -o FILE``; Dask ``-o DIR/`` (partitions). Per run:

* wall seconds and rows/s; CPU seconds of the whole process tree (driver and workers);
* the driver's peak RSS (``getrusage(RUSAGE_SELF)`` inside the driver process: its own memory, not the workers');
* the load average before and after (the machine is shared: CPU seconds are the fairer figure);
* the sentence-level output is checked: the partitions, concatenated, are byte for byte the one-process file.

Then the scheduler's per-task overhead (empty tasks on a 2-worker LocalCluster) and the projected rows/s of a
cluster of N workers. Run it alone: ``flock /tmp/evalkit-heavy.lock python3 bench/bench_cluster.py``.

    python3 bench/bench_cluster.py                      # 100k and 1M rows; one process, local:1, local:2
    python3 bench/bench_cluster.py --sizes 20000 --runs local:2
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"
SHARD_ROWS = 50_000
METRICS = ["chrf", "bleu"]

# The driver: evalkit's CLI, then its own peak RSS and CPU into the file named by $EVALKIT_BENCH_REPORT.
DRIVER = """
import json, os, resource, sys
from evalkit.cli import main
rc = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF)
with open(os.environ["EVALKIT_BENCH_REPORT"], "w") as fh:
    json.dump({"rc": rc, "maxrss_mb": me.ru_maxrss / 1024, "cpu_driver": me.ru_utime + me.ru_stime}, fh)
"""


def build_pairs(data: Path) -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from evalkit.io.wmt import WMTLayout

    layout = WMTLayout(data)
    pairs = []
    for lp in ("zh-en", "he-en"):
        ref = layout.reference(lp)
        for name in layout.system_names(lp):
            pairs.extend(zip(layout.system_output(lp, name), ref))
    return pairs


def write_corpus(pairs: list[tuple[str, str]], n: int, root: Path) -> tuple[Path, Path]:
    """``root/all.jsonl`` and ``root/shards/part-*.jsonl``: n pairs drawn from ``pairs``, shuffled, seed 1."""
    rng = random.Random(1)
    shards = root / "shards"
    shards.mkdir(parents=True)
    whole = root / "all.jsonl"
    with open(whole, "w", encoding="utf-8") as out:
        shard = None
        for i in range(n):
            if i % SHARD_ROWS == 0:
                if shard:
                    shard.close()
                shard = open(shards / f"part-{i // SHARD_ROWS:04d}.jsonl", "w", encoding="utf-8")
            hyp, ref = pairs[rng.randrange(len(pairs))]
            line = json.dumps({"mt": hyp, "ref": ref}, ensure_ascii=False) + "\n"
            out.write(line)
            shard.write(line)  # type: ignore[union-attr]
        shard.close()  # type: ignore[union-attr]
    return whole, shards


def run(argv: list[str]) -> dict[str, float]:
    """One evalkit run in a fresh driver process: wall, CPU of the tree, the driver's peak RSS, load."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "EVALKIT_BENCH_REPORT": report.name}
        env.pop("EVALKIT_CLUSTER", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", DRIVER, *argv], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = Path(report.name).read_text()
    if proc.returncode != 0 or not text:
        sys.exit(f"bench: evalkit {' '.join(argv[:4])} ... failed: {proc.stderr.strip()[-2000:]}")
    info = json.loads(text)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "maxrss_mb": info["maxrss_mb"], "load0": load0, "load1": os.getloadavg()[0]}


def fits(table: dict[tuple[int, str], dict[str, float]], n: int) -> bool:
    """Whether one process can hold ``n`` rows: its peak RSS per row so far, times n, within half the free RAM."""
    done = [(m, r) for (m, name), r in table.items() if name == "single"]
    if not done:
        return True
    m, r = max(done)
    need = r["maxrss_mb"] / m * n
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    if need <= free / 2:
        return True
    print(f"{n:>9,} rows  single    skipped: at {r['maxrss_mb'] / m * 1024:.0f} kB a row (measured at {m:,} rows) "
          f"one process needs ~{need / 1024:.0f} GB, and {free / 1024:.0f} GB are free")
    return False


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def task_overhead(n_tasks: int = 2000) -> float:
    """Seconds per task the scheduler spends on an empty task (2 workers, so the scheduler is the bottleneck)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as lc, Client(lc) as client:
        client.gather(client.map(int, range(50), pure=False))  # warm up
        t0 = time.perf_counter()
        client.gather(client.map(int, range(n_tasks), pure=False))
        return (time.perf_counter() - t0) / n_tasks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the mt-metrics-eval wmt23 folder")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--runs", nargs="+", default=["single", "local:1", "local:2"])
    ap.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: a new temp dir, removed after)")
    args = ap.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"bench: {args.data} not found")
    pairs = build_pairs(args.data)
    scratch = Path(tempfile.mkdtemp(prefix="evalkit-cluster-", dir=args.tmp))
    print(f"{len(pairs)} distinct WMT23 pairs; scratch {scratch}; {os.cpu_count()} cores")
    table: dict[tuple[int, str], dict[str, float]] = {}
    try:
        for n in args.sizes:
            root = scratch / str(n)
            whole, shards = write_corpus(pairs, n, root)
            outputs = {}
            for name in args.runs:
                if name == "single" and not fits(table, n):
                    continue
                if name == "single":
                    out = root / "single.jsonl"
                    cmd = ["score", "-t", str(whole), "-m", *METRICS, "-f", "jsonl", "-o", str(out), "--workers", "1",
                           "--names", "corpus"]
                    files = [out]
                else:
                    out = root / name.replace(":", "-")
                    cmd = ["score", "-t", str(shards), "-m", *METRICS, "-o", f"{out}/", "--cluster", name,
                           "--names", "corpus"]
                r = run(cmd)
                if name != "single":
                    files = sorted(out.glob("part-*.jsonl"))
                outputs[name] = digest(files)
                r["rows_per_s"] = n / r["wall"]
                table[(n, name)] = r
                print(f"{n:>9,} rows  {name:8s}  wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s  "
                      f"{r['rows_per_s']:8,.0f} rows/s  driver peak RSS {r['maxrss_mb']:7.0f} MB  "
                      f"load {r['load0']:.1f} -> {r['load1']:.1f}", flush=True)
                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
            same = len(set(outputs.values())) == 1
            print(f"{n:>9,} rows  sentence-level outputs identical across runs: {same}")
            if not same:
                sys.exit("bench: outputs differ")
            shutil.rmtree(root)
        overhead = task_overhead()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nscheduler overhead: {overhead * 1000:.2f} ms per empty task ({1 / overhead:,.0f} tasks/s)")
    big = max(args.sizes)
    for a, b in (("local:1", "local:2"), ("single", "local:2"), ("single", "local:1")):
        if (big, a) in table and (big, b) in table:
            ta, tb = table[(big, a)], table[(big, b)]
            print(f"{big:,} rows: {b} / {a}: throughput x{tb['rows_per_s'] / ta['rows_per_s']:.2f}, "
                  f"CPU x{tb['cpu'] / ta['cpu']:.2f}")
    for name in args.runs:
        sizes = [n for n in args.sizes if (n, name) in table]
        if len(sizes) > 1:
            lo, hi = table[(sizes[0], name)], table[(sizes[-1], name)]
            print(f"{name}: driver peak RSS {lo['maxrss_mb']:.0f} MB at {sizes[0]:,} rows, {hi['maxrss_mb']:.0f} MB at "
                  f"{sizes[-1]:,} (x{hi['maxrss_mb'] / lo['maxrss_mb']:.2f} for x{sizes[-1] / sizes[0]:.0f} rows)")
    if (big, "local:2") in table:
        project(table[(big, "local:2")]["rows_per_s"] / 2, overhead)
    return 0


def project(per_worker: float, overhead: float, rows: int = 10_000_000) -> None:
    """rows/s of N workers on a corpus of ``rows`` in evalkit's default partitions: every worker at the measured
    per-worker rate, less the idle workers of the last wave, and never more than the scheduler can hand out."""
    from evalkit.cluster.plan import default_partition_rows

    partition = default_partition_rows(rows)
    parts = math.ceil(rows / partition)
    print(f"\nprojection for {rows:,} rows in {parts} partitions of {partition:,} (per worker {per_worker:,.0f} rows/s, "
          f"scheduler ceiling {partition / overhead:,.0f} rows/s):")
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024):
        waves = math.ceil(parts / n)
        rate = min(rows / (waves * partition / per_worker), partition / overhead)
        print(f"  {n:>5} workers: {rate:>12,.0f} rows/s")


if __name__ == "__main__":
    sys.exit(main())
