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


def to_parquet(result: Result) -> bytes:
    """The rows of ``to_jsonl`` as a Parquet file: one column per field and metric; spans as JSON text."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    systems = result.to_dict()["systems"]
    segments = [(s["name"], seg) for s in systems for seg in s["segments"]]
    metrics = list(result.systems[0].metrics) if result.systems else []
    columns: dict[str, pa.Array] = {
        "system": pa.array([name for name, _ in segments], pa.string()),
        "id": pa.array([seg["id"] for _, seg in segments], pa.string()),
        "hyp": pa.array([seg["hyp"] for _, seg in segments], pa.string()),
        "refs": pa.array([seg["refs"] for _, seg in segments], pa.list_(pa.string())),
    }
    if any("src" in seg for _, seg in segments):
        columns["src"] = pa.array([seg.get("src") for _, seg in segments], pa.string())
    for m in metrics:
        columns[m] = pa.array([seg["scores"][m] for _, seg in segments], pa.float64())
    if any("spans" in seg for _, seg in segments):
        columns["mqm"] = pa.array([seg.get("mqm") for _, seg in segments], pa.float64())
        columns["spans"] = pa.array([json.dumps(seg.get("spans", []), ensure_ascii=False) for _, seg in segments],
                                    pa.string())
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()
