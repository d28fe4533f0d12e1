"""Time `evalkit metaeval` with BLEU and chrF on WMT23 against doing the scoring with sacrebleu's API.

Without evalkit, a meta-evaluation needs every system's corpus BLEU/chrF and its sentence BLEU/chrF
(for the segment-level statistics): sacrebleu's ``corpus_score`` plus one ``sentence_score`` per
segment. This runs that, then evalkit cold (empty cache), cached, and with the full 1000-sample
bootstrap, checks that the corpus scores agree, and prints the timings and the ratio.

    python3 bench/bench_metaeval.py [--data DIR] [--lp zh-en,he-en,en-de] [--n-bootstrap 1000]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF

from evalkit.metaeval.data import load_lp
from evalkit.metaeval.pipeline import run_metaeval
from evalkit.metaeval.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"


def cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def sacrebleu_scoring(data: Path, lps: list[str]) -> tuple[float, float, dict[tuple[str, str, str], float]]:
    source = open_source(data)
    scores: dict[tuple[str, str, str], float] = {}
    t0, c0 = time.perf_counter(), cpu()
    for lp in lps:
        d, _ = load_lp(source, lp, None)
        ref = source.reference(lp)
        bleu, sent_bleu = BLEU(trg_lang=lp.split("-")[1]), BLEU(trg_lang=lp.split("-")[1], effective_order=True)
        chrf = CHRF()
        for system in d.systems:
            hyps = source.output(lp, system)
            scores[(lp, system, "bleu")] = bleu.corpus_score(hyps, [ref]).score
            scores[(lp, system, "chrf")] = chrf.corpus_score(hyps, [ref]).score
            for h, r in zip(hyps, ref):
                sent_bleu.sentence_score(h, [r])
                chrf.sentence_score(h, [r])
    return time.perf_counter() - t0, cpu() - c0, scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--lp", default="zh-en,he-en,en-de")
    ap.add_argument("--n-bootstrap", type=int, default=1000)
    args = ap.parse_args()
    lps = args.lp.split(",")
    print(f"data {args.data}; pairs {', '.join(lps)}; {len(os.sched_getaffinity(0))} cores; "
          f"load average {os.getloadavg()[0]:.1f}")

    wall, cpu_s, reference = sacrebleu_scoring(Path(args.data), lps)
    print(f"sacrebleu API, corpus + sentence BLEU/chrF:  {wall:7.1f} s wall  {cpu_s:7.1f} s CPU")

    with tempfile.TemporaryDirectory() as cache:
        runs = {}
        for label, n_boot in (("evalkit cold (empty cache), no bootstrap", 0),
                              ("evalkit cached, no bootstrap", 0),
                              (f"evalkit cached, {args.n_bootstrap} bootstrap samples", args.n_bootstrap)):
            t0, c0 = time.perf_counter(), cpu()
            res = run_metaeval(args.data, lps, ["bleu", "chrf"], n_bootstrap=n_boot, cache_dir=cache)
            runs[label] = (time.perf_counter() - t0, cpu() - c0, res)
            print(f"{label + ':':45s} {runs[label][0]:7.1f} s wall  {runs[label][1]:7.1f} s CPU  "
                  f"(scoring {res.timings['score_s']:.1f} s, statistics {res.timings['statistics_s']:.1f} s)")
    res = runs["evalkit cold (empty cache), no bootstrap"][2]
    worst = max(abs(res.metrics[m][lp].sys[i] - reference[(lp, s, m)])
                for m in ("bleu", "chrf") for lp in lps for i, s in enumerate(res.data[lp].systems))
    print(f"largest corpus-score difference evalkit vs sacrebleu: {worst:.2e}")
    cold = runs["evalkit cold (empty cache), no bootstrap"]
    print(f"sacrebleu / evalkit cold: {wall / cold[0]:.1f}x wall, {cpu_s / cold[1]:.1f}x CPU")
    acc = {m: res.overall(m, "pairwise_accuracy")[0] for m in ("bleu", "chrf")}
    print("pooled pairwise accuracy: " + ", ".join(f"{m} {v:.3f}" for m, v in acc.items()))


if __name__ == "__main__":
    main()
