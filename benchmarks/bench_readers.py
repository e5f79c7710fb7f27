"""Speed of core.io.read_series per format; writes docs/readers_benchmark.md.

Run: ``python benchmarks/bench_readers.py [--frames 30] [--size 256]``.
Series are synthetic (random frames) written by the project's own writers.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from pydicom.data import get_testdata_file

from core.io import read_series
from core.io.dicom_write import write_dicom_series
from core.series import CineSeries

DOCS = Path(__file__).resolve().parents[1] / "docs" / "readers_benchmark.md"


def _time(path: Path, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        read_series(path)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    t, n = args.frames, args.size
    frames = np.random.default_rng(0).random((t, n, n)).astype(np.float32) * 1000
    series = CineSeries(frames=frames, spacing_mm=(1.2, 1.2), times_s=np.arange(t) * 1.5)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_dicom_series(series, tmp / "dicom", shuffle_names=True)
        nib.save(nib.Nifti1Image(np.transpose(frames, (2, 1, 0)), np.eye(4)), tmp / "c.nii.gz")
        tifffile.imwrite(tmp / "c.tif", frames, photometric="minisblack")
        inputs = [
            (f"DICOM folder, {t} single-frame files {n}x{n}", tmp / "dicom"),
            (f"NIfTI .nii.gz (W,H,T) {n}x{n}x{t}", tmp / "c.nii.gz"),
            (f"multi-page TIFF {t} pages {n}x{n}", tmp / "c.tif"),
        ]
        for name in ("emri_small.dcm", "emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm",
                     "emri_small_big_endian.dcm"):
            inputs.append((f"{name} (10 frames 64x64)", Path(get_testdata_file(name))))
        for label, path in inputs:
            rows.append((label, _time(path, args.repeats)))
    lines = [
        "# Reader speed (`benchmarks/bench_readers.py`)",
        "",
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}; median of {args.repeats} runs, warm file cache.",
        "",
        "| input | read_series (s) |",
        "|---|---|",
        *[f"| {label} | {sec:.3f} |" for label, sec in rows],
        "",
    ]
    DOCS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
