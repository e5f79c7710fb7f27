"""Readers of cine series, behind one function :func:`read_series`.

Readers form a registry (MONAI ``ImageReader`` style): each module defines a
reader object with ``name``, ``can_read(path) -> bool`` and
``read(path, **options) -> CineSeries``.  Adding a format is one module and one
line in :data:`READERS`.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ReaderError
from core.io.registry import READERS, Reader, find_reader
from core.series import CineSeries

__all__ = ["READERS", "Reader", "find_reader", "read_series"]


def read_series(
    path: str | Path,
    series_uid: str | None = None,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
) -> CineSeries:
    """Read a cine series from a file or folder.

    Args:
        path: DICOM folder or file, enhanced multi-frame DICOM, NIfTI (2D+t),
            multi-page TIFF, folder of PNG/TIFF frames, or a PelviTrack project.
        series_uid: pick one series when a folder holds several.
        spacing_mm: pixel spacing (row, col) for formats that do not store it
            (image stacks); ignored by formats that do.
        frame_interval_s: frame interval for formats that do not store it.

    Returns:
        The series in canonical orientation (rows head→feet, columns anterior→posterior
        where the orientation is known).

    Raises:
        ReaderError: the path is missing, empty, not a supported format or damaged.
    """
    p = Path(path)
    if not p.exists():
        raise ReaderError(p, "no such file or folder")
    reader = find_reader(p)
    return reader.read(
        p, series_uid=series_uid, spacing_mm=spacing_mm, frame_interval_s=frame_interval_s
    )
