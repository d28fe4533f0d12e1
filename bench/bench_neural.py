"""Speed of comet-minilm on a CPU: every WMT23 zh-en system (15 x 1976 segments) against reference A.

Runs, in one process, through ``evalkit.score`` (the path a user takes):
  cold    empty cache folder: every distinct text is embedded
  cached  the same run again: every embedding comes from the on-disk cache
for fp32 and int8 (dynamic quantisation of the encoder's Linear layers), and prints segments per second.
Then the agreement of int8 with fp32: Pearson r and Kendall tau of the 29,640 segment scores, and of
the 15 system scores.

Unbabel's COMET cannot run here (it downloads its model from a hub at first use, and there is no
network); the figure it is compared with is the issue's measurement of a wmt22-comet-da-sized model:
1.1 segments/s on 2 cores.

    python bench/bench_neural.py                  # 2 threads, fp32 and int8
    python bench/bench_neural.py --threads 2 --dtypes int8 --systems 5
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
COMET_SEG_PER_S = 1.1  # the measurement, wmt22-comet-da-sized model on 2 cores (not run here)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    ap.add_argument("--systems", type=int, default=0, help="only the first N systems (0 = all 15)")
    ap.add_argument("--lp", default="zh-en")
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
    systems = lay.system_outputs(args.lp)
    if args.systems:
        systems = dict(list(systems.items())[: args.systems])
    testset = TestSet(refs=[lay.reference(args.lp)], systems=systems, srcs=lay.source(args.lp))
    n_segments = len(testset) * len(systems)
    distinct = len({t for h in systems.values() for t in h} | set(testset.refs[0]))
    print(f"WMT23 {args.lp}: {len(systems)} systems x {len(testset)} segments = {n_segments} segments "
          f"({distinct} distinct texts with the reference), {args.threads} threads, torch {torch.__version__}")
    seg_scores: dict[str, np.ndarray] = {}
    sys_scores: dict[str, np.ndarray] = {}
    rows = []
    for dtype in args.dtypes:
        with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as cache:
            for phase in ("cold", "cached"):
                t0 = time.perf_counter()
                result = score(testset=testset, metrics=["comet-minilm"],
                               options={"neural_cache": cache, "neural_dtype": dtype})
                dt = time.perf_counter() - t0
                rows.append((dtype, phase, dt, n_segments / dt))
                print(f"  {dtype:5s} {phase:6s} {dt:8.1f} s  {n_segments / dt:9.1f} seg/s", flush=True)
        seg_scores[dtype] = np.concatenate([[s.scores["comet-minilm"] for s in r.segments] for r in result.systems])
        sys_scores[dtype] = np.array([r.metrics["comet-minilm"].score for r in result.systems])
        notes = [n for n in result.notes if "truncated" in n]
        if notes:
            print(f"  {notes[0]}")

    print()
    print(f"{'dtype':6s} {'phase':7s} {'seconds':>8s} {'seg/s':>9s} {'x COMET (1.1 seg/s, not run here)':>34s}")
    for dtype, phase, dt, rate in rows:
        print(f"{dtype:6s} {phase:7s} {dt:8.1f} {rate:9.1f} {rate / COMET_SEG_PER_S:34.0f}")
    if "fp32" in seg_scores and "int8" in seg_scores:
        a, b = seg_scores["fp32"], seg_scores["int8"]
        sa, sb = sys_scores["fp32"], sys_scores["int8"]
        print()
        print(f"int8 vs fp32, segments: Pearson {pearsonr(a, b).statistic:.4f}, Kendall {kendalltau(a, b).statistic:.4f}, "
              f"mean |diff| {np.abs(a - b).mean():.4f} (score sd {a.std():.3f})")
        print(f"int8 vs fp32, systems:  Pearson {pearsonr(sa, sb).statistic:.4f}, Kendall {kendalltau(sa, sb).statistic:.4f}, "
              f"max |diff| {np.abs(sa - sb).max():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
