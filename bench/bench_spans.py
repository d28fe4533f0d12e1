"""Span quality: evalkit's garbled spans against human MQM error spans, beside two baselines, in one run.

For each data set (a seeded random sample of rated MT segments against the standard human reference;
for TED only the test segments and for BioMQM only the test documents, which the span tagger never saw):
  flag-all     every character of the MT is an error (the prior: F1 of "everything is wrong")
  naive-diff   difflib opcodes of MT words vs reference words; replace/delete runs become spans
  ter-diff     evalkit's spans in post-edit mode, i.e. every TER edit against the reference is an error
  evalkit reference, 1 system   reference mode with the MT and reference alone
  evalkit reference, N systems  reference mode as `evalkit score` runs it on several systems: the other
               systems' outputs of the segment are consensus evidence
  evalkit qe, 1 / N systems     QE mode: source and MT only (no reference), alone or with the other outputs
Micro character-level precision/recall/F1 over non-whitespace characters (Neutral ratings ignored),
for all human spans and for Major (+Critical) human spans only (evalkit: its major/critical spans;
the baselines have no severity, all their spans count); the WMT23 QE shared task's rule (task 2:
every character, error-free segments included, a gold error character predicted with the right severity
counts 1, with the wrong one 0.5; critical reads as major, a baseline span as minor; ``qe_char_agreement``);
spans per segment against the human MQM spans per segment; and segment-level detection: does the
segment contain an error (precision/recall of "has any span" against "the raters marked any error", and
the AUC of ranking segments by their weighted span count: minor 1, major 5, critical 10; a baseline span 1).

    python bench/bench_spans.py                    # all data sets, 500 segments each
    python bench/bench_spans.py --sample 300 --datasets ted-ende biomqm
    python bench/bench_spans.py --threshold 0.2    # another tagger threshold (precision/recall trade-off)
    python bench/bench_spans.py --mlqe en-de ro-en en-zh   # post-edit mode against MLQE-PE's word tags

WMT23 is test data: the tagger (``evalkit train-spans``) is trained on TED training segments and BioMQM
dev documents only, and its thresholds are chosen on TED dev segments (not the test ones used here).
"""
from __future__ import annotations

import argparse
import bisect
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalkit.io.mqm import (PRF, MQMItem, MQMSet, char_agreement, qe_char_agreement, read_biomqm, read_ted,  # noqa: E402
                             read_wmt23)
from evalkit.spans import baselines  # noqa: E402
from evalkit.spans.classify import WEIGHTS  # noqa: E402
from evalkit.spans.pipeline import ReferenceAnnotator, ReferenceSettings, spans_post_edit  # noqa: E402
from evalkit.spans.qe import QEAnnotator  # noqa: E402
from evalkit.spans.train import SpanTrainConfig, biomqm_doc, biomqm_docs, others_of, ted_fold  # noqa: E402

DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
WMT23 = DATA / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"
LOADERS: dict[str, Callable[[], MQMSet]] = {
    "wmt23-zhen": lambda: read_wmt23(WMT23, "zh-en"),
    "wmt23-ende": lambda: read_wmt23(WMT23, "en-de"),
    "biomqm": lambda: read_biomqm(DATA / "bio-mqm" / "data" / "v2" / "target" / "main_phase" / "round_two" / "en2es"),
    "ted-ende": lambda: read_ted(DATA / "google-mqm-ted", "ende"),
    "ted-zhen": lambda: read_ted(DATA / "google-mqm-ted", "zhen"),
}
BIOMQM_SPLITS = DATA / "bio-mqm" / "data" / "doc_id_splits.json"
MAJOR = ("major", "critical")
Spans = list[tuple[int, int, str]]  # start, end, severity ("" when the method has none)


def naive_diff(mt: str, ref: str) -> Spans:
    return [(a, b, "") for a, b in baselines.naive_diff(mt, ref)]


def flag_all(mt: str, ref: str) -> Spans:
    return [(0, len(mt), "")]


def ter_diff(items: Sequence[MQMItem]) -> list[Spans]:
    return [[(s.start, s.end, s.severity) for s in spans_post_edit(it.mt, it.refs)] for it in items]


