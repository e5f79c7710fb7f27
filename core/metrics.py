"""Segmentation metrics in mm: Dice, Hausdorff, HD95 and average surface distance.

Surface-based and spacing-aware, in the manner of MONAI's
``compute_hausdorff_distance`` / ``compute_average_surface_distance``:

* the *surface* of a mask is its boundary pixels — the mask minus its binary
  erosion (4-connected structuring element; pixels outside the image count as
  background, so a mask touching the image edge has a surface there);
* the distance from every surface pixel of one mask to the nearest surface
  pixel of the other comes from :func:`scipy.ndimage.distance_transform_edt`
  with ``sampling=spacing_mm`` (row, col), so anisotropic pixels are respected.

Empty masks (documented choice, used everywhere in this module):

* both masks empty: DSC = 1 and every distance = 0 (perfect agreement: the
  organ is absent and predicted absent);
* exactly one mask empty: DSC = 0 and every distance = **NaN** (a distance to
  nothing is undefined).  NaN rather than ``inf`` keeps means finite;
  :func:`summarize` skips NaN in the mean/sd and counts those frames in the
  ``n_undefined`` column so a failure is never silently hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

__all__ = [
    "METRIC_COLUMNS",
    "asd",
    "dice",
    "hausdorff",
    "hd95",
    "organ_metrics",
    "summarize",
    "surface_distances",
]

#: Metric columns of :func:`organ_metrics` tables, in order.
METRIC_COLUMNS = ("dsc", "hd_mm", "hd95_mm", "asd_mm")


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"expected two (H,W) masks, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    return a.astype(bool, copy=False), b.astype(bool, copy=False)


def _check_spacing(spacing_mm: float | Sequence[float]) -> tuple[float, float]:
    sp = np.asarray(spacing_mm, dtype=float).ravel()
    if sp.size == 1:
        sp = np.repeat(sp, 2)
    if sp.size != 2 or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(
            f"spacing_mm must be two positive numbers (row, col) in mm, got {spacing_mm!r}"
        )
    return float(sp[0]), float(sp[1])


def _surface(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a boolean mask: the mask minus its 4-connected erosion."""
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice similarity coefficient of two masks.

    Args:
        a: mask (H,W), anything castable to bool.
        b: mask (H,W) of the same shape.

    Returns:
        2|A∩B| / (|A|+|B|) in [0, 1]; 1.0 when both masks are empty.
    """
    a, b = _check_pair(a, b)
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * float(np.logical_and(a, b).sum()) / total


def surface_distances(
    a: np.ndarray, b: np.ndarray, spacing_mm: float | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Directed surface distances between two masks, in mm.

    Args:
        a: mask (H,W).
        b: mask (H,W) of the same shape.
        spacing_mm: pixel spacing (row, col) in mm (a single number means isotropic).

    Returns:
        ``(d_ab, d_ba)``: for every surface pixel of ``a`` the distance (mm) to the
        nearest surface pixel of ``b``, and vice versa — 1-D float64 arrays.  Both
        are empty when both masks are empty; when exactly one mask is empty, the
        distances of the other mask's surface are NaN (undefined).
    """
    a, b = _check_pair(a, b)
    sp = _check_spacing(spacing_mm)
    if not a.any() and not b.any():
        return np.zeros(0), np.zeros(0)
    # Crop to the union's bounding box plus a 1-pixel margin of background: all
    # surface pixels of both masks lie inside, so the distances are unchanged.
    rows, cols = np.nonzero(a | b)
    r0, r1 = rows.min(), rows.max() + 1
    c0, c1 = cols.min(), cols.max() + 1
    a = np.pad(a[r0:r1, c0:c1], 1)
    b = np.pad(b[r0:r1, c0:c1], 1)
    sa, sb = _surface(a), _surface(b)
    if not sa.any() or not sb.any():
        return np.full(int(sa.sum()), np.nan), np.full(int(sb.sum()), np.nan)
    d_ab = ndimage.distance_transform_edt(~sb, sampling=sp)[sa]
    d_ba = ndimage.distance_transform_edt(~sa, sampling=sp)[sb]
    return d_ab.astype(np.float64), d_ba.astype(np.float64)


def _one_empty(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a.any()) != bool(b.any())


def hausdorff(a: np.ndarray, b: np.ndarray, spacing_mm: float | Sequence[float]) -> float:
    """Symmetric Hausdorff distance between the surfaces of two masks, in mm.

    Args:
        a: mask (H,W).
        b: mask (H,W) of the same shape.
        spacing_mm: pixel spacing (row, col) in mm.

    Returns:
        max over both directions of the largest surface distance; 0.0 when both
        masks are empty, NaN when exactly one is.
    """
    return _percentile_distance(a, b, spacing_mm, 100.0)


def hd95(a: np.ndarray, b: np.ndarray, spacing_mm: float | Sequence[float]) -> float:
    """95th-percentile Hausdorff distance, in mm (MONAI convention).

    The larger of the two directed 95th percentiles of the surface distances.

    Args:
        a: mask (H,W).
        b: mask (H,W) of the same shape.
        spacing_mm: pixel spacing (row, col) in mm.

    Returns:
        HD95 in mm; 0.0 when both masks are empty, NaN when exactly one is.
    """
    return _percentile_distance(a, b, spacing_mm, 95.0)


def _percentile_distance(
    a: np.ndarray, b: np.ndarray, spacing_mm: float | Sequence[float], q: float
) -> float:
    a, b = _check_pair(a, b)
    d_ab, d_ba = surface_distances(a, b, spacing_mm)
    if _one_empty(a, b):
        return float("nan")
    if d_ab.size == 0 and d_ba.size == 0:
        return 0.0
    return float(max(np.percentile(d_ab, q), np.percentile(d_ba, q)))


