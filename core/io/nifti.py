"""Reader of NIfTI-1/2 cine series (``.nii`` / ``.nii.gz``), 2D+t.

Convention (the same one :func:`core.export.nifti.write_labels_nifti` writes):
the array stored is ``(W, H, T)`` — axis 0 the column, axis 1 the row, axis 2
the frame — so ``data[:, :, t].T`` is frame ``t`` as rows × columns.  A
singleton slice axis ``(W, H, 1, T)`` is accepted too.  Spacing (row, col) is
``(zooms[1], zooms[0])`` in the header's spatial unit (converted to mm); the
frame interval is ``pixdim[4]`` in the header's time unit (ms and µs converted
to s).  Exact frame times stored as JSON (``"times_s"``) in a header extension
are used when present.

Which shapes are a cine:

- ``(W, H, T)``: a cine, unless the header declares a time unit together with a
  zero time step (``pixdim[4] == 0``), which is how tools mark a static 3D
  volume (e.g. SPM's ``anatomical.nii``): refused as "a 3D volume, not a 2D+t
  cine";
- ``(W, H, 1, T)``: a cine;
- ``(W, H, Z, 1)`` with Z > 1: refused, "a 3D volume, not a 2D+t cine";
- ``(W, H, Z, T)`` with Z > 1 and T > 1: a multi-slice cine; one slice is read
  when ``slice_index`` names it, else refused with the shape named.

Orientation: a sagittal slice is brought into the canonical order (rows
head→feet, columns anterior→posterior, as DICOM series are) from the header's
affine (sform, else qform; RAS+ converted to DICOM's LPS), with the operations
recorded in ``meta["orientation_ops"]``; the ``(W, H, T)`` order above then only
names the stored axes, and a file stored ``(H, W, T)`` with a truthful affine is
transposed back.  Other planes, and files whose header codes say the affine means
nothing, are left in stored order, so a file written by PelviTrack (a
``diag(spacing)`` affine) reads back unchanged.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from core.errors import ReaderError
from core.io.orientation import LPS_TO_RAS
from core.io.registry import quiet_loggers, short_error
from core.series import CineSeries

#: Exceptions nibabel raises on damaged files (wrapped into ReaderError).
NIFTI_ERRORS: tuple[type[BaseException], ...] = (
    nib.filebasedimages.ImageFileError,
    nib.spatialimages.HeaderDataError,
    OSError,
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    struct.error,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    MemoryError,
    RuntimeError,
)

_SPACE_TO_MM = {"mm": 1.0, "meter": 1000.0, "micron": 1e-3}
_TIME_TO_S = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}


def _is_nifti_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def _load(path: Path) -> tuple[Any, np.ndarray]:
    try:
        with quiet_loggers("nibabel", "nibabel.global"):
            img = nib.load(path)
            if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
                raise ReaderError(path, f"not a NIfTI image ({type(img).__name__})")
            data = np.asanyarray(img.dataobj)
    except ReaderError:
        raise
    except NIFTI_ERRORS as exc:
        raise ReaderError(path, f"not a readable NIfTI file ({short_error(exc)})") from exc
    if data.dtype.kind not in "uifb":
        raise ReaderError(path, f"unsupported NIfTI data type {data.dtype}")
    return img, data


def _as_cine(path: Path, data: np.ndarray, header: Any,
             slice_index: int | None = None) -> tuple[np.ndarray, int]:
    """(W, H, T) view of the data (slice ``slice_index`` of a (W, H, Z, T) series)
    and the number of slices Z, or ReaderError for shapes that are not a cine."""
    shape = data.shape
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 3:
        units = header.get_xyzt_units()
        if units[1] in _TIME_TO_S and float(header["pixdim"][4]) <= 0:
            raise ReaderError(
                path,
                f"a 3D volume, not a 2D+t cine (shape {shape}, no time step in the header)",
            )
        _check_slice(path, slice_index, 1)
        return data, 1
    if data.ndim == 4:
        z, t = data.shape[2], data.shape[3]
        if t == 1 and z > 1:
            raise ReaderError(path, f"a 3D volume, not a 2D+t cine (shape {shape})")
        if z > 1 and slice_index is None:
            raise ReaderError(
                path,
                f"a multi-slice cine of shape {shape} ({z} slices x {t} frames); choose "
                f"one slice with slice_index 0-{z - 1} (pelvitrack --slice N)",
            )
        _check_slice(path, slice_index, z)
        return data[:, :, slice_index or 0, :], z
    if data.ndim == 2:
        raise ReaderError(path, "a single image, a cine series needs at least 2 frames")
    raise ReaderError(path, f"expected (W,H,T) or (W,H,1,T) data, got shape {shape}")


def _check_slice(path: Path, slice_index: int | None, n: int) -> None:
    if slice_index is not None and not 0 <= slice_index < n:
        raise ReaderError(path, f"no slice {slice_index}: the file has {n} slice"
                                f"{'s' if n > 1 else ''} (0-{n - 1})")


def _extension_times(header: Any, n: int) -> list[float] | None:
    """Frame times stored as JSON ``{"times_s": [...]}`` in a header extension."""
    for ext in getattr(header, "extensions", []):
        try:
            info = json.loads(ext.get_content())
            times = [float(t) for t in info["times_s"]]
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
            continue
        if len(times) == n and all(np.isfinite(times)) and np.all(np.diff(times) > 0):
            return times
    return None


def nifti_affine(header: Any) -> np.ndarray | None:
    """The header's voxel → RAS+ mm affine: the sform (code > 0), else the qform
    (code > 0); None when neither is set or finite."""
    for get in (header.get_sform, header.get_qform):
        try:
            affine, code = get(coded=True)
        except Exception:  # a damaged quaternion, say: treated as no orientation
            continue
        if affine is None or not code:
            continue
        affine = np.asarray(affine, dtype=np.float64)
        if affine.shape == (4, 4) and np.all(np.isfinite(affine)):
            return affine
    return None


def nifti_iop(header: Any) -> list[float] | None:
    """The slice orientation of a NIfTI header as a DICOM ImageOrientationPatient.

    The direction in which the column index grows (array axis 0) and the one in
    which the row index grows (axis 1), from :func:`nifti_affine`, converted from
    RAS+ to LPS; None when the header has no usable affine.
    """
    return _iop_of(nifti_affine(header))


def _iop_of(affine: np.ndarray | None) -> list[float] | None:
    if affine is None:
        return None
    lps = LPS_TO_RAS @ affine[:3, :2]  # the same matrix both ways
    return [*lps[:, 0], *lps[:, 1]]


def read_nifti(
    path: Path,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
    slice_index: int | None = None,
) -> CineSeries:
    """Read a 2D+t NIfTI file (or one slice of a 3D+t file).

    Args:
        path: ``.nii`` or ``.nii.gz`` file holding (W, H, T) or (W, H, 1, T) data.
        spacing_mm: (row, col) in mm, used only when the header has no usable zooms.
        frame_interval_s: interval in s, used only when the header has no time step.
        slice_index: the slice of (W, H, Z, T) data to read (needed when Z > 1).

    Returns:
        The series, frames (T, H, W) float32: ``frames[t] == data[:, :, t].T``, then
        the transpose and flips of ``meta["orientation_ops"]`` for a sagittal slice
        (see the module docstring).

    Raises:
        ReaderError: not NIfTI, damaged, or not a 2D+t shape.
    """
    from core.io.orientation import canonicalize, reorient_affine, reorient_spacing

    path = Path(path)
    img, data = _load(path)
    header = img.header
    cine, n_slices = _as_cine(path, data, header, slice_index)
    warnings: list[str] = []
    try:
        frames = np.ascontiguousarray(np.transpose(cine, (2, 1, 0)), dtype=np.float32)
    except (ValueError, TypeError, MemoryError) as exc:
        raise ReaderError(path, f"cannot convert the data to frames ({exc})") from exc
    n = frames.shape[0]
    if n < 2:
        raise ReaderError(path, "a single image, a cine series needs at least 2 frames")

    space_unit, time_unit = header.get_xyzt_units()
    # Header values are float32: keep their shortest decimal form (1.2, not 1.2000000477).
    zooms = [float(str(np.float32(z))) for z in header["pixdim"][1:5]]
    to_mm = _SPACE_TO_MM.get(space_unit)
    if to_mm is None:
        to_mm = 1.0
        if zooms[0] > 0 and zooms[1] > 0 and spacing_mm is None:
            warnings.append("spatial unit not recorded, pixel size taken as mm")
    spacing: tuple[float, float]
    if zooms[0] > 0 and zooms[1] > 0 and np.isfinite(zooms[:2]).all():
        spacing = (zooms[1] * to_mm, zooms[0] * to_mm)
    elif spacing_mm is not None:
        spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
        warnings.append("pixel spacing missing, the given spacing used")
    else:
        spacing = (1.0, 1.0)
        warnings.append("pixel spacing missing, 1 mm assumed")

    times = _extension_times(header, n)
    if times is not None:
        times_s = np.asarray(times)
        source = "extension"
    elif time_unit in _TIME_TO_S and zooms[3] > 0 and np.isfinite(zooms[3]):
        times_s = np.arange(n) * zooms[3] * _TIME_TO_S[time_unit]
        source = "pixdim[4]"
    else:
        interval = float(frame_interval_s) if frame_interval_s else 1.0
        how = "given" if frame_interval_s else "assumed"
        warnings.append(f"no frame interval in the header; {interval:g} s {how}")
        times_s = np.arange(n) * interval
        source = "assumed"

    affine = nifti_affine(header)
    iop = _iop_of(affine)
    stored_hw = frames.shape[1:]
    frames, ops, plane = canonicalize(frames, iop)
    spacing = reorient_spacing(spacing, ops)
    orientation = (f"{plane}, from the NIfTI affine" if iop is not None
                   else "as stored (no orientation in the NIfTI header)")
    descrip = header["descrip"].tobytes().split(b"\0")[0].decode("latin-1").strip()
    meta = {
        "subject_id": _alias(path),
        "series_description": descrip,
        "source_path": str(path),
        "format": "nifti",
        "orientation": orientation,
        "orientation_ops": ops,
        "time_source": source,
        "warnings": warnings,
    }
    if affine is not None:
        affine = affine.copy()
        if slice_index:
            affine[:3, 3] += affine[:3, 2] * slice_index  # the origin of the slice read
        meta["affine_ras"] = reorient_affine(affine, stored_hw, ops).tolist()
    if slice_index is not None:
        meta["slice_index"] = int(slice_index)
        meta["n_slices"] = n_slices
    try:
        return CineSeries(frames=frames, spacing_mm=spacing, times_s=times_s, meta=meta)
    except ValueError as exc:
        raise ReaderError(path, f"not a valid cine series: {exc}") from exc


def _alias(path: Path) -> str:
    from core.io.dicom_common import subject_alias

    return subject_alias("", "", path)


class NiftiReader:
    """Registry entry for ``.nii`` / ``.nii.gz`` files."""

    name = "nifti"

    def can_read(self, path: Path) -> bool:
        """A file named ``*.nii`` or ``*.nii.gz``."""
        return path.is_file() and _is_nifti_name(path)

    def read(self, path: Path, **options: Any) -> CineSeries:
        """Read the file; options ``spacing_mm``, ``frame_interval_s``, ``slice_index``."""
        return read_nifti(
            path,
            spacing_mm=options.get("spacing_mm"),
            frame_interval_s=options.get("frame_interval_s"),
            slice_index=options.get("slice_index"),
        )


READER = NiftiReader()
