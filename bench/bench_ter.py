"""TER speed: evalkit's aligner vs sacrebleu's TER, in one run, with exactness checks.

    python3 bench/bench_ter.py                  # WMT23 zh-en corpus TER + long-segment stress
    python3 bench/bench_ter.py --verify-all     # also: every segment of every WMT23 system, all pairs
    python3 bench/bench_ter.py --skip-corpus --skip-stress --tags dev   # MLQE-PE word/gap tag agreement

1. WMT23 zh-en, every system: corpus TER through evalkit's TER metric vs ``sacrebleu.metrics.TER``
   (scores must be identical), both timed; prints the ratio.
2. Long segments: 300 pseudo-segments of ~237 words, each the concatenation of consecutive zh-en
   lines (MT of one system against refA). evalkit runs all 300; sacrebleu runs until its time budget
   (``--sacrebleu-budget`` seconds) is spent, the edit counts are compared on the segments it finished
   and its time for all 300 is extrapolated from them.
3. ``--tags dev|train``: evalkit's OK/BAD word and gap tags against the official MLQE-PE tags.
4. ``--verify-all``: per-segment edit counts against sacrebleu for zh-en, he-en and en-de (every
   system), and for four option variants on a slice.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sacrebleu.metrics import TER as SacreTER
from sacrebleu.metrics.lib_ter import translation_edit_rate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalkit.io.wmt import WMTLayout  # noqa: E402
from evalkit.metrics.lexical import TER as EvalkitTER  # noqa: E402
from evalkit.spans import align as align_mod  # noqa: E402

WMT23 = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / \
    "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"


def corpus_bench(layout: WMTLayout, lp: str) -> None:
    refs = layout.reference(lp)
    systems = layout.system_outputs(lp)
    n_seg = sum(len(h) for h in systems.values())
    t0 = time.perf_counter()
    ours = {}
    metric = EvalkitTER()
    prepared = metric.prepare([refs])
    for name, hyps in systems.items():
        ours[name] = metric.corpus_score(metric.segment_stats(hyps, [refs], prepared).sum(axis=0))
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = {name: SacreTER().corpus_score(hyps, [refs]).score for name, hyps in systems.items()}
    t_sb = time.perf_counter() - t0
    same = all(ours[k] == theirs[k] for k in systems)
    print(f"[{lp}] corpus TER, {len(systems)} systems x {len(refs)} segments ({n_seg} segments)")
    print(f"  evalkit ({align_mod.BACKEND} backend): {t_ours:8.2f} s")
    print(f"  sacrebleu {' ' * (len(align_mod.BACKEND) + 10)}{t_sb:8.2f} s")
    print(f"  speed-up: {t_sb / t_ours:.1f}x   corpus scores identical for every system: {same}")
    if not same:
        raise SystemExit("corpus TER differs from sacrebleu")


def long_segments(layout: WMTLayout, lp: str, system: str, count: int, words: int) -> list[tuple[list[str], list[str]]]:
    """``count`` pseudo-segments of >= ``words`` MT words: consecutive real lines glued together."""
    ter = SacreTER()
    refs = layout.reference(lp)
    hyps = layout.system_outputs(lp)[system]
    out: list[tuple[list[str], list[str]]] = []
    i = 0
    while len(out) < count:
        h: list[str] = []
        r: list[str] = []
        while len(h) < words:
            k = i % len(refs)
            h += ter._preprocess_segment(hyps[k]).split()
            r += ter._preprocess_segment(refs[k]).split()
            i += 1
        out.append((h, r))
    return out


def stress_bench(layout: WMTLayout, budget: float) -> None:
    segs = long_segments(layout, "zh-en", "ONLINE-B", 300, 230)
    avg_h = sum(len(h) for h, _ in segs) / len(segs)
    avg_r = sum(len(r) for _, r in segs) / len(segs)
    print(f"[stress] {len(segs)} segments of {avg_h:.0f} MT / {avg_r:.0f} reference words on average")
    t0 = time.perf_counter()
    ours = [align_mod.ter_edits(h, r) for h, r in segs]
    t_ours = time.perf_counter() - t0
    print(f"  evalkit ({align_mod.BACKEND} backend): {t_ours:8.2f} s for all {len(segs)}"
          f" ({1000 * t_ours / len(segs):.1f} ms/segment, slowest bound: 1000 shift candidates/segment)")
    t0 = time.perf_counter()
    done = 0
    mismatches = 0
    for (h, r), e in zip(segs, ours):
        mismatches += translation_edit_rate(h, r)[0] != e
        done += 1
        if time.perf_counter() - t0 > budget:
            break
    t_sb = time.perf_counter() - t0
    per = t_sb / done
    est = per * len(segs)
    scope = "all" if done == len(segs) else f"the first {done} (budget {budget:.0f} s)"
    print(f"  sacrebleu: {t_sb:8.2f} s for {scope}: {per:.2f} s/segment -> {est:.0f} s for all {len(segs)}"
          f"{'' if done == len(segs) else ' (extrapolated)'}")
    t_ours_same = t_ours * done / len(segs)
    print(f"  speed-up: {est / t_ours:.0f}x   edit counts identical on the {done} segments sacrebleu finished:"
          f" {mismatches == 0}  (evalkit on those: ~{t_ours_same:.2f} s)")
    if mismatches:
        raise SystemExit("edit counts differ from sacrebleu on long segments")


def _check_chunk(chunk: list[tuple[list[str], list[str]]]) -> int:
    return sum(translation_edit_rate(h, r)[0] != align_mod.ter_edits(h, r) for h, r in chunk)


def verify_all(layout: WMTLayout, workers: int) -> None:
    """Every segment of every system, per-segment edit counts, default options; options on a slice."""
    from multiprocessing import Pool

    ter = SacreTER()
    with Pool(workers) as pool:
        for lp in ("zh-en", "he-en", "en-de"):
            refs = [ter._preprocess_segment(r).split() for r in layout.reference(lp)]
            systems = layout.system_outputs(lp)
            pairs = [(ter._preprocess_segment(hyp).split(), r) for hyps in systems.values() for hyp, r in zip(hyps, refs)]
            t0 = time.perf_counter()
            chunks = [pairs[i:i + 50] for i in range(0, len(pairs), 50)]
            bad = sum(pool.imap_unordered(_check_chunk, chunks))
            print(f"[verify {lp}] {len(systems)} systems, {len(pairs)} segments: {bad} differ from sacrebleu"
                  f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    refs = layout.reference("zh-en")
    hyps = layout.system_outputs("zh-en")
    variants = [dict(normalized=True), dict(no_punct=True), dict(case_sensitive=True),
                dict(normalized=True, no_punct=True, case_sensitive=True, asian_support=True)]
    for opts in variants:
        sb = SacreTER(**opts)
        checked = bad = 0
        for name in sorted(hyps)[:5]:
            for hyp, ref in list(zip(hyps[name], refs))[:300]:
                expected = translation_edit_rate(sb._preprocess_segment(hyp).split(), sb._preprocess_segment(ref).split())[0]
                checked += 1
                bad += align_mod.align(hyp, ref, **opts).edits != expected
        print(f"[verify zh-en {opts}] {checked} segments: {bad} differ from sacrebleu", flush=True)


def mlqe_tags(split: str) -> None:
    """Agreement of evalkit's word/gap tags with the official MLQE-PE tags, per language pair."""
    from evalkit.io.mlqe import mlqe_pairs, read_post_edits
    from evalkit.io.text import read_lines
    from evalkit.spans.tags import agreement, word_tags

    root = WMT23.parents[2] / "mlqe-pe"
    print(f"[MLQE-PE {split}] agreement with the official tags (word tags | gap tags | whole segments)")
    for lp in mlqe_pairs(root, split):
        d = read_post_edits(root, lp, split)
        gold = [t.split() for t in read_lines(root / "data" / "post-editing" / split / f"{lp}-{split}" / f"{split}.tags")]
        a = agreement([word_tags(mt, pe).interleaved() for mt, pe in zip(d.mt, d.pe)], gold)
        print(f"  {lp}: {100 * a.words:7.3f}% of {a.n_words} | {100 * a.gaps:7.3f}% of {a.n_gaps}"
              f" | {100 * a.segments:6.2f}% of {a.n_segments}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sacrebleu-budget", type=float, default=60.0,
                    help="seconds sacrebleu may spend on the long-segment stress (default 60)")
    ap.add_argument("--verify-all", action="store_true", help="per-segment equality on all WMT23 pairs")
    ap.add_argument("--tags", choices=["dev", "train"], help="also: MLQE-PE word/gap tag agreement on this split")
    ap.add_argument("--workers", type=int, default=2, help="processes for --verify-all (default 2)")
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--skip-stress", action="store_true")
    args = ap.parse_args()
    if not WMT23.is_dir():
        raise SystemExit(f"WMT23 data not found at {WMT23}")
    layout = WMTLayout(WMT23)
    if not args.skip_corpus:
        corpus_bench(layout, "zh-en")
    if not args.skip_stress:
        stress_bench(layout, args.sacrebleu_budget)
    if args.tags:
        mlqe_tags(args.tags)
    if args.verify_all:
        verify_all(layout, args.workers)


if __name__ == "__main__":
    main()
