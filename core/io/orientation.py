"""Canonical in-plane orientation of a cine series.

PelviTrack works in a canonical sagittal frame: rows run head→feet and columns
run anterior→posterior (see ``docs/interfaces.md``).  DICOM describes the plane
with ImageOrientationPatient (IOP): six direction cosines in the patient LPS
system (+x left, +y posterior, +z head), first the *row* direction (where the
column index grows along a row), then the *column* direction (where the row
index grows down a column).

Canonical sagittal therefore means::

    row direction    ≈ (0, +1, 0)   column index grows towards posterior
    column direction ≈ (0, 0, -1)   row index grows towards the feet

:func:`canonicalize` transposes and flips the frames of a sagittal slice until
this holds and records what it did.  Axial and coronal slices are left as is,
with the plane recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import ReaderError

#: Operation names recorded in ``meta["orientation_ops"]``.
TRANSPOSE = "transpose"
FLIP_ROWS = "flip rows"  # reverse the order of the rows (up-down)
FLIP_COLUMNS = "flip columns"  # reverse the order of the columns (left-right)

_PLANES = ("sagittal", "coronal", "axial")  # plane whose normal is ±x, ±y, ±z


def parse_iop(iop: Sequence[float] | np.ndarray | None) -> np.ndarray | None:
    """Validate an ImageOrientationPatient value.

    Args:
        iop: six numbers (row cosine x, y, z, column cosine x, y, z) or None.

    Returns:
        A (2, 3) float64 array (row direction, column direction), each row of
        unit length, or None when ``iop`` is missing or not a usable orientation
        (wrong length, non-finite, zero or parallel vectors).
    """
    if iop is None:
        return None
    try:
        arr = np.asarray([float(v) for v in iop], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (6,) or not np.all(np.isfinite(arr)):
        return None
    vecs = arr.reshape(2, 3)
    norms = np.linalg.norm(vecs, axis=1)
    if np.any(norms < 1e-6):
        return None
    vecs = vecs / norms[:, None]
    if np.linalg.norm(np.cross(vecs[0], vecs[1])) < 1e-3:
        return None  # parallel row and column directions
    return vecs


def plane_of(iop: Sequence[float] | np.ndarray | None) -> str:
    """Name the plane of a slice: "sagittal", "coronal", "axial" or "unknown".

    The plane is the one whose normal (row × column direction) lies closest to
    the slice normal, so slightly oblique slices get the nearest plane.
    """
    vecs = parse_iop(iop)
    if vecs is None:
        return "unknown"
    normal = np.cross(vecs[0], vecs[1])
    return _PLANES[int(np.argmax(np.abs(normal)))]


def canonicalize(
    frames: np.ndarray, iop: Sequence[float] | np.ndarray | None
) -> tuple[np.ndarray, list[str], str]:
    """Bring the frames of a sagittal slice into canonical order.

    Args:
        frames: array (T, H, W) of any dtype.
        iop: ImageOrientationPatient of the slice (six direction cosines in LPS),
            or None when the file does not say.

    Returns:
        ``(frames, ops, label)``: the frames, (T, H, W) or (T, W, H) after a
        transpose; the operations applied in order (subset of ``"transpose"``,
        ``"flip rows"``, ``"flip columns"``); and a label for
        ``meta["orientation"]`` such as ``"sagittal (canonical)"``,
        ``"axial (left as is)"`` or ``"unknown (no orientation tag)"``.
        A transpose swaps the pixel spacing: see :func:`reorient_spacing`.

    Raises:
        ValueError: ``frames`` is not 3-D.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"expected (T,H,W) frames, got shape {frames.shape}")
    if iop is None:
        return frames, [], "unknown (no orientation tag)"
    vecs = parse_iop(iop)
    if vecs is None:
        return frames, [], "unknown (invalid orientation tag)"
    plane = plane_of(vecs.ravel())
    if plane != "sagittal":
        return frames, [], f"{plane} (left as is)"

    row_dir, col_dir = vecs  # row_dir: along a row (column index); col_dir: down a column
    ops: list[str] = []
    # Rows must run along z (head→feet): the column direction must be mostly z.
    if abs(col_dir[2]) < abs(row_dir[2]):
        frames = np.swapaxes(frames, 1, 2)
        row_dir, col_dir = col_dir, row_dir
        ops.append(TRANSPOSE)
    if col_dir[2] > 0:  # row index grows towards the head: flip up-down
        frames = frames[:, ::-1, :]
        ops.append(FLIP_ROWS)
    if row_dir[1] < 0:  # column index grows towards anterior: flip left-right
        frames = frames[:, :, ::-1]
        ops.append(FLIP_COLUMNS)
    return np.ascontiguousarray(frames), ops, "sagittal (canonical)"


def reorient_spacing(spacing_mm: tuple[float, float], ops: Sequence[str]) -> tuple[float, float]:
    """Pixel spacing (row, col) in mm after the operations of :func:`canonicalize`."""
    row, col = float(spacing_mm[0]), float(spacing_mm[1])
    if TRANSPOSE in ops:
        row, col = col, row
    return row, col


