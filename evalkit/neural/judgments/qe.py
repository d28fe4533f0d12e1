"""Quality-estimation sets: MLQE-PE DA and HTER, and the WMT22 QE DA and MQM sets. None has a reference.

MLQE-PE's DA files (``wmt-qe-2022/.../task1_da/train``) hold the same sentences, in the same order, as
``mlqe-pe/`` (post-edits and HTER); the join is checked row by row on the text with spaces, format
characters and punctuation removed (the post-editing files are tokenised, lost zero-width joiners and
normalised quotes and dashes). Both sets take ``src`` and ``hyp`` from the untokenised DA files; the
post-edit is as released (tokenised). ``mlqe-hter`` rows reuse the ``mlqe-da`` segment keys: they are
the same sentences, so a split by segment holds both out together. test20 has DA but no post-edit here.

WMT22 QE (dev sets, and the test sets with gold labels) adds new sentences for 13 DA pairs (en-yo has
only test gold) and 3 MQM pairs; rows whose (src, MT) is already in ``mlqe-da`` (DA) or ``news-mqm``/``ted-mqm`` (MQM) are
skipped and counted, and an item rated twice in one file is one row with the mean label. Its MQM
labels are as released: 100 minus weighted errors per 100 words (scale ``mqm-norm``, 100 = no error).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from evalkit.errors import InputError
from evalkit.io.mlqe import read_post_edits
from evalkit.neural.judgments.core import (
    Judgment,
    Tally,
    csv_rows,
    dedupe,
    number,
    text_lines,
    tsv_dicts,
    wanted,
)

MLQE_PAIRS = ("en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en")
MLQE_SPLITS = ("train", "dev", "test20")
QE22_DA_PAIRS = ("en-cs", "en-de", "en-ja", "en-mr", "en-zh", "et-en", "km-en", "ne-en", "ps-en", "ro-en", "ru-en",
                 "si-en", "en-yo")
QE22_MQM_PAIRS = ("en-de", "en-ru", "zh-en")
_DA = "wmt-qe-2022/train-dev_data/task1_da"
_GOLD = "wmt-qe-2022/test_data-gold_labels"
# A file whose rows disagree with the post-edits more often than this is not line-aligned at all.
MAX_MISALIGNED = 0.01


def loose(text: str) -> str:
    """Letters, digits and symbols only: what tokenisation and quote or dash normalisation leave alone."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text)
                   if not ch.isspace() and unicodedata.category(ch)[0] not in "PC")


def same_text(a: str, b: str) -> bool:
    """Equal up to tokenisation, or up to ``loose`` (checked only when the cheap test fails)."""
    return a.replace(" ", "") == b.replace(" ", "") or loose(a) == loose(b)


def _mlqe_da_path(root: Path, lp: str, split: str) -> Path:
    folder = f"{lp}-{split}" if split != "test20" else lp
    return root / _DA / "train" / lp / folder / f"{split}.{lp.replace('-', '')}.df.short.tsv.gz"


def read_mlqe(root: Path, lps: Sequence[str] | None, tally: Tally, hter: bool) -> list[Judgment]:
    """``mlqe-da`` (DA z_mean; train, dev and test20) or, with ``hter``, ``mlqe-hter`` (1 - HTER; train and dev)."""
    dataset = "mlqe-hter" if hter else "mlqe-da"
    out = []
    for lp in MLQE_PAIRS:
        if not wanted(lp, lps):
            continue
        for split in MLQE_SPLITS:
            if hter and split == "test20":
                continue
            path = _mlqe_da_path(root, lp, split)
            rows = list(tsv_dicts(path, ("original", "translation", "z_mean")))
            edits = read_post_edits(root / "mlqe-pe", lp, split) if split != "test20" else None
            if edits is not None and len(edits) != len(rows):
                raise InputError(f"{path}: {len(rows)} rows, but mlqe-pe {lp} {split} has {len(edits)} post-edits")
            bad = 0
            for i, (lineno, row) in enumerate(rows):
                src, hyp = row["original"], row["translation"]
                pe = hter_label = None
                if edits is not None:
                    if same_text(edits.src[i], src) and same_text(edits.mt[i], hyp):
                        pe, hter_label = edits.pe[i], 1.0 - edits.hter[i]
                    else:
                        bad += 1
                if not hyp.strip():
                    tally.add(dataset, lp, "skipped: empty hyp")
                    continue
                segment = f"mlqe-da:{lp}:{split}:{i}"
                if hter:
                    if hter_label is not None:
                        out.append(Judgment(dataset, lp, segment, "mlqe-pe", src, hyp, (), pe, hter_label, "hter",
                                            f"{dataset}:{lp}"))
                    continue
                out.append(Judgment(dataset, lp, segment, "mlqe-pe", src, hyp, (), pe,
                                    number(row["z_mean"], f"{path}:{lineno}"), "da-z", f"{dataset}:{lp}"))
            if bad > MAX_MISALIGNED * len(rows):
                raise InputError(f"{path}: {bad} of {len(rows)} rows differ from mlqe-pe {lp} {split}: "
                                 "not line-aligned")
            tally.add(dataset, lp, f"{split} rows whose text differs from the post-editing files "
                                   f"({'skipped' if hter else 'no post-edit'})", bad)
    return out


