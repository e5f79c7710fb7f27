"""Readers of cine series, behind one function :func:`read_series`.

Readers form a registry (MONAI ``ImageReader`` style): each module defines a
reader object with ``name``, ``can_read(path) -> bool`` and
``read(path, **options) -> CineSeries``.  Adding a format is one module and one
line in :data:`core.io.registry.READER_MODULES`.

Every reader raises :class:`core.errors.ReaderError` (path + reason, one line)
on bad input; :func:`read_series` also converts any library exception that
slips through into a ReaderError.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from core.errors import PelviTrackError, ReaderError
from core.io.registry import READERS, Reader, find_reader, short_error
from core.series import CineSeries

__all__ = ["READERS", "Reader", "find_reader", "read_series"]

#: Exception types third-party readers raise on damaged files; turned into ReaderError.
READ_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    LookupError,
    OSError,
    EOFError,
    struct.error,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    MemoryError,
    ZeroDivisionError,
    ArithmeticError,
)


#: Readers that take a ``slice_index`` (multi-slice inputs).
SLICED_READERS = ("dicom-folder", "dicom-enhanced", "nifti")


def read_series(
    path: str | Path,
    series_uid: str | None = None,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
    slice_index: int | None = None,
) -> CineSeries:
    """Read a cine series from a file or folder.

    Args:
        path: DICOM folder or file, enhanced multi-frame DICOM, NIfTI (2D+t),
            multi-page TIFF, folder of PNG/TIFF frames, or a PelviTrack project.
        series_uid: pick one series when a folder holds several.
        spacing_mm: pixel spacing (row, col) for formats that do not store it
            (image stacks); ignored by formats that do.
        frame_interval_s: frame interval for formats that do not store it.
        slice_index: which slice (0-based, in position order) of a multi-slice cine:
            DICOM (a folder or a multi-frame file) with frames at several slice
            positions, or a NIfTI file (W, H, Z, T); refused for other formats.

    Returns:
        The series in canonical orientation (rows head→feet, columns anterior→posterior
        where the orientation is known).

    Raises:
        ReaderError: the path is missing, empty, not a supported format or damaged.
    """
    p = Path(path)
    if not p.exists():
        raise ReaderError(p, "no such file or folder")
    spacing = _check_spacing(p, spacing_mm)
    interval = _check_interval(p, frame_interval_s)
    reader = find_reader(p)
    options: dict[str, object] = {}
    if slice_index is not None:
        if isinstance(slice_index, bool) or not isinstance(slice_index, (int, np.integer)) \
                or slice_index < 0:
            raise ReaderError(p, f"slice_index must be a non-negative integer, "
                                 f"got {slice_index!r}")
        if reader.name not in SLICED_READERS:
            raise ReaderError(p, f"a slice can be chosen only in multi-slice DICOM or "
                                 f"NIfTI, not in a {reader.name} input")
        options["slice_index"] = int(slice_index)
    try:
        return reader.read(p, series_uid=series_uid, spacing_mm=spacing,
                           frame_interval_s=interval, **options)
    except PelviTrackError:
        raise
    except READ_ERRORS as exc:
        # Safety net at the reader boundary: libraries raise many types on damaged input.
        raise ReaderError(p, f"cannot read ({short_error(exc)})") from exc


def _check_interval(path: Path, frame_interval_s: object) -> float | None:
    if frame_interval_s is None:
        return None
    try:
        value = float(frame_interval_s)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise ReaderError(
            path, f"frame_interval_s must be a positive number, got {frame_interval_s!r}"
        )
    return value


def _check_spacing(path: Path, spacing_mm: object) -> tuple[float, float] | None:
    if spacing_mm is None:
        return None
    try:
        sp = tuple(float(s) for s in spacing_mm)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ReaderError(path, f"spacing_mm must be two numbers, got {spacing_mm!r}") from exc
    if len(sp) != 2 or not all(np.isfinite(s) and s > 0 for s in sp):
        raise ReaderError(path, f"spacing_mm must be two positive numbers, got {spacing_mm!r}")
    return sp[0], sp[1]