#: LPS (DICOM) ↔ RAS+ (NIfTI) coordinates: x and y change sign.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def dicom_affine(iop: Sequence[float], ipp: Sequence[float],
                 spacing_mm: tuple[float, float]) -> np.ndarray | None:
    """RAS+ affine of stored DICOM frames, as NIfTI's for (W, H, T) data.

    Voxel (i = column, j = row, k) → RAS+ mm: the column index steps along the row
    direction by the column spacing, the row index along the column direction by
    the row spacing, k along the slice normal by 1 mm; the origin is
    ImagePositionPatient (centre of the first pixel).

    Returns:
        (4, 4) float64, or None when the orientation or position is unusable.
    """
    vecs = parse_iop(iop)
    try:
        pos = np.asarray([float(v) for v in ipp], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if vecs is None or pos.shape != (3,) or not np.all(np.isfinite(pos)):
        return None
    row_dir, col_dir = vecs
    a = np.eye(4)
    a[:3, 0] = LPS_TO_RAS @ row_dir * float(spacing_mm[1])
    a[:3, 1] = LPS_TO_RAS @ col_dir * float(spacing_mm[0])
    a[:3, 2] = LPS_TO_RAS @ np.cross(row_dir, col_dir)
    a[:3, 3] = LPS_TO_RAS @ pos
    return a


def reorient_affine(affine: np.ndarray, shape_hw: tuple[int, int],
                    ops: Sequence[str]) -> np.ndarray:
    """The affine of frames after :func:`canonicalize`'s operations.

    Args:
        affine: (4, 4) RAS+ affine of the stored frames (voxel (column, row, k)).
        shape_hw: (H, W) of the stored frames.
        ops: the operations, in the order applied.

    Returns:
        (4, 4) affine that maps the reoriented frames' voxels to the same points.
    """
    a = np.array(affine, dtype=np.float64)
    h, w = int(shape_hw[0]), int(shape_hw[1])
    for op in ops:
        if op == TRANSPOSE:
            a[:, [0, 1]] = a[:, [1, 0]]
            h, w = w, h
        elif op == FLIP_ROWS:
            a[:3, 3] += a[:3, 1] * (h - 1)
            a[:3, 1] *= -1
        elif op == FLIP_COLUMNS:
            a[:3, 3] += a[:3, 0] * (w - 1)
            a[:3, 0] *= -1
        else:
            raise ValueError(f"unknown orientation operation {op!r}")
    return a


def undo_orientation(frames: np.ndarray, affine: np.ndarray,
                     ops: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Back from canonical order to the source's stored order.

    Args:
        frames: (T, H, W) canonical frames (or labels).
        affine: their (4, 4) RAS+ affine (``meta["affine_ras"]``).
        ops: the operations :func:`canonicalize` applied (``meta["orientation_ops"]``).

    Returns:
        (frames in stored order, the affine of the stored frames).  Each operation is
        its own inverse, so they are applied again in reverse order.
    """
    back = list(reversed(ops))
    stored = np.asarray(frames)
    for op in back:
        if op == TRANSPOSE:
            stored = np.swapaxes(stored, 1, 2)
        elif op == FLIP_ROWS:
            stored = stored[:, ::-1, :]
        elif op == FLIP_COLUMNS:
            stored = stored[:, :, ::-1]
        else:
            raise ValueError(f"unknown orientation operation {op!r}")
    return (np.ascontiguousarray(stored),
            reorient_affine(affine, np.shape(frames)[1:], back))


def slice_groups(iop: Sequence[float] | np.ndarray | None,
                 positions: Sequence[Sequence[float] | None]) -> list[tuple[float, list[int]]]:
    """Images grouped by slice position, in position order.

    Args:
        iop: ImageOrientationPatient shared by the images, or None.
        positions: ImagePositionPatient of each image (None where missing).

    Returns:
        ``(mm along the slice normal, image indices)`` per position (positions
        within 0.1 mm are one); a single group when the orientation or a position
        is missing, or all images lie in one plane.
    """
    vecs = parse_iop(iop)
    if vecs is None or not positions or any(p is None for p in positions):
        return [(0.0, list(range(len(positions))))]
    depth = np.asarray(positions, dtype=np.float64) @ np.cross(vecs[0], vecs[1])
    if np.ptp(depth) <= 0.1:
        return [(float(np.mean(depth)), list(range(len(positions))))]
    groups: dict[float, list[int]] = {}
    for i, d in enumerate(np.round(depth, 1)):
        groups.setdefault(float(d), []).append(i)
    return sorted(groups.items())


def choose_slice(path: Any, groups: list[tuple[float, list[int]]], slice_index: int | None,
                 meta_out: dict[str, Any]) -> list[int]:
    """The image indices of one slice position: the only one, or ``slice_index``.

    Records ``slice_index``, ``slice_position_mm`` and ``n_slices`` in ``meta_out``
    when an index is given.

    Raises:
        ReaderError (naming ``path``): a 3D stack (one image per position), several
            positions and no ``slice_index``, or a ``slice_index`` that does not exist.
    """
    n = len(groups)
    if n > 1 and all(len(g) == 1 for _, g in groups):
        raise ReaderError(path, f"a 3D stack (one image at each of {n} slice positions), "
                                "not a cine: PelviTrack reads one 2D slice over time")
    if slice_index is None:
        if n > 1:
            where = ", ".join(f"{d:g}" for d, _ in groups[:8]) + (", …" if n > 8 else "")
            raise ReaderError(
                path,
                f"a multi-slice cine: frames at {n} slice positions ({where} mm); choose "
                f"one with slice_index 0-{n - 1} (pelvitrack --slice N)",
            )
        return groups[0][1]
    if not 0 <= slice_index < n:
        raise ReaderError(path, f"no slice {slice_index}: the series has {n} slice "
                                f"position{'s' if n > 1 else ''} (0-{n - 1})")
    meta_out["slice_index"] = int(slice_index)
    meta_out["slice_position_mm"] = groups[slice_index][0]
    meta_out["n_slices"] = n
    return groups[slice_index][1]
