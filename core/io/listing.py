"""List the DICOM series of a folder from their headers (no pixel data read).

The GUI shows a chooser when a folder holds several series, or one series with
frames at several slice positions (a multi-slice cine: one entry per slice), and
``pelvitrack analyze --each-series`` analyses every entry (:mod:`core.batch`);
this scan reads only headers (``stop_before_pixels``); slices are grouped as the
DICOM readers group them (:func:`core.io.orientation.slice_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Stop scanning after this many files (a cine folder holds tens to hundreds).
MAX_FILES = 5000


@dataclass(frozen=True)
class SeriesEntry:
    """One series found in a folder, or one slice of a multi-slice series.

    ``slice_index`` (0 = first along the slice normal, as ``read_series`` counts)
    is None for a single-slice series.
    """

    series_uid: str
    description: str
    n_frames: int
    rows: int
    columns: int
    slice_index: int | None = None
    n_slices: int = 1
    slice_position_mm: float | None = None


def _numbers(ds, keyword: str) -> list[float] | None:
    try:
        return [float(v) for v in ds.get(keyword)]
    except (TypeError, ValueError):
        return None


def _slices(iop: list[float] | None, positions: list) -> list[tuple[float, int]]:
    """(position mm, images) per slice position of a multi-slice cine, in position
    order; [] when the series is a single slice, lacks positions or is a 3D stack."""
    from core.io.orientation import slice_groups

    groups = slice_groups(iop, positions)
    if len(groups) < 2 or all(len(g) == 1 for _, g in groups):  # 3D stack: not a cine
        return []
    return [(pos, len(g)) for pos, g in groups]


def list_series(folder: str | Path) -> list[SeriesEntry]:
    """DICOM series of a folder (recursively), largest first.

    Args:
        folder: a folder; a file or a non-DICOM folder gives an empty list.

    Returns:
        One :class:`SeriesEntry` per SeriesInstanceUID (frames = number of files,
        or NumberOfFrames for enhanced multi-frame objects), or per slice position
        of a multi-slice cine.
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
                                       int(ds.Rows), int(ds.Columns),
                                       _numbers(ds, "ImageOrientationPatient"), []])
        entry[1] += frames
        entry[5].append(_numbers(ds, "ImagePositionPatient") if frames == 1 else None)
    out = []
    for uid, (d, f, r, c, iop, positions) in found.items():
        slices = _slices(iop, positions)
        if not slices:
            out.append(SeriesEntry(uid, d, f, r, c))
        out += [SeriesEntry(uid, d, n, r, c, i, len(slices), pos)
                for i, (pos, n) in enumerate(slices)]
    return sorted(out, key=lambda e: (-e.n_frames, e.description, e.series_uid,
                                      e.slice_index or 0))


def slice_count(path: str | Path) -> int:
    """Slice positions of a multi-slice cine file, from its header: a NIfTI
    (W, H, Z, T) or an enhanced multi-frame DICOM whose frames lie at several
    positions.  1 for anything else (unreadable headers too: the reader reports
    those when the file is opened)."""
    p = Path(path)
    if not p.is_file():
        return 1
    try:
        if p.name.lower().endswith((".nii", ".nii.gz")):
            import nibabel as nib

            shape = nib.load(p).shape
            while len(shape) > 4 and shape[-1] == 1:
                shape = shape[:-1]
            return int(shape[2]) if len(shape) == 4 and shape[3] > 1 else 1
        return _enhanced_slice_count(p)
    except Exception:  # the reader gives the proper error when the file is opened
        return 1


def _enhanced_slice_count(path: Path) -> int:
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    per = ds.get("PerFrameFunctionalGroupsSequence")
    if not per or int(getattr(ds, "NumberOfFrames", 1) or 1) < 2:
        return 1

    def first(item, keyword):
        seq = item.get(keyword) if item is not None else None
        return seq[0] if seq else None

    shared = first(ds, "SharedFunctionalGroupsSequence")
    iop = None
    for src in (shared, per[0]):
        plane = first(src, "PlaneOrientationSequence")
        if plane is not None and "ImageOrientationPatient" in plane:
            iop = _numbers(plane, "ImageOrientationPatient")
            break
    positions = [_numbers(first(item, "PlanePositionSequence") or {}, "ImagePositionPatient")
                 for item in per]
    return max(1, len(_slices(iop, positions)))  # a single slice or a 3D stack: 1
