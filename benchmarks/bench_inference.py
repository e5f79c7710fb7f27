"""Inference speed and memory of the segmentation U-Net (frames/s, peak memory).

Usage::

    python benchmarks/bench_inference.py --device cpu   # 2 threads, as on a laptop
    python benchmarks/bench_inference.py --device cuda  # AMP bf16, channels_last, compile

Writes (or replaces) the section of that device in docs/performance_inference.md.
Two numbers per setting: the network alone on 256×256 frames (already on the
training grid) and the whole ``Segmenter.predict`` (normalisation, resampling
from 1.2 mm to the training grid and back, argmax, post-processing, confidence),
with one network pass per frame and with two test-time zoom passes (``ZOOM_PAIR``),
the second on the whole frame or only on the box around the first pass's organs
(``zoom_roi_mm``, the default since rule 136).
On the CPU each backend of the Segmenter is measured: PyTorch eager, ONNX Runtime
float32 and ONNX Runtime int8 (the default there).  All settings are timed in
interleaved rounds and the median is reported with its range.  Peak memory: CUDA max
allocated on the GPU; on the CPU, the peak RSS of a fresh process that loads one backend and
runs one setting, with (+N) the part above its size before the first call.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.phantom import generate_case
from core.segment.infer import DEFAULT_ZOOM_ROI_MM, ZOOM_PAIR, Segmenter

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance_inference.md"


def _timeit(fn, min_time: float, sync) -> float:
    fn()
    sync()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        sync()
        dt = time.perf_counter() - t0
        if dt > min_time and n >= 3:
            return dt / n


def _series(dev: torch.device):
    """A realistic series (phantom, 256² at 1.2 mm): post-processing cost depends on what
    the network finds, so random noise would misstate it."""
    return generate_case(1100, shape=[256, 256], n_frames=16 if dev.type == "cpu" else 256,
                         spacing_mm=1.2).series


def _cases(dev: torch.device, model_path: str | None, backend: str, series,
           notes: list[str]) -> tuple[list[tuple], dict]:
    """The timed settings of one backend: (what, batch, frames per call, fn), and its config."""
    batches = [1, 2, 4, 8] if dev.type == "cpu" else [1, 64, 256, 512, 1024]
    cases = []
    t0 = time.perf_counter()
    seg = Segmenter(model_path, device=str(dev), backend=backend)
    notes.append(f"{backend}: Segmenter built in {time.perf_counter() - t0:.2f} s"
                 + (" (empty graph cache)" if backend != "torch" else ""))
    variants = [(backend if dev.type == "cpu" else "eager", seg._forward)]
    if dev.type == "cuda":
        variants.append(("compiled", torch.compile(seg.net)))
    for name, m in variants:
        for bs in batches:
            x = torch.randn(bs, 1, 256, 256, device=dev).contiguous(
                memory_format=torch.channels_last)

            def run(m=m, x=x):
                with torch.inference_mode(), torch.autocast(
                        dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                    return m(x)
            cases.append((f"network ({name})", bs, bs, run))
    # one pass, two zoom passes on the whole frame, and two with the second on the
    # organs' box (the default margin around them; set here directly, so that on a GPU it times
    # the box pass that the Segmenter there leaves out, zoom.box_margin_on)
    for zooms, roi in [((1.0,), 0.0), (ZOOM_PAIR, 0.0), (ZOOM_PAIR, DEFAULT_ZOOM_ROI_MM)]:
        one = copy.copy(seg)  # shares the network; only the zooms differ
        one.scales, one.zoom_roi_mm = zooms, roi
        where = f", second on the organs' box + {roi:g} mm" if roi else ""
        for bs in ([2] if dev.type == "cpu" else [64, 256]):
            cases.append((f"Segmenter.predict ({seg.backend}, {len(zooms)} pass"
                          f"{'es' if len(zooms) > 1 else ''}{where}, {series.n_frames} "
                          "frames 256² 1.2 mm)", bs, series.n_frames,
                          lambda bs=bs, one=one: one.predict(series, batch_size=bs)))
    return cases, seg.config


def _status_mib(field: str) -> float:
    """A ``Vm*`` field of /proc/self/status in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def memory_of(model_path: str | None, backend: str, index: int) -> dict:
    """Peak RSS of a fresh process that loads one CPU backend and runs one setting.

    Returns ``{"peak_mib", "loaded_mib"}``: the process high-water mark after three calls,
    and its resident size before the first call (interpreter, libraries, model, inputs).
    """
    torch.set_num_threads(2)
    dev = torch.device("cpu")
    cases, _ = _cases(dev, model_path, backend, _series(dev), [])
    fn = cases[index][3]
    loaded = _status_mib("VmRSS")
    for _ in range(3):
        fn()
    return {"peak_mib": _status_mib("VmHWM"), "loaded_mib": loaded}


def _cpu_memory(model_path: str | None, backends: list[str], counts: list[int]) -> list[dict]:
    """:func:`memory_of` for every CPU setting, each in its own process (same graph cache)."""
    out = []
    for backend, n in zip(backends, counts, strict=True):
        for i in range(n):
            cmd = [sys.executable, __file__, "--memory-of", backend, str(i)]
            if model_path:
                cmd += ["--model", model_path]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