def asd(a: np.ndarray, b: np.ndarray, spacing_mm: float | Sequence[float]) -> float:
    """Average symmetric surface distance, in mm.

    The mean of all surface distances of both directions together (MONAI
    ``compute_average_surface_distance(symmetric=True)``).

    Args:
        a: mask (H,W).
        b: mask (H,W) of the same shape.
        spacing_mm: pixel spacing (row, col) in mm.

    Returns:
        ASD in mm; 0.0 when both masks are empty, NaN when exactly one is.
    """
    a, b = _check_pair(a, b)
    d_ab, d_ba = surface_distances(a, b, spacing_mm)
    if _one_empty(a, b):
        return float("nan")
    both = np.concatenate([d_ab, d_ba])
    return float(both.mean()) if both.size else 0.0


def organ_metrics(
    pred_labels: np.ndarray,
    true_labels: np.ndarray,
    organs: Sequence[str],
    spacing_mm: float | Sequence[float],
) -> pd.DataFrame:
    """Per-frame, per-organ metrics of a predicted label series against the truth.

    Args:
        pred_labels: predicted labels (T,H,W) (or (H,W) for one frame), integer,
            0 background and ``i + 1`` for ``organs[i]``.
        true_labels: reference labels of the same shape.
        organs: organ names in label order.
        spacing_mm: pixel spacing (row, col) in mm.

    Returns:
        DataFrame with one row per (organ, frame) and columns ``organ``, ``frame``,
        ``dsc``, ``hd_mm``, ``hd95_mm``, ``asd_mm`` (NaN distances where exactly
        one of the two masks is empty; see the module docstring).
    """
    pred = np.asarray(pred_labels)
    true = np.asarray(true_labels)
    if pred.ndim == 2 and true.ndim == 2:
        pred, true = pred[None], true[None]
    if pred.ndim != 3 or true.ndim != 3:
        raise ValueError(
            f"expected (T,H,W) label arrays, got shapes {pred.shape} and {true.shape}"
        )
    if pred.shape != true.shape:
        raise ValueError(f"label arrays differ in shape: {pred.shape} vs {true.shape}")
    for name, arr in (("pred_labels", pred), ("true_labels", true)):
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise ValueError(f"{name} must be an integer label array, got dtype {arr.dtype}")
    organs = tuple(str(o) for o in organs)
    if not organs:
        raise ValueError("organs must name at least one organ")
    sp = _check_spacing(spacing_mm)
    rows = []
    for i, organ in enumerate(organs):
        label = i + 1
        for t in range(pred.shape[0]):
            a = pred[t] == label
            b = true[t] == label
            rows.append(_pair_row(organ, t, a, b, sp))
    return pd.DataFrame(rows, columns=["organ", "frame", *METRIC_COLUMNS])


def _pair_row(
    organ: str, frame: int, a: np.ndarray, b: np.ndarray, sp: tuple[float, float]
) -> dict:
    """All four metrics of one mask pair from one distance computation."""
    d_ab, d_ba = surface_distances(a, b, sp)
    row = {"organ": organ, "frame": frame, "dsc": dice(a, b)}
    if _one_empty(a, b):
        row.update(hd_mm=np.nan, hd95_mm=np.nan, asd_mm=np.nan)
    elif d_ab.size == 0 and d_ba.size == 0:
        row.update(hd_mm=0.0, hd95_mm=0.0, asd_mm=0.0)
    else:
        row.update(
            hd_mm=float(max(d_ab.max(), d_ba.max())),
            hd95_mm=float(max(np.percentile(d_ab, 95), np.percentile(d_ba, 95))),
            asd_mm=float(np.concatenate([d_ab, d_ba]).mean()),
        )
    return row


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per-organ mean ± sd of a metrics table.

    Args:
        df: a table as returned by :func:`organ_metrics` (needs ``organ`` and the
            metric columns present in :data:`METRIC_COLUMNS`; other columns are
            ignored).

    Returns:
        One row per organ (in order of first appearance) with ``n_frames``,
        ``n_undefined`` (frames where a distance is NaN, i.e. exactly one mask
        empty), and ``<metric>_mean`` / ``<metric>_sd`` for every metric column
        (NaN skipped; sd with ddof=1, NaN for a single value).
    """
    if "organ" not in df.columns:
        raise ValueError(f"expected a metrics table with an 'organ' column, got {list(df.columns)}")
    metrics = [c for c in METRIC_COLUMNS if c in df.columns]
    if not metrics:
        raise ValueError(f"no metric columns {METRIC_COLUMNS} in table, got {list(df.columns)}")
    dist = [c for c in metrics if c != "dsc"]
    out = []
    for organ in pd.unique(df["organ"]):
        sub = df[df["organ"] == organ]
        row = {"organ": organ, "n_frames": len(sub)}
        row["n_undefined"] = int(sub[dist].isna().any(axis=1).sum()) if dist else 0
        for c in metrics:
            values = pd.to_numeric(sub[c], errors="coerce")
            row[f"{c}_mean"] = float(values.mean(skipna=True))
            row[f"{c}_sd"] = float(values.std(skipna=True, ddof=1))
        out.append(row)
    columns = ["organ", "n_frames", "n_undefined"]
    columns += [f"{c}_{s}" for c in metrics for s in ("mean", "sd")]
    return pd.DataFrame(out, columns=columns)
