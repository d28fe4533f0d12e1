"""evalkit's port of COMET against Unbabel's ``comet-score`` on the same checkpoint, on the CPU.

The checkpoint is a random-weight model of wmt22-comet-da's full size (regression_metric on an XLM-R-large
shaped encoder: 24 layers, hidden 1024, 16 heads, FFN 4096, vocabulary 250,002; head 6144 -> 3072 -> 1024 -> 1;
sparsemax layer mix), built with COMET's own classes in the COMET venv and saved as COMET saves models (the
real one cannot be downloaded here). Its encoder folder holds tokenizer files made from evalkit's XLM-R
vocabulary (tests/fixtures/comet/make_fixtures.py).

Data: the first N segments (default 500) of one WMT23 zh-en system with its source and reference A, each line
stripped (``comet-score`` strips lines; ``predict`` does not), so every tool scores the same text.

Runs, one each, every one under ``flock /tmp/evalkit-heavy.lock`` and timed as a whole process (model load
included), wall and CPU seconds:
  comet-score        the COMET CLI (it casts the model to fp16, also on a CPU), --gpus 0, batch 16
  comet predict fp32 ``load_from_checkpoint(...).predict(..., gpus=0)``: the numbers evalkit must equal
  evalkit fp32/int8/bf16  ``evalkit score -m comet --comet-checkpoint ... --neural-cache off``

    python3 bench/bench_comet.py                       # build the model if needed, then all runs
    python3 bench/bench_comet.py --segments 100 --runs evalkit-fp32 comet-predict
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
WMT23 = DATA / "wmt23-general-mqm" / "mt-metrics-eval-v2" / "wmt23"
MODELS = Path(os.environ.get("EVALKIT_BENCH_MODELS", ROOT.parent / "bench-models"))
VENV = Path(os.environ.get("EVALKIT_COMET_VENV", ROOT.parent / "venv-comet"))
LOCK = "/tmp/evalkit-heavy.lock"
MODEL_NAME = "wmt22-comet-da-random"
RUNS = ("comet-score", "comet-predict", "evalkit-fp32", "evalkit-int8", "evalkit-bf16")


# --- the model, built inside the COMET venv ------------------------------------------------------
def build_model(folder: Path, sample_file: Path) -> None:
    """Runs in the COMET venv: a full-size random regression_metric saved as COMET saves models."""
    sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "comet"))
    sys.path.insert(0, str(ROOT))
    import pytorch_lightning as pl
    import torch
    from comet.models import RegressionMetric
    from make_fixtures import check_tokenizer, evalkit_tokenizer, write_encoder_folder
    from pytorch_lightning.core.saving import save_hparams_to_yaml

    sample = json.loads(sample_file.read_text(encoding="utf-8"))
    tok, f = evalkit_tokenizer()
    encoder = folder.parent / "xlm-roberta-large"
    write_encoder_folder(encoder, f, sample, hidden=1024, layers=24, heads=16, ffn=4096)
    check_tokenizer(encoder, tok, sample)
    torch.manual_seed(22)
    model = RegressionMetric(pretrained_model=str(encoder), load_pretrained_weights=False, layer="mix",
                             layer_transformation="sparsemax", layer_norm=False, pool="avg",
                             hidden_sizes=[3072, 1024], activations="Tanh", dropout=0.1, batch_size=16)
    with torch.no_grad():  # a layer mix that is not uniform: sparsemax keeps a handful of layers
        for k, p in enumerate(model.layerwise_attention.scalar_parameters):
            p.fill_(0.05 * ((k * 7) % 11))
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(str(folder / "checkpoints" / "model.ckpt"))
    save_hparams_to_yaml(str(folder / "hparams.yaml"), dict(model.hparams))


def comet_predict(ckpt: Path, data: Path, out: Path, batch: int) -> None:
    """Runs in the COMET venv: ``predict`` in fp32 on the CPU, the parity target."""
    from comet import load_from_checkpoint

    cols = {k: (data / f"{k}.txt").read_text(encoding="utf-8").split("\n")[:-1] for k in ("src", "mt", "ref")}
    samples = [dict(zip(cols, row)) for row in zip(*cols.values())]
    model = load_from_checkpoint(str(ckpt))
    pred = model.predict(samples, batch_size=batch, gpus=0, progress_bar=False)
    out.write_text(json.dumps({"scores": [float(s) for s in pred.scores]}))


# --- the benchmark --------------------------------------------------------------------------------
def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` run under the heavy-job lock (the wait for the lock is not counted)."""
    code = ("import subprocess,sys,time;t=time.perf_counter();r=subprocess.run(sys.argv[1:]);"
            "print('BENCH_WALL', time.perf_counter()-t, file=sys.stderr);sys.exit(r.returncode)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["flock", LOCK, sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    wall = float(proc.stderr.split("BENCH_WALL ")[1].split()[0])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_data(folder: Path, n: int, system: str) -> None:
    def lines(path: Path) -> list[str]:
        return [line.strip() for line in path.read_text(encoding="utf-8").split("\n")[:n]]

    folder.mkdir(parents=True, exist_ok=True)
    for name, path in (("src", WMT23 / "sources" / "zh-en.txt"), ("mt", WMT23 / "system-outputs" / "zh-en" / f"{system}.txt"),
                       ("ref", WMT23 / "references" / "zh-en.refA.txt")):
        (folder / f"{name}.txt").write_text("".join(t + "\n" for t in lines(path)), encoding="utf-8")


def stats(a, b) -> str:
    import numpy as np
    from scipy.stats import kendalltau, pearsonr

    a, b = np.asarray(a), np.asarray(b)
    d = np.abs(a - b)
    return (f"max |d| {d.max():.2e}, mean |d| {d.mean():.2e}, system d {abs(a.mean() - b.mean()):.2e}, "
            f"Pearson {pearsonr(a, b)[0]:.4f}, Kendall {kendalltau(a, b)[0]:.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=500)
    ap.add_argument("--system", default="ONLINE-B")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--runs", nargs="+", default=list(RUNS[:4]), choices=RUNS)
    ap.add_argument("--build-model", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--sample", metavar="JSON", help=argparse.SUPPRESS)
    ap.add_argument("--comet-predict", nargs=3, metavar=("CKPT", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_model:
        build_model(Path(args.build_model), Path(args.sample))
        return 0
    if args.comet_predict:
        ckpt, data, out = args.comet_predict
        comet_predict(Path(ckpt), Path(data), Path(out), args.batch_size)
        return 0
    if not WMT23.is_dir():
        print(f"skipped: {WMT23} not found (../shared/data is absent)")
        return 0
    venv_python = VENV / "bin" / "python"
    if not venv_python.is_file() and any(r.startswith("comet") for r in args.runs):
        print(f"skipped: no COMET venv at {VENV} (see tests/fixtures/comet/make_fixtures.py for the pip command)")
        return 0
    work = MODELS / f"bench-{args.segments}"
    write_data(work, args.segments, args.system)
    model = MODELS / MODEL_NAME
    ckpt = model / "checkpoints" / "model.ckpt"
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if not ckpt.is_file():
        sample = work / "sample.json"
        full = MODELS / "bench-all"
        write_data(full, 10**6, args.system)  # every line: the tokenizer files cover the characters of all of them
        sample.write_text(json.dumps(sorted({t for k in ("src", "mt", "ref") for t in
                                              (full / f"{k}.txt").read_text(encoding="utf-8").split("\n")})))
        print(f"building {model} (random weights, full size) in the COMET venv ...", flush=True)
        subprocess.run(["flock", LOCK, str(venv_python), __file__, "--build-model", str(model), "--sample", str(sample)],
                       check=True, env={**os.environ, **offline})
    files = ["-s", str(work / "src.txt"), "-t", str(work / "mt.txt"), "-r", str(work / "ref.txt")]
    scores: dict[str, list[float]] = {}
    times: dict[str, tuple[float, float]] = {}
    for run in args.runs:
        out = work / f"{run}.json"
        if run == "comet-score":
            cmd = [str(VENV / "bin" / "comet-score"), *files, "--model", str(ckpt), "--gpus", "0", "--batch_size",
                   str(args.batch_size), "--quiet", "--to_json", str(out)]
            wall, cpu = timed(cmd, offline)
            data = json.loads(out.read_text(encoding="utf-8"))
            scores[run] = [float(x["COMET"]) for x in data[str(work / "mt.txt")]]
        elif run == "comet-predict":
            cmd = [str(venv_python), __file__, "--batch-size", str(args.batch_size), "--comet-predict", str(ckpt),
                   str(work), str(out)]
            wall, cpu = timed(cmd, offline)
            scores[run] = json.loads(out.read_text())["scores"]
        else:
            dtype = run.split("-")[1]
            cmd = [sys.executable, "-m", "evalkit", "score", *files, "-m", "comet", "--comet-checkpoint", str(model),
                   "--neural-cache", "off", "--neural-dtype", dtype, "--batch-size", str(args.batch_size),
                   "-f", "json", "-o", str(out)]
            wall, cpu = timed(cmd, {"PYTHONPATH": str(ROOT)})
            result = json.loads(out.read_text(encoding="utf-8"))
            scores[run] = [seg["scores"]["comet"] for seg in result["systems"][0]["segments"]]
        times[run] = (wall, cpu)
        print(f"{run:15s} wall {wall:8.1f} s  CPU {cpu:8.1f} s  ({args.segments / wall:.2f} seg/s)  "
              f"system {sum(scores[run]) / len(scores[run]):.6f}", flush=True)
    ref = "comet-predict" if "comet-predict" in scores else None
    for run in scores:
        if ref and run != ref:
            print(f"{run} vs {ref}: {stats(scores[run], scores[ref])}")
    for run in ("evalkit-int8", "evalkit-bf16"):
        if run in scores and "evalkit-fp32" in scores:
            print(f"{run} vs evalkit-fp32: {stats(scores[run], scores['evalkit-fp32'])}")
    for base in ("comet-score", "comet-predict"):
        for run in ("evalkit-fp32", "evalkit-int8", "evalkit-bf16"):
            if base in times and run in times:
                print(f"speed-up {run} over {base}: wall {times[base][0] / times[run][0]:.2f}x, "
                      f"CPU {times[base][1] / times[run][1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