def bench(device: str, model_path: str | None, min_time: float, rounds: int
          ) -> tuple[list[dict], str, list[str]]:
    """Build every setting first, then time them in ``rounds`` interleaved rounds.

    Shared 2-core machines drift by ±30 % from minute to minute; interleaving puts every
    setting under the same drift, and the median is reported with the range (a setting is
    never timed in one lucky or unlucky stretch). On the CPU, each setting's memory is then
    measured in a process of its own (:func:`memory_of`).
    """
    started = time.time()
    dev = torch.device(device)
    if dev.type == "cpu":
        torch.set_num_threads(2)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    series = _series(dev)
    backends = ["torch", "onnx", "onnx-int8"] if dev.type == "cpu" else ["torch"]
    cases, counts, notes, cfg = [], [], [], {}
    for backend in backends:
        more, cfg = _cases(dev, model_path, backend, series, notes)
        cases += more
        counts.append(len(more))
    fps: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    peak: dict[int, float] = {}
    for r in range(rounds):
        for i, (_, _, n, fn) in enumerate(cases):
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            fps[i].append(n / _timeit(fn, min_time, sync))
            if dev.type == "cuda":
                peak[i] = torch.cuda.max_memory_allocated() / 2**20
        print(f"round {r + 1}/{rounds} done", flush=True)
    mem: list[dict] = [{}] * len(cases)
    if dev.type == "cpu":
        notes.append("process peak RSS of this run, all three backends loaded and run: "
                     f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        mem = _cpu_memory(model_path, backends, counts)
    rows = []
    for i, (what, bs, _, _) in enumerate(cases):
        med = float(np.median(fps[i]))
        rows.append({"what": what, "batch": bs, "fps": med, "fps_min": min(fps[i]),
                     "fps_max": max(fps[i]), "ms_per_frame": 1000 / med,
                     "peak_mib": mem[i].get("peak_mib", peak.get(i, float("nan"))),
                     "loaded_mib": mem[i].get("loaded_mib", float("nan"))})
        print(rows[-1], flush=True)
    for note in notes:
        print(note)
    if dev.type == "cuda":
        label = torch.cuda.get_device_name(0)
    else:
        import onnxruntime

        label = (f"{platform.processor() or platform.machine()}, torch.set_num_threads(2), "
                 f"onnxruntime {onnxruntime.__version__}")
    label += (f"; torch {torch.__version__}; model {cfg.get('model_id')}; median of "
              f"{rounds} interleaved rounds (range); run "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}")
    return rows, label, notes


def write_section(device: str, rows: list[dict], label: str, doc: Path = DOC,
                  notes: list[str] = ()) -> None:
    kind = "GPU" if device.startswith("cuda") else "CPU"
    lines = [f"<!-- {kind} -->", f"### {kind}: {label}", "",
             "| what | batch | frames/s (median) | range | ms/frame | peak memory (MiB) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        peak = "" if r["peak_mib"] != r["peak_mib"] else f"{r['peak_mib']:.0f}"
        if r.get("loaded_mib", float("nan")) == r.get("loaded_mib", float("nan")):
            peak += f" (+{r['peak_mib'] - r['loaded_mib']:.0f})"
        lines.append(f"| {r['what']} | {r['batch']} | {r['fps']:.1f} | "
                     f"{r['fps_min']:.1f}–{r['fps_max']:.1f} | {r['ms_per_frame']:.2f} | "
                     f"{peak} |")
    best = max((r for r in rows if r["what"].startswith("network")), key=lambda r: r["fps"])
    lines += ["", f"Best network throughput: {best['fps']:.0f} frames/s "
              f"({best['what']}, batch {best['batch']})."]
    lines += [f"{n}." for n in notes]
    lines += [f"<!-- /{kind} -->"]
    section = "\n".join(lines)
    text = doc.read_text() if doc.exists() else (
        "# Inference performance (segmentation)\n\nMeasured by `benchmarks/bench_inference.py`."
        " Peak memory: CUDA max allocated on GPU, process max RSS on CPU.\n\n")
    pattern = re.compile(rf"<!-- {kind} -->.*?<!-- /{kind} -->", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default=None)
    ap.add_argument("--min-time", type=float, default=0.5,
                    help="seconds per measurement and round")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median)")
    ap.add_argument("--doc", default=str(DOC))
    ap.add_argument("--memory-of", nargs=2, metavar=("BACKEND", "INDEX"),
                    help=argparse.SUPPRESS)  # child process of the CPU memory pass
    args = ap.parse_args()
    if args.memory_of:
        print(json.dumps(memory_of(args.model, args.memory_of[0], int(args.memory_of[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="pelvitrack-bench-") as cache:
        # ONNX graphs are built into an empty cache: the build times are a first use's
        os.environ["PELVITRACK_CACHE"] = cache
        rows, label, notes = bench(args.device, args.model, args.min_time, args.rounds)
    write_section(args.device, rows, label, Path(args.doc), notes)
    print(f"written {args.doc}")


if __name__ == "__main__":
    main()
