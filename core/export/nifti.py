"""Label maps as NIfTI files that ITK-SNAP and 3D Slicer open as segmentations."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from core.atomic import replaced_atomically
from core.errors import ReaderError

__all__ = ["read_labels_nifti", "write_labels_nifti", "write_series_labels"]

_COMMENT_CODE = 6  # NIfTI extension code "comment"


def write_labels_nifti(
    labels: np.ndarray,
    spacing_mm: Sequence[float],
    path: str | os.PathLike,
    times_s: Sequence[float] | None = None,
    affine: Sequence[Sequence[float]] | np.ndarray | None = None,
    orientation_ops: Sequence[str] = (),
) -> Path:
    """Write a label series (T,H,W) as a NIfTI label map.

    Layout: the data array has shape (W, H, T) — i is the column, j the row, k
    the frame — so ``np.asarray(img.dataobj)[:, :, t].T`` is frame ``t`` as
    rows × columns.  With the series' place in the scanner (``affine`` =
    ``series.meta["affine_ras"]`` of a DICOM or NIfTI source) the reorientation the
    reader applied (``orientation_ops``) is undone: the array is in the source's
    stored order, voxel for voxel the source's grid, with the source's affine, so
    the labels overlay the source in other viewers and match a NIfTI source's
    array; :func:`read_labels_nifti` turns them canonical again.  Without
    ``affine``, the labels stay canonical and the affine is
    ``diag(spacing_col, spacing_row, 1, 1)``.  The xyzt units are mm and s,
    ``pixdim[4]`` is the frame interval (s), the intent is ``label`` and the
    data type uint8.  The frame times and spacing are also stored as JSON in a
    NIfTI comment extension.

    Args:
        labels: uint8-compatible label array (T,H,W), values 0..255.
        spacing_mm: pixel spacing (row, col) in mm.
        path: target file; ``.nii.gz`` (gzip, recommended) or ``.nii``.  A path
            without either suffix gets ``.nii.gz`` appended.
        times_s: frame times (T,) in s; the interval written is the median
            difference.  Without times the interval is 1 s.
        affine: (4, 4) voxel (column, row, frame) → RAS+ mm of the canonical frames,
            or None.
        orientation_ops: ``series.meta["orientation_ops"]``; used only with ``affine``.

    Returns:
        The path written.

    Raises:
        ValueError: wrong shape, non-integer or out-of-range labels, bad spacing
            or times.
    """
    arr = np.asarray(labels)
    if arr.ndim != 3:
        raise ValueError(f"expected (T,H,W) labels, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"labels must lie in 0..255, got {arr.min()}..{arr.max()}")
    sp = np.asarray(spacing_mm, dtype=float).ravel()
    if sp.size != 2 or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(f"spacing_mm must be two positive numbers (row, col), got {spacing_mm!r}")
    interval = 1.0
    times = None
    if times_s is not None:
        times = np.asarray(times_s, dtype=float).ravel()
        if times.shape != (arr.shape[0],):
            raise ValueError(f"expected {arr.shape[0]} frame times, got {times.size}")
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError("times_s must be finite and strictly increasing")
        if times.size > 1:
            interval = float(np.median(np.diff(times)))
    path = Path(path)
    if not (path.name.endswith(".nii.gz") or path.suffix == ".nii"):
        path = path.with_name(path.name + ".nii.gz")

    arr = arr.astype(np.uint8)
    if affine is None:
        affine = np.diag([sp[1], sp[0], 1.0, 1.0])
    else:
        affine = np.asarray(affine, dtype=float)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise ValueError(f"affine must be a finite 4x4 matrix, got shape {affine.shape}")
        from core.io.orientation import reorient_spacing, undo_orientation

        arr, affine = undo_orientation(arr, affine, orientation_ops)
        sp = np.asarray(reorient_spacing((sp[0], sp[1]), orientation_ops))  # stored grid
    data = np.ascontiguousarray(arr.transpose(2, 1, 0))
    img = nib.Nifti1Image(data, affine)
    img.set_data_dtype(np.uint8)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=2)
    hdr = img.header
    hdr.set_xyzt_units("mm", "sec")
    hdr.set_intent("label")
    hdr["pixdim"][4] = interval
    hdr["descrip"] = b"PelviTrack labels (W,H,T)"
    info = {
        "axes": ["col", "row", "frame"],
        "spacing_mm": [float(sp[0]), float(sp[1])],
        "frame_interval_s": interval,
        "times_s": None if times is None else [float(t) for t in times],
    }
    hdr.extensions.append(nib.nifti1.Nifti1Extension(_COMMENT_CODE, json.dumps(info).encode()))

    with replaced_atomically(path, ".nii.gz" if path.name.endswith(".nii.gz") else None) as tmp:
        nib.save(img, tmp)
    return path


def write_series_labels(labels: np.ndarray, series: Any, path: str | os.PathLike) -> Path:
    """:func:`write_labels_nifti` for the labels of a :class:`~core.series.CineSeries`:
    its spacing and frame times, on the source's grid when the reader recorded it
    (``meta["affine_ras"]``, ``meta["orientation_ops"]``)."""
    meta = series.meta
    return write_labels_nifti(labels, series.spacing_mm, path, times_s=series.times_s,
                              affine=meta.get("affine_ras"),
                              orientation_ops=meta.get("orientation_ops") or ())


def read_labels_nifti(path: str | os.PathLike) -> np.ndarray:
    """Read a label map written by :func:`write_labels_nifti` (or by another tool:
    a sagittal map is brought to the canonical order as :func:`core.io.read_series`
    brings its image).

    Args:
        path: a ``.nii`` / ``.nii.gz`` file holding a (W, H, T) integer array
            (a singleton 4th axis is accepted).

    Returns:
        uint8 labels (T,H,W).

    Raises:
        ReaderError: missing file, not NIfTI, wrong dimensions or non-label values.
    """
    path = Path(path)
    if not path.is_file():
        raise ReaderError(path, "no such file")
    try:
        img = nib.load(path)
        data = np.asarray(img.dataobj)
    except (OSError, ValueError, nib.filebasedimages.ImageFileError) as exc:
        raise ReaderError(path, f"not a readable NIfTI file: {exc}") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ReaderError(path, f"expected a (W,H,T) label array, got shape {data.shape}")
    if data.size and (
        not np.all(np.isfinite(data))
        or not np.array_equal(data, np.round(data))
        or data.min() < 0
        or data.max() > 255
    ):
        raise ReaderError(path, "values are not integer labels in 0..255")
    from core.io.nifti import nifti_iop
    from core.io.orientation import canonicalize

    labels = canonicalize(data.transpose(2, 1, 0).astype(np.uint8), nifti_iop(img.header))[0]
    return np.ascontiguousarray(labels)
