"""List the DICOM series of a folder from their headers (no pixel data read).

The GUI shows a chooser when a folder holds several series; this scan reads only
headers (``stop_before_pixels``) and does not depend on :mod:`core.io` internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Stop scanning after this many files (a cine folder holds tens to hundreds).
MAX_FILES = 5000


@dataclass(frozen=True)
class SeriesEntry:
    """One series found in a folder."""

    series_uid: str
    description: str
    n_frames: int
    rows: int
    columns: int


def list_series(folder: str | Path) -> list[SeriesEntry]:
    """DICOM series of a folder (recursively), largest first.

    Args:
        folder: a folder; a file or a non-DICOM folder gives an empty list.

    Returns:
        One :class:`SeriesEntry` per SeriesInstanceUID (frames = number of files,
        or NumberOfFrames for enhanced multi-frame objects).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    root = Path(folder)
    if not root.is_dir():
        return []
    found: dict[str, list] = {}
    for n, path in enumerate(p for p in sorted(root.rglob("*")) if p.is_file()):
        if n >= MAX_FILES:
            break
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=False)
        except (InvalidDicomError, OSError, ValueError, TypeError, KeyError):
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", "") or "")
        if not uid or "Rows" not in ds:
            continue
        frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        entry = found.setdefault(uid, [str(getattr(ds, "SeriesDescription", "") or ""), 0,
                                       int(ds.Rows), int(ds.Columns)])
        entry[1] += frames
    out = [SeriesEntry(uid, d, f, r, c) for uid, (d, f, r, c) in found.items()]
    return sorted(out, key=lambda e: (-e.n_frames, e.description))
