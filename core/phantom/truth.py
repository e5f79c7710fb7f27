"""Store a phantom case on disk (DICOM + truth.h5) and read the truth back.

Layout written by :func:`write_case`::

    out_dir/<subject>/dicom/...      one MR DICOM file per frame
    out_dir/<subject>/truth.h5       labels, trajectories, landmarks, strain, ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from core.errors import ReaderError
from core.io.dicom_write import write_dicom_series

TRUTH_FILE = "truth.h5"
TRUTH_VERSION = 1


@dataclass
class PhantomTruth:
    """The truth of a phantom case as read from ``truth.h5``.

    Attributes mirror :class:`core.phantom.PhantomCase` without the series:
    labels (T, H, W) uint8, trajectories organ -> (T, N, 2) xy mm, landmarks
    name -> (T, 2) xy mm, strain (T,), organs, times_s (T,), spacing_mm (row, col),
    params (dict).
    """

    labels: np.ndarray
    organs: tuple[str, ...]
    trajectories: dict[str, np.ndarray]
    landmarks: dict[str, np.ndarray]
    strain: np.ndarray
    times_s: np.ndarray
    spacing_mm: tuple[float, float]
    params: dict[str, Any] = field(default_factory=dict)
    subject_id: str = ""


def write_case(case: Any, out_dir: str | Path, *, shuffle_names: bool = True) -> Path:
    """Write a case as DICOM files and ``truth.h5`` under ``out_dir/<subject>/``.

    Args:
        case: a :class:`core.phantom.PhantomCase`.
        out_dir: parent folder (created if missing).
        shuffle_names: random hexadecimal DICOM file names (no extension).

    Returns:
        The case folder ``out_dir/<subject>``.
    """
    missing = [a for a in ("series", "labels", "organs", "trajectories", "landmarks", "strain",
                           "params") if not hasattr(case, a)]
    if missing:
        raise ValueError(f"expected a PhantomCase, got {type(case).__name__} without {missing}")
    series = case.series
    subject = series.subject
    folder = Path(out_dir) / subject
    seed = int(case.params.get("seed", 0))
    write_dicom_series(series, folder / "dicom", shuffle_names=shuffle_names, seed=seed,
                       patient_name="PHANTOM^" + subject.replace("-", "_").upper(),
                       patient_id=subject)
    tmp = folder / (TRUTH_FILE + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["version"] = TRUTH_VERSION
        f.attrs["subject_id"] = subject
        f.attrs["organs"] = json.dumps(list(case.organs))
        f.attrs["params"] = json.dumps(case.params)
        f.create_dataset("labels", data=case.labels, compression="gzip", compression_opts=4)
        f.create_dataset("strain", data=np.asarray(case.strain, float))
        f.create_dataset("times_s", data=np.asarray(series.times_s, float))
        f.create_dataset("spacing_mm", data=np.asarray(series.spacing_mm, float))
        f.create_dataset("organs", data=np.array(list(case.organs), dtype="S"))
        g = f.create_group("trajectories")
        for organ, pts in case.trajectories.items():
            g.create_dataset(organ, data=np.asarray(pts, float))
        g = f.create_group("landmarks")
        for name, pts in case.landmarks.items():
            g.create_dataset(name, data=np.asarray(pts, float))
    tmp.replace(folder / TRUTH_FILE)
    return folder


def read_truth(path: str | Path) -> PhantomTruth:
    """Read ``truth.h5`` (or the case folder that holds it).

    Raises:
        ReaderError: missing file or not a phantom truth file.
    """
    p = Path(path)
    if p.is_dir():
        p = p / TRUTH_FILE
    if not p.is_file():
        raise ReaderError(p, "no phantom truth file")
    try:
        with h5py.File(p, "r") as f:
            organs = tuple(json.loads(f.attrs["organs"]))
            return PhantomTruth(
                labels=f["labels"][()].astype(np.uint8),
                organs=organs,
                trajectories={k: f["trajectories"][k][()] for k in organs
                              if k in f["trajectories"]},
                landmarks={k: f["landmarks"][k][()] for k in f["landmarks"]},
                strain=f["strain"][()],
                times_s=f["times_s"][()],
                spacing_mm=tuple(float(v) for v in f["spacing_mm"][()]),
                params=json.loads(f.attrs["params"]),
                subject_id=str(f.attrs.get("subject_id", "")),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ReaderError(p, f"not a phantom truth file ({type(exc).__name__}: {exc})") from exc
