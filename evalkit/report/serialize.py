"""Machine formats of a score result: JSON (schema evalkit.result/1), JSONL (one segment a line), TSV."""
from __future__ import annotations

import json

from evalkit.results import Result


def to_json(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


def to_jsonl(result: Result) -> str:
    """One line per (system, segment), self-contained: system name, scores, spans."""
    lines = []
    for sys_res in result.to_dict()["systems"]:
        for seg in sys_res["segments"]:
            lines.append(json.dumps({"schema": result.schema, "system": sys_res["name"], **seg}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _tsv_field(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def to_tsv(result: Result) -> str:
    """Segment scores, one row per (system, segment); corpus scores as rows with id ``corpus``."""
    metrics = list(result.systems[0].metrics) if result.systems else []
    rows = ["\t".join(["system", "id", *metrics, "hyp"])]
    for s in result.systems:
        rows.append("\t".join([_tsv_field(s.name), "corpus", *(f"{s.metrics[m].score:.4f}" for m in metrics), ""]))
        for seg in s.segments:
            rows.append("\t".join([_tsv_field(s.name), seg.id, *(f"{seg.scores[m]:.4f}" for m in metrics),
                                   _tsv_field(seg.hyp)]))
    return "\n".join(rows) + "\n"
