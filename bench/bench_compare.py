"""Speed of ``evalkit compare`` against ``sacrebleu --paired-bs`` / ``--paired-ar``, and the same p-values.

The 16 WMT17 en-de systems of sacrebleu's significance tests (3004 segments; baseline LIUM-NMT, listed
first as sacrebleu wants it), BLEU (tokenize none, as in sacrebleu's tests), chrF and TER, default
samples (1000 bootstrap resamples, 10000 AR trials) and seed 12345 on both sides. Each tool is run as a
user would run it, from the command line, wall-clock timed, in one run of this script:

  sacrebleu REF -i BASELINE SYS... -m bleu chrf ter -tok none --paired-bs -f text
  sacrebleu REF -i BASELINE SYS... -m bleu chrf ter -tok none --paired-ar -f text
  evalkit compare -t BASELINE SYS... -r REF -m bleu chrf ter --tokenize none --baseline BASELINE --test both \
                  --ties strict

``--ties strict`` is sacrebleu's rule for a resampled difference equal to the observed one (evalkit's
default counts such ties, which changes TER's AR p-values slightly; see evalkit/stats/significance.py).

sacrebleu needs two runs (one test each; statistics extracted twice); evalkit computes the statistics once
and runs both tests on them; it uses every core for the statistics (``--workers``), sacrebleu one
(``--paired-jobs 1``, its default), so CPU seconds are printed beside wall-clock ones. (sacrebleu's ``-f json`` cannot print paired-bootstrap results: its float32
means are not JSON-serialisable; the p-values are read from its table, at its printed precision.) Ratios are printed per test and for the pair of runs; every p-value of every
system and metric must agree.

    python bench/bench_compare.py               # everything (several minutes: sacrebleu's AR is slow)
    python bench/bench_compare.py --systems 6   # the baseline and the first 5 others
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SYSTEMS = DATA / "sacrebleu-reference" / "wmt17_en_de_systems_txt"
BASELINE = "newstest2017.LIUM-NMT.4900.en-de"
METRICS = [("bleu", "BLEU"), ("chrf", "chrF2"), ("ter", "TER")]  # sacrebleu's column order


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(label: str, cmd: list[str]) -> tuple[float, float, str]:
    """Wall-clock seconds (and CPU seconds, printed: steadier than wall time on a shared machine)."""
    cpu0, start = _child_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SACREBLEU_SEED": "12345"})
    elapsed, cpu = time.perf_counter() - start, _child_cpu() - cpu0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    print(f"{label:34s} {elapsed:8.1f} s wall {cpu:8.1f} s CPU", flush=True)
    return elapsed, cpu, proc.stdout


def sacrebleu_p_values(table: str, n_metrics: int) -> list[list[float]]:
    """``(p = 0.0123)`` cells of sacrebleu's table: one row per non-baseline system, metrics in column order."""
    rows = []
    for line in table.splitlines():
        found = re.findall(r"\(p = ([0-9.]+)\)", line)
        if found:
            if len(found) != n_metrics:
                sys.exit(f"cannot read sacrebleu's table line: {line!r}")
            rows.append([float(x) for x in found])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", type=int, default=16, help="how many systems, baseline included (default 16)")
    ap.add_argument("--workers", type=int, default=None, help="evalkit --workers (default: all cores)")
    args = ap.parse_args()
    if not SYSTEMS.exists():
        sys.exit(f"data not available: {SYSTEMS}")
    others = sorted(p.name[:-4] for p in SYSTEMS.glob("*.txt") if ".reference." not in p.name and BASELINE not in p.name)
    names = [BASELINE, *others][: args.systems]
    ref = SYSTEMS / "newstest2017.reference.en-de.txt"
    with tempfile.TemporaryDirectory() as tmp:
        # Short names, so that both tools label systems identically.
        paths = []
        for n in names:
            p = Path(tmp) / f"{n.split('.')[1]}.txt"
            p.write_bytes((SYSTEMS / f"{n}.txt").read_bytes())
            paths.append(str(p))
        sb = [sys.executable, "-m", "sacrebleu", str(ref), "-i", *paths, "-m", "bleu", "chrf", "ter",
              "-tok", "none", "-f", "text", "-q", "--no-color"]
        ek = [sys.executable, "-m", "evalkit", "compare", "-t", *paths, "-r", str(ref), "-m", "bleu", "chrf", "ter",
              "--tokenize", "none", "--baseline", paths[0], "--seed", "12345", "--ties", "strict", "--format", "json"]
        if args.workers:
            ek += ["--workers", str(args.workers)]
        print(f"{len(names)} systems x {sum(1 for _ in open(ref, encoding='utf-8'))} segments, BLEU/chrF/TER, "
              f"baseline {names[0]}", flush=True)
        t_bs, c_bs, out_bs = timed("sacrebleu --paired-bs", sb + ["--paired-bs"])
        t_ar, c_ar, out_ar = timed("sacrebleu --paired-ar", sb + ["--paired-ar"])
        t_ek_bs, c_ek_bs, _ = timed("evalkit compare --test bootstrap", ek + ["--test", "bootstrap"])
        t_ek_ar, c_ek_ar, _ = timed("evalkit compare --test ar", ek + ["--test", "ar"])
        t_ek, c_ek, out_ek = timed("evalkit compare --test both", ek + ["--test", "both"])

    sacre = {"bootstrap": sacrebleu_p_values(out_bs, len(METRICS)), "ar": sacrebleu_p_values(out_ar, len(METRICS))}
    ours = json.loads(out_ek)
    short = [Path(p).stem for p in paths]
    checked = mismatched = 0
    for test, rows in sacre.items():
        if len(rows) != len(short) - 1:
            sys.exit(f"sacrebleu {test}: {len(rows)} result rows for {len(short) - 1} systems")
        for row, name in zip(rows, short[1:]):
            for (key, _), expected in zip(METRICS, row):
                got = next(p["p_value"] for p in ours["pairs"]
                           if p["a"] == name and p["metric"] == key and p["test"] == test)
                checked += 1
                if f"{got:.4f}" != f"{expected:.4f}":
                    mismatched += 1
                    print(f"  MISMATCH {test} {name} {key}: evalkit {got:.6f} sacrebleu {expected:.6f}")
    print()
    print(f"p-values: {checked - mismatched}/{checked} equal at sacrebleu's printed precision (4 decimals)")
    print("speed-up (sacrebleu / evalkit)  wall    CPU")
    print(f"  bootstrap                   {t_bs / t_ek_bs:6.1f}x {c_bs / c_ek_bs:6.1f}x")
    print(f"  AR                          {t_ar / t_ek_ar:6.1f}x {c_ar / c_ek_ar:6.1f}x")
    print(f"  both tests                  {(t_bs + t_ar) / t_ek:6.1f}x {(c_bs + c_ar) / c_ek:6.1f}x"
          "  (sacrebleu: two runs, evalkit: one)")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