def _mean_repeats(rows: list[Judgment], tally: Tally) -> list[Judgment]:
    """One row per (lp, src, hyp): a repeat within a file is the same item rated again."""
    first: dict[tuple[str, str, str], int] = {}
    labels: list[list[float]] = []
    kept: list[Judgment] = []
    for j in rows:
        key = (j.lp, j.src, j.hyp)
        if key in first:
            labels[first[key]].append(j.label)
            tally.add(j.dataset, j.lp, "repeated items merged (mean label)")
            continue
        first[key] = len(kept)
        kept.append(j)
        labels.append([j.label])
    return [j if len(v) == 1 else replace(j, label=sum(v) / len(v)) for j, v in zip(kept, labels)]


def _gold_file(folder: Path, lp: str, suffix: str) -> Path:
    """Gold-label files are named ``test.2022.*`` or, for some pairs, ``test2022.*``."""
    for name in (f"test.2022.{suffix}", f"test2022.{suffix}"):
        if (folder / name).exists():
            return folder / name
    raise InputError(f"{folder}: no test.2022.{suffix} (or test2022.{suffix}) for {lp}")


def _gold_rows(root: Path, task: str, lp: str, label_suffix: str) -> list[tuple[str, str, float, str]]:
    folder = root / _GOLD / task / lp
    src_path, mt_path = _gold_file(folder, lp, "src"), _gold_file(folder, lp, "mt")
    label_path = _gold_file(folder, lp, f"{lp}.{label_suffix}")
    src, mt, labels = text_lines(src_path), text_lines(mt_path), text_lines(label_path)
    if not len(src) == len(mt) == len(labels):
        raise InputError(f"{folder}: {len(src)} sources, {len(mt)} MT lines and {len(labels)} labels")
    return [(s, m, number(v, f"{label_path}:{i + 1}"), f"test2022:{i}")
            for i, (s, m, v) in enumerate(zip(src, mt, labels))]


def _qe22_da_dev(root: Path, lp: str) -> list[tuple[str, str, float, str]]:
    """The 2022 dev set of a pair, untokenised (``source``/``target``, or ``original``/``translation``)."""
    folder = root / _DA / "dev" / lp / f"{lp}-dev-2022"
    for name, cols in (("sentence_level_tok_untok_da.csv.gz", ("source", "target")),
                       ("sentence_level_da.csv.gz", ("original", "translation")),
                       ("sentence_da.csv.gz", ("source", "target"))):
        path = folder / name
        if path.exists():
            return [(r[cols[0]], r[cols[1]], number(r["z_mean"], f"{path}:{n}"), f"dev2022:{i}")
                    for i, (n, r) in enumerate(csv_rows(path, (*cols, "z_mean")))]
    raise InputError(f"{folder}: no sentence-level DA file")


def read_qe22(root: Path, lps: Sequence[str] | None, tally: Tally, mqm: bool,
              others: Callable[[str], list[Judgment]]) -> list[Judgment]:
    """``qe22-da`` or, with ``mqm``, ``qe22-mqm``; ``others(name)`` gives the rows of a set to dedupe against."""
    dataset = "qe22-mqm" if mqm else "qe22-da"
    seen = {(j.lp, j.src, j.hyp) for name in (("news-mqm", "ted-mqm") if mqm else ("mlqe-da",)) for j in others(name)}
    out = []
    for lp in QE22_MQM_PAIRS if mqm else QE22_DA_PAIRS:
        if not wanted(lp, lps):
            continue
        items: list[tuple[str, str, float, str]] = []
        if mqm:
            path = root / "wmt-qe-2022/train-dev_data/task1_mqm/dev" / lp / f"{lp}-mqm.2022_dev.csv.gz"
            items += [(r["src"], r["mt"], number(r["score"], f"{path}:{n}"), f"dev2022:{i}")
                      for i, (n, r) in enumerate(csv_rows(path, ("src", "mt", "score")))]
        elif (root / _DA / "dev" / lp).is_dir():
            items += _qe22_da_dev(root, lp)
        gold = root / _GOLD / ("task1_mqm" if mqm else "task1_da") / lp
        if gold.is_dir():
            items += _gold_rows(root, gold.parent.name, lp, "mqm_score.mqm" if mqm else "da_score")
        rows = []
        for src, hyp, label, where in items:
            if not hyp.strip():
                tally.add(dataset, lp, "skipped: empty hyp")
                continue
            split = where.split(":")[0]
            rows.append(Judgment(dataset, lp, f"{dataset}:{lp}:{where}", "unknown", src, hyp, (), None, label,
                                 "mqm-norm" if mqm else "da-z", f"{dataset}:{lp}:{split}"))
        out += _mean_repeats(dedupe(rows, seen, tally), tally)
    return out
