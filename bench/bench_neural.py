"""Speed of evalkit's neural metrics on a CPU, on WMT23 zh-en (reference A, the source where a metric reads it).

For each metric (default: comet-minilm, comet-e5, comet-e5-qe), each system count (one system, then all
15: sources and references shared across systems) and each dtype (fp32, int8 dynamic quantisation of the
encoder's Linear layers), one process runs, through ``evalkit.score`` (the path a user takes):
  cold    empty cache folder: every distinct input is encoded
  cached  the same run again: every score or embedding comes from the on-disk cache
and prints segments per second. Then, on all systems: int8 against fp32 (Pearson r and Kendall tau of
segment and system scores) and the largest change of a segment score when only the batch size changes
(must stay below 1e-5).

Unbabel's COMET cannot run here (it downloads its model from a hub at first use); the figure it is
compared with is the earlier measurement of a wmt22-comet-da-sized model: 1.1 segments/s on 2 cores.

    python bench/bench_neural.py
    python bench/bench_neural.py --metrics comet-e5 --dtypes fp32 --counts 1
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
WMT23 = DATA / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"
COMET_SEG_PER_S = 1.1  # the earlier measurement, wmt22-comet-da-sized model on 2 cores (not run here)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--metrics", nargs="+", default=["comet-minilm", "comet-e5", "comet-e5-qe"])
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    ap.add_argument("--counts", nargs="+", type=int, default=[1, 0], help="system counts (0 = all 15)")
    ap.add_argument("--lp", default="zh-en")
    ap.add_argument("--batch-check", type=int, default=200, help="segments for the batch-size check (0: skip)")
    args = ap.parse_args()
    if not WMT23.is_dir():
        print(f"skipped: {WMT23} not found (../shared/data is absent)")
        return 0

    import torch

    torch.set_num_threads(args.threads)
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.threads]))
    from scipy.stats import kendalltau, pearsonr

    from evalkit.api import score
    from evalkit.io.wmt import WMTLayout
    from evalkit.testset import TestSet

    lay = WMTLayout(WMT23)
    every = lay.system_outputs(args.lp)
    refs, srcs = [lay.reference(args.lp)], lay.source(args.lp)
    print(f"WMT23 {args.lp}: {len(every)} systems x {len(srcs)} segments, {args.threads} threads, torch {torch.__version__}")
    rows = []
    for metric in args.metrics:
        seg_scores: dict[str, np.ndarray] = {}
        sys_scores: dict[str, np.ndarray] = {}
        for count in args.counts:
            systems = dict(list(every.items())[:count]) if count else every
            testset = TestSet(refs=refs, systems=systems, srcs=srcs)
            n = len(testset) * len(systems)
            for dtype in args.dtypes:
                with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as cache:
                    for phase in ("cold", "cached"):
                        t0, c0 = time.perf_counter(), cpu_seconds()
                        result = score(testset=testset, metrics=[metric],
                                       options={"neural_cache": cache, "neural_dtype": dtype})
                        dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
                        rows.append((metric, len(systems), dtype, phase, dt, cpu, n / dt))
                        print(f"  {metric:12s} {len(systems):2d} sys {dtype:5s} {phase:6s} {dt:8.1f} s wall "
                              f"{cpu:8.1f} s CPU {n / dt:9.1f} seg/s", flush=True)
                if count == 0 or len(systems) == len(every):
                    seg_scores[dtype] = np.concatenate([[s.scores[metric] for s in r.segments] for r in result.systems])
                    sys_scores[dtype] = np.array([r.metrics[metric].score for r in result.systems])
        if "fp32" in seg_scores and "int8" in seg_scores:
            a, b = seg_scores["fp32"], seg_scores["int8"]
            sa, sb = sys_scores["fp32"], sys_scores["int8"]
            print(f"  {metric}: int8 vs fp32, segments Pearson {pearsonr(a, b).statistic:.4f}, Kendall "
                  f"{kendalltau(a, b).statistic:.4f}, mean |diff| {np.abs(a - b).mean():.4f} (score sd {a.std():.3f}); "
                  f"systems Pearson {pearsonr(sa, sb).statistic:.4f}, Kendall {kendalltau(sa, sb).statistic:.4f}")
        if args.batch_check:
            name = next(iter(every))
            sub = TestSet(refs=[refs[0][:args.batch_check]], systems={name: every[name][:args.batch_check]},
                          srcs=srcs[:args.batch_check])
            runs = [np.array([s.scores[metric] for s in score(testset=sub, metrics=[metric], options={
                "neural_cache": "off", "batch_size": bs}).systems[0].segments]) for bs in (1, 7, 64)]
            worst = max(float(np.abs(r - runs[-1]).max()) for r in runs[:-1])
            print(f"  {metric}: batch sizes 1, 7, 64 on {args.batch_check} segments: max |diff| {worst:.2e} "
                  f"({'ok' if worst <= 1e-5 else 'ABOVE 1e-5'})", flush=True)

    print()
    print(f"{'metric':12s} {'systems':>7s} {'dtype':6s} {'phase':7s} {'wall s':>8s} {'CPU s':>8s} {'seg/s':>9s} "
          f"{'x COMET (1.1 seg/s)':>20s}")
    for metric, count, dtype, phase, dt, cpu, rate in rows:
        print(f"{metric:12s} {count:7d} {dtype:6s} {phase:7s} {dt:8.1f} {cpu:8.1f} {rate:9.1f} {rate / COMET_SEG_PER_S:20.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
