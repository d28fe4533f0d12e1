"""Time ``evalkit score -m bleu chrf ter`` against the ``sacrebleu`` CLI on all WMT23 zh-en systems.

Both tools score the same 15 system outputs (1,976 segments each) against refA in one process
each, as a user would run them; the script checks that the corpus scores agree to sacrebleu's
printed precision, then prints both wall-clock times and the ratio evalkit / sacrebleu.

    python3 bench/bench_score.py                  # all 15 systems, bleu chrf ter
    python3 bench/bench_score.py --metrics bleu chrf --systems 5
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"
SACRE_NAMES = {"bleu": "BLEU", "chrf": "chrF2", "chrf++": "chrF2++", "ter": "TER"}


def _tool(name: str) -> list[str]:
    """The console script next to this Python, else on PATH, else ``python -m``."""
    local = Path(sys.executable).with_name(name)
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found:
        return [found]
    return [sys.executable, "-m", name]


def _timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:3])} ... failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return elapsed, proc.stdout


def _sacrebleu_scores(parsed: list[dict], names: list[str]) -> dict[str, dict[str, str]]:
    """sacrebleu's JSON: one row per system (several systems), or one object per metric (one system)."""
    if parsed and "system" in parsed[0]:
        return {Path(row["system"]).stem: row for row in parsed}
    return {names[0]: {row["name"]: str(row["score"]) for row in parsed}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the mt-metrics-eval wmt23 folder")
    ap.add_argument("--lp", default="zh-en")
    ap.add_argument("--metrics", nargs="+", default=["bleu", "chrf", "ter"], choices=list(SACRE_NAMES))
    ap.add_argument("--systems", type=int, default=None, help="only the first N systems (default: all)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from evalkit.io.wmt import WMTLayout

    if not (args.data / "system-outputs").is_dir():
        sys.exit(f"bench: no WMT23 data at {args.data} (pass --data)")
    layout = WMTLayout(args.data)
    names = layout.system_names(args.lp)[: args.systems]
    outputs = [str(args.data / "system-outputs" / args.lp / f"{n}.txt") for n in names]
    ref = str(args.data / "references" / f"{args.lp}.{layout.standard_ref(args.lp)}.txt")

    sacre_cmd = [*_tool("sacrebleu"), ref, "-i", *outputs, "-m", *args.metrics, "-w", "4", "-f", "json"]
    # TSV: every segment score plus a corpus row per system, with 4 decimals like sacrebleu's -w 4.
    evalkit_cmd = [*_tool("evalkit"), "score", "-t", *outputs, "-r", ref, "-m", *args.metrics, "--names", *names,
                   "--format", "tsv"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.lp}: {len(names)} systems x {len(layout.reference(args.lp))} segments, "
          f"metrics {' '.join(args.metrics)}, {cores} cores", flush=True)

    t_evalkit, out_evalkit = _timed(evalkit_cmd)
    print(f"evalkit   {t_evalkit:8.1f} s", flush=True)
    t_sacre, out_sacre = _timed(sacre_cmd)
    print(f"sacrebleu {t_sacre:8.1f} s", flush=True)

    rows = [line.split("\t") for line in out_evalkit.splitlines()]
    header = rows[0]
    ours = {r[0]: dict(zip(header[2:], r[2:])) for r in rows[1:] if r[1] == "corpus"}
    theirs = _sacrebleu_scores(json.loads(out_sacre[out_sacre.index("["):]), names)
    worst = 0.0
    for name in names:
        for m in args.metrics:
            worst = max(worst, abs(float(ours[name][m]) - float(theirs[name][SACRE_NAMES[m]])))
    if worst > 1e-4 + 1e-9:
        sys.exit(f"bench: scores disagree with sacrebleu by up to {worst}")
    print(f"scores agree with sacrebleu on all {len(names)} systems x {len(args.metrics)} metrics (4 decimals)")
    print(f"ratio evalkit/sacrebleu = {t_evalkit / t_sacre:.3f}x  (target <= 1.0x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