def evalkit_reference(items: Sequence[MQMItem], annotator: ReferenceAnnotator,
                      pool: Sequence[MQMItem] | None = None) -> list[Spans]:
    """Reference mode; with ``pool``, the other systems' outputs of each segment are consensus evidence."""
    others = others_of(items, pool) if pool is not None else None
    out = annotator.annotate([it.mt for it in items], [it.refs for it in items], [it.src for it in items], others)
    return [[(s.start, s.end, s.severity) for s in spans] for spans in out]


def evalkit_qe(items: Sequence[MQMItem], annotator: QEAnnotator, pool: Sequence[MQMItem] | None = None) -> list[Spans]:
    """QE mode: source and MT only; with ``pool``, the other systems' outputs are consensus evidence."""
    others = others_of(items, pool) if pool is not None else None
    out = annotator.annotate([it.mt for it in items], [it.src for it in items], others)
    return [[(s.start, s.end, s.severity) for s in spans] for spans in out]


def measure(items: Sequence[MQMItem], pred: Sequence[Spans]) -> dict[str, float]:
    allp = char_agreement(items, [[(a, b) for a, b, _ in p] for p in pred])
    majp = char_agreement(items, [[(a, b) for a, b, sev in p if sev in ("", *MAJOR)] for p in pred], MAJOR)
    seg = PRF()
    for k, (it, p) in enumerate(zip(items, pred)):
        seg.add({k} if p else set(), {k} if it.has_error else set())
    weight = [sum(WEIGHTS.get(sev, 1.0) for _, _, sev in p) for p in pred]
    qe = qe_char_agreement(items, pred)
    return {"P": allp.precision, "R": allp.recall, "F1": allp.f1, "mP": majp.precision, "mR": majp.recall,
            "mF1": majp.f1, "sP": seg.precision, "sR": seg.recall,
            "AUC": auc(weight, [it.has_error for it in items]), "qP": qe.precision, "qR": qe.recall, "qF1": qe.f1,
            "n": sum(len(p) for p in pred) / max(len(pred), 1)}


