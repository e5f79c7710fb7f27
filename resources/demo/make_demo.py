"""Regenerate the bundled demo series: ``python resources/demo/make_demo.py``.

Writes into this folder a synthetic dynamic mid-sagittal pelvic MRI (phantom
seed 7, 24 frames, 224 × 224, straining manoeuvre) as single-frame DICOM files
(10-bit pixels, Deflated Explicit VR Little Endian, to stay under 2 MB), plus the phantom's exact
organ labels as ``labels.nii.gz``.  ``pelvitrack demo`` analyses the series
with the shipped model, or, without one, tracks and measures these labels.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import DeflatedExplicitVRLittleEndian

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

SEED = 7
QUANT_STEP = 64  # 16-bit pixels / 64: about 10 bits, well above the noise
OVERRIDES = {"shape": (224, 224), "n_frames": 24, "spacing_mm": 1.25, "frame_interval_s": 1.0,
             "peak_strain": 1.0, "contrast": "t2"}


def main() -> None:
    from core.export import write_labels_nifti
    from core.io.dicom_write import write_dicom_series
    from core.phantom import generate_case

    case = generate_case(SEED, **OVERRIDES)
    case.series.meta["series_description"] = "Demo phantom - straining, sagittal T2 SSFSE"
    for old in HERE.glob("IM*.dcm"):
        old.unlink()
    paths = write_dicom_series(case.series, HERE, patient_name="DEMO^PHANTOM",
                               patient_id="demo-0007", seed=SEED)
    for p in paths:  # 10-bit pixels, deflate-compressed transfer syntax: < 2 MB in all
        ds = pydicom.dcmread(p)
        pixels = ds.pixel_array.astype(np.float64)
        step = QUANT_STEP
        ds.PixelData = np.round(pixels / step).astype(np.uint16).tobytes()
        ds.RescaleSlope = f"{float(getattr(ds, 'RescaleSlope', 1.0)) * step:.6g}"
        ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
        ds.save_as(p, enforce_file_format=True)
    write_labels_nifti(case.labels, case.series.spacing_mm, HERE / "labels.nii.gz",
                       times_s=case.series.times_s)
    size = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"wrote {len(paths)} DICOM frames + labels.nii.gz to {HERE} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
