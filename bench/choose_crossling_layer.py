"""Which multilingual-e5 layer aligns MT words to source words best (evalkit/spans/crossling.py's LAYER)?

On MLQE-PE *train* sentences (never WMT23), per layer: precision/recall/F1 of SimAlign ArgMax links against
the shipped source-MT word alignments, and how well an MT word's best source similarity separates its
OK/BAD word tag (AUC: P(a BAD word scores lower than an OK word)).

    python bench/choose_crossling_layer.py --pairs en-de en-zh ro-en --sample 150
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalkit.io.text import read_lines  # noqa: E402
from evalkit.spans.crossling import CrossEncoder, links  # noqa: E402
from evalkit.spans.types import Token  # noqa: E402

DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def words(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def auc(bad: list[float], ok: list[float]) -> float:
    ok_sorted = np.sort(np.asarray(ok))
    wins = sum(len(ok_sorted) - np.searchsorted(ok_sorted, x, side="right")
               + 0.5 * (np.searchsorted(ok_sorted, x, side="right") - np.searchsorted(ok_sorted, x)) for x in bad)
    return float(wins / (len(bad) * len(ok))) if bad and ok else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", nargs="+", default=["en-de", "en-zh", "ro-en"])
    p.add_argument("--sample", type=int, default=150)
    args = p.parse_args()
    layers = list(range(1, 13))
    enc = CrossEncoder(layers)
    print("| pair | layer | link P | link R | link F1 | BAD-word AUC |")
    print("|---|---|---|---|---|---|")
    for lp in args.pairs:
        folder = DATA / "mlqe-pe" / "data" / "post-editing" / "train" / f"{lp}-train"
        src, mt, al, tags = (read_lines(folder / f"train.{k}") for k in ("src", "mt", "src-mt.alignments", "tags"))
        rows = random.Random(0).sample(range(len(src)), args.sample)
        s_tok = [words(src[k]) for k in rows]
        m_tok = [words(mt[k]) for k in rows]
        s_vec = enc.encode([src[k] for k in rows], s_tok)
        m_vec = enc.encode([mt[k] for k in rows], m_tok)
        for li, layer in enumerate(layers):
            tp = pred = gold = 0
            bad: list[float] = []
            ok: list[float] = []
            for n, k in enumerate(rows):
                sim = m_vec[n][li] @ s_vec[n][li].T
                got = {(j, i) for i, j in links(sim)}
                ref = {tuple(int(x) for x in a.split("-")) for a in al[k].split()}
                tp, pred, gold = tp + len(got & ref), pred + len(got), gold + len(ref)
                best = sim.max(axis=1) if sim.size else np.zeros(len(m_tok[n]))
                for i, t in enumerate(tags[k].split()[1::2][:len(best)]):
                    (bad if t == "BAD" else ok).append(float(best[i]))
            pr, rc = tp / max(pred, 1), tp / max(gold, 1)
            print(f"| {lp} | {layer} | {pr:.3f} | {rc:.3f} | {2 * pr * rc / max(pr + rc, 1e-9):.3f} | "
                  f"{auc(bad, ok):.3f} |", flush=True)


if __name__ == "__main__":
    main()