def gold_spans_per_segment(items: Sequence[MQMItem]) -> float:
    """Human MQM spans per segment (identical spans from several raters counted once)."""
    return sum(len({(e.start, e.end) for e in it.errors}) for it in items) / max(len(items), 1)


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Probability that a segment with errors outscores a clean one (ties count half): Mann-Whitney."""
    pos = [x for x, y in zip(scores, positive) if y]
    neg = sorted(x for x, y in zip(scores, positive) if not y)
    if not pos or not neg:
        return float("nan")
    wins = sum(bisect.bisect_left(neg, x) + 0.5 * (bisect.bisect_right(neg, x) - bisect.bisect_left(neg, x))
               for x in pos)
    return wins / (len(pos) * len(neg))


def held_out(name: str, items: list[MQMItem]) -> list[MQMItem]:
    """Items the span tagger never saw: TED test segments, BioMQM test documents, all of WMT23."""
    if name.startswith("ted-"):
        every = SpanTrainConfig().holdout_every
        return [it for it in items if ted_fold(it.seg, every) == "test"]
    if name == "biomqm":
        test = biomqm_docs(BIOMQM_SPLITS, "en-es", "test")
        return [it for it in items if biomqm_doc(it.seg) in test]
    return items


def sample(name: str, n: int, seed: int) -> tuple[MQMSet, list[MQMItem]]:
    data = LOADERS[name]()
    items = held_out(name, [it for it in data.items if it.mt.strip() and it.refs and it.refs[0].strip()])
    rng = random.Random(seed)
    return data, (rng.sample(items, n) if n < len(items) else items)


def run_table(names: Sequence[str], n: int, seed: int, threshold: float | None, modes: Sequence[str]) -> None:
    annotator = ReferenceAnnotator(ReferenceSettings(threshold=threshold))
    qe = QEAnnotator()
    print(f"reference mode: {annotator.tagger.signature if threshold is None else f'threshold {threshold}'}")
    if "qe" in modes:
        print(f"qe mode: {qe.tagger.signature}")
    print("| data (sample) | method | P | R | F1 | Major P | Major R | Major F1 | seg P | seg R | seg AUC | "
          "QE-rule P | QE-rule R | QE-rule F1 | spans/seg | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        data, items = sample(name, n, seed)
        gold = sum(1 for it in items if it.has_error)
        label = f"{name} ({len(items)} held-out of {len(data.items)}; {gold} with errors; " \
                f"MQM {gold_spans_per_segment(items):.2f} spans/seg" + (
                    f"; {data.skipped} unlocatable skipped)" if data.skipped else ")")
        methods: dict[str, Callable[[], list[Spans]]] = {
            "flag-all": lambda: [flag_all(it.mt, it.refs[0]) for it in items],
            "naive-diff": lambda: [naive_diff(it.mt, it.refs[0]) for it in items],
            "ter-diff": lambda: ter_diff(items),
        }
        if "reference" in modes:
            methods["evalkit reference, 1 system"] = lambda: evalkit_reference(items, annotator)
            methods["evalkit reference, N systems"] = lambda: evalkit_reference(items, annotator, data.items)
        if "qe" in modes:
            methods["evalkit qe, 1 system"] = lambda: evalkit_qe(items, qe)
            methods["evalkit qe, N systems"] = lambda: evalkit_qe(items, qe, data.items)
        for method, fn in methods.items():
            t = time.perf_counter()
            pred = fn()
            secs = time.perf_counter() - t
            m = measure(items, pred)
            print(f"| {label} | {method} | {m['P']:.3f} | {m['R']:.3f} | **{m['F1']:.3f}** | {m['mP']:.3f} | "
                  f"{m['mR']:.3f} | {m['mF1']:.3f} | {m['sP']:.3f} | {m['sR']:.3f} | {m['AUC']:.3f} | "
                  f"{m['qP']:.3f} | {m['qR']:.3f} | **{m['qF1']:.3f}** | {m['n']:.2f} | {secs:.1f} |",
                  flush=True)
            label = ""


def mlqe_agreement(pairs: Sequence[str]) -> None:
    """Post-edit mode's TER fragments (no phrase step) against MLQE-PE's official word and gap tags."""
    from evalkit.io.text import read_lines

    print("| MLQE-PE dev | words | BAD P | BAD R | BAD F1 | gaps | gap BAD P | gap BAD R |")
    print("|---|---|---|---|---|---|---|---|")
    for lp in pairs:
        folder = DATA / "mlqe-pe" / "data" / "post-editing" / "dev" / f"{lp}-dev"
        mts, pes, tags = (read_lines(folder / f"dev.{k}") for k in ("mt", "pe", "tags"))
        words, gaps = PRF(), PRF()
        for k, (mt, pe, line) in enumerate(zip(mts, pes, tags)):
            bounds = [(m.start(), m.end()) for m in re.finditer(r"\S+", mt)]
            tag = line.split()
            spans = spans_post_edit(mt, [pe], phrase_gap=-1)
            anchors = {s.start for s in spans if s.end == s.start}
            for i, (a, b) in enumerate(bounds):
                bad = any(s.start < b and s.end > a for s in spans if s.end > s.start)
                words.add({(k, i)} if bad else set(), {(k, i)} if tag[2 * i + 1] == "BAD" else set())
            for g in range(len(bounds) + 1):
                at = bounds[g - 1][1] if g else 0
                gaps.add({(k, g)} if at in anchors else set(), {(k, g)} if tag[2 * g] == "BAD" else set())
        print(f"| {lp} ({len(mts)} segments) | {words.gold} BAD of {sum(len(x.split()) for x in mts)} | "
              f"{words.precision:.3f} | {words.recall:.3f} | {words.f1:.3f} | {gaps.gold} BAD | "
              f"{gaps.precision:.3f} | {gaps.recall:.3f} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", choices=list(LOADERS), default=list(LOADERS))
    p.add_argument("--sample", type=int, default=500, help="rated segments per data set (default 500)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threshold", type=float, default=None, help="tagger threshold (default: the trained one)")
    p.add_argument("--modes", nargs="+", choices=["reference", "qe"], default=["reference", "qe"],
                   help="evalkit modes to run beside the baselines (default both)")
    p.add_argument("--mlqe", nargs="+", metavar="LP", help="post-edit mode against MLQE-PE dev word tags instead")
    args = p.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA}: shared data not found (set EVALKIT_SHARED_DATA)")
    if args.mlqe:
        mlqe_agreement(args.mlqe)
    else:
        run_table(args.datasets, args.sample, args.seed, args.threshold, args.modes)


if __name__ == "__main__":
    main()
