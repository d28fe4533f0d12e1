"""What there is to train a learned metric on: every human-judgment set, per language pair, in one table.

For each set and pair: rows, distinct source segments, systems, rows with a reference (or with a
post-edit), label mean and sd, and the alignment check: Kendall tau-b of sentence chrF (sacrebleu
defaults, against the reference, else the post-edit) with the label, beside the same tau when each
hyp is scored against the text of another segment (the floor a misaligned set would sit on); the
same per group for pairs that pool a few campaigns (news-mqm: newstest2020 and 2021). Then what the
readers skipped or settled by a rule. A pair is flagged when its tau is under 0.05 or within
0.1 of its floor.

    python bench/check_judgments.py                    # every set
    python bench/check_judgments.py --sets wmt22-da --lps zh-en
    flock /tmp/evalkit-heavy.lock python bench/check_judgments.py   # the whole run (a few minutes)

WMT23 is test data and is never read (see ``evalkit.neural.judgments.FOLDERS``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalkit.neural.judgments import SETS, Judgment, alignment_check, load_judgments  # noqa: E402

DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
FLAG_TAU, FLAG_MARGIN = 0.05, 0.1


def table(rows: list[Judgment], check: dict[str, dict[str, float]]) -> list[str]:
    by: dict[str, list[Judgment]] = defaultdict(list)
    for j in rows:
        by[f"{j.dataset}:{j.lp}"].append(j)
    header = ("| set | pair | rows | sources | systems | with ref | with post-edit | scale | label mean | label sd "
              "| tau chrF | floor | flag |")
    out = [header, "|---" * header.count(" | ") + "|---|"]
    for key in sorted(by, key=lambda k: (SETS.index(k.split(":")[0]), k)):
        js = by[key]
        labels = np.array([j.label for j in js])
        c = check[key]
        tau, floor = c.get("tau"), c.get("tau_other_segment")
        flag = ""
        if tau is not None and (tau < FLAG_TAU or (floor is not None and tau - floor < FLAG_MARGIN)):
            flag = "LOW"
        dataset, lp = key.split(":")
        scales = ",".join(sorted({j.scale for j in js}))
        out.append(f"| {dataset} | {lp} | {len(js)} | {len({j.segment for j in js})} | {len({j.system for j in js})} "
                   f"| {sum(1 for j in js if j.refs)} | {sum(1 for j in js if j.post_edit is not None)} | {scales} "
                   f"| {labels.mean():.3f} | {labels.std():.3f} "
                   f"| {'-' if tau is None else f'{tau:.3f}'} | {'-' if floor is None else f'{floor:.3f}'} | {flag} |")
    return out


def by_group(rows: list[Judgment]) -> str:
    """The check again per standardisation group, for pairs that pool a few campaigns (2 to 5 groups)."""
    groups: dict[str, set[str]] = defaultdict(set)
    for j in rows:
        groups[f"{j.dataset}:{j.lp}"].add(j.group)
    pooled = {g for gs in groups.values() if 2 <= len(gs) <= 5 for g in gs}
    check = alignment_check([j for j in rows if j.group in pooled], floor=True, by_group=True)
    out = ["\n| group | rows | tau chrF | floor |", "|---|---|---|---|"]
    out += [f"| {g} | {c['n']} | {c['tau']:.3f} | {c['tau_other_segment']:.3f} |" for g, c in check.items() if "tau" in c]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    p.add_argument("--lps", nargs="+", default=None, help="only these language pairs")
    args = p.parse_args()
    counts: Counter[str] = Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    rows = load_judgments(DATA, args.sets, args.lps, counts=counts)
    load = (time.perf_counter() - wall, time.process_time() - cpu)
    wall, cpu = time.perf_counter(), time.process_time()
    check = alignment_check(rows, floor=True)
    checked = (time.perf_counter() - wall, time.process_time() - cpu)
    print("\n".join(table(rows, check)))
    print(by_group(rows))
    print(f"\n{len(rows)} judgments; loading {load[0]:.1f} s wall / {load[1]:.1f} s CPU, "
          f"alignment check {checked[0]:.1f} s wall / {checked[1]:.1f} s CPU\n")
    print("| skipped or settled by a rule | rows |\n|---|---|")
    for what, n in sorted(counts.items()):
        print(f"| {what} | {n} |")


if __name__ == "__main__":
    main()
