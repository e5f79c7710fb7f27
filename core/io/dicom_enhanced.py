"""Reader of one DICOM file holding the whole cine (enhanced / legacy multi-frame).

Also the reader of *any* single DICOM file: a single-frame image is refused with
"a single image, a cine series needs at least 2 frames".

Where the values come from, first found wins:

- spacing: SharedFunctionalGroupsSequence → PerFrameFunctionalGroupsSequence
  PixelMeasuresSequence PixelSpacing → top-level PixelSpacing → option → 1 mm;
- frame times: per-frame FrameContentSequence FrameAcquisitionDateTime →
  FrameReferenceDateTime → CardiacSynchronizationSequence
  NominalCardiacTriggerDelayTime (ms) → per-frame TriggerTime (ms) → top-level
  FrameTimeVector / FrameTime (ms) → option → 1 s (the last two with a warning);
- orientation: PlaneOrientationSequence (shared, then first frame) → top-level
  ImageOrientationPatient;
- rescale: PixelValueTransformationSequence (per frame, then shared) → top-level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from core.errors import ReaderError
from core.io import dicom_common as dc
from core.io.dicom_time import parse_dt
from core.io.orientation import choose_slice, slice_groups
from core.series import CineSeries

_DICOM_SUFFIXES = {".dcm", ".dicom", ".ima"}


def _groups(ds: Dataset, n_frames: int) -> tuple[Dataset | None, list[Dataset | None]]:
    """(shared functional groups item, per-frame items or Nones)."""
    shared = dc.first_item(ds, "SharedFunctionalGroupsSequence")
    per: list[Dataset | None] = [None] * n_frames
    try:
        seq = ds.get("PerFrameFunctionalGroupsSequence", None)
        if seq is not None and len(seq) == n_frames:
            per = [item if isinstance(item, Dataset) else None for item in seq]
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        pass
    return shared, per


def _nested(groups: Dataset | None, seq_keyword: str) -> Dataset | None:
    return dc.first_item(groups, seq_keyword)


def _spacing(ds: Dataset, shared: Dataset | None, per: list[Dataset | None]) -> list[float] | None:
    for src in (shared, per[0]):
        sp = dc.numbers(_nested(src, "PixelMeasuresSequence"), "PixelSpacing", 2)
        if sp is not None:
            return sp
    return dc.numbers(ds, "PixelSpacing", 2)


def _orientation(ds: Dataset, shared: Dataset | None, per: list[Dataset | None]) -> Any:
    for src in (shared, per[0]):
        iop = dc.numbers(_nested(src, "PlaneOrientationSequence"), "ImageOrientationPatient", 6)
        if iop is not None:
            return iop
    return dc.numbers(ds, "ImageOrientationPatient", 6)


def _positions(per: list[Dataset | None]) -> list[Any]:
    return [dc.numbers(_nested(p, "PlanePositionSequence"), "ImagePositionPatient", 3)
            for p in per]


def _per_frame_times(per: list[Dataset | None]) -> tuple[list[float] | None, str]:
    """Per-frame times in s from the functional groups, or (None, "")."""
    getters = (
        ("FrameAcquisitionDateTime", lambda p: parse_dt(
            (_nested(p, "FrameContentSequence") or Dataset()).get("FrameAcquisitionDateTime"))),
        ("FrameReferenceDateTime", lambda p: parse_dt(
            (_nested(p, "FrameContentSequence") or Dataset()).get("FrameReferenceDateTime"))),
        ("NominalCardiacTriggerDelayTime", lambda p: _ms(dc.number(
            _nested(p, "CardiacSynchronizationSequence"), "NominalCardiacTriggerDelayTime"))),
        ("TriggerTime", lambda p: _ms(dc.number(p, "TriggerTime"))),
    )
    for name, get in getters:
        values = [get(p) if p is not None else None for p in per]
        if all(v is not None for v in values) and len(set(values)) == len(values):
            return [float(v) for v in values], name  # type: ignore[arg-type]
    return None, ""


def _ms(value: float | None) -> float | None:
    return None if value is None else value / 1000.0


def _times(
    ds: Dataset, per: list[Dataset | None], keep: np.ndarray, n_file: int,
    option: float | None, warnings: list[str],
) -> tuple[np.ndarray, str]:
    """Times (s) of the kept frames ``keep`` (indices into the file's ``n_file`` frames;
    ``per`` holds their functional groups). FrameTimeVector and FrameTime describe the
    file's frame sequence, so a slice of a multi-slice file takes its frames' times from
    their places in that sequence."""
    values, source = _per_frame_times(per)
    if values is not None:
        return np.asarray(values, dtype=np.float64), source
    vector = dc.numbers(ds, "FrameTimeVector", n_file)
    if vector is not None and all(v > 0 for v in vector[1:]):
        return (np.cumsum([0.0, *vector[1:]]) / 1000.0)[keep], "FrameTimeVector"
    frame_time = dc.number(ds, "FrameTime")
    if frame_time is not None and frame_time > 0:
        return keep * frame_time / 1000.0, "FrameTime"
    interval = float(option) if option else 1.0
    how = "given" if option else "assumed"
    warnings.append(f"no frame times in the file; {interval:g} s interval {how}")
    return np.arange(len(keep)) * interval, "assumed"


def _rescaled(
    ds: Dataset, arr: np.ndarray, shared: Dataset | None, per: list[Dataset | None]
) -> np.ndarray:
    shared_pvt = _nested(shared, "PixelValueTransformationSequence")
    out = np.empty(arr.shape, dtype=np.float64)
    for i in range(arr.shape[0]):
        slope, intercept = dc.rescale_of(
            _nested(per[i], "PixelValueTransformationSequence"), shared_pvt, ds
        )
        out[i] = arr[i].astype(np.float64) * slope + intercept
    return out


def read_file(
    path: Path,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
    slice_index: int | None = None,
) -> CineSeries:
    """Read a cine series from one multi-frame DICOM file.

    Args:
        path: the DICOM file.
        spacing_mm: (row, col) spacing in mm used only when the file has none.
        frame_interval_s: frame interval in s used only when the file has no times.
        slice_index: which slice position of a multi-slice file (0 = first along
            the slice normal); needed when the frames lie at several positions.

    Returns:
        The series: frames (T, H, W) float32 after rescale, in time order and
        canonical orientation.

    Raises:
        ReaderError: not DICOM, a single image, damaged or undecodable pixel data,
            several slice positions.
    """
    path = Path(path)
    header = dc.read_header(path)  # cheap checks before the pixel data
    if dc.number(header, "Rows") is None or dc.number(header, "Columns") is None:
        raise ReaderError(path, "DICOM file without an image (no Rows/Columns)")
    ds = dc.read_dataset(path)
    arr = dc.decode_frames(ds, path)  # damage is reported before "a single image"
    n = arr.shape[0]
    if n < 2:
        raise ReaderError(
            path,
            "a single image, a cine series needs at least 2 frames "
            "(for single-frame files, open the folder that holds the whole series)",
        )
    warnings: list[str] = []
    shared, per = _groups(ds, n)
    spacing = dc.resolve_spacing(_spacing(ds, shared, per), spacing_mm, warnings)
    iop = _orientation(ds, shared, per)
    slice_meta: dict[str, Any] = {}
    keep = choose_slice(path, slice_groups(iop, _positions(per)), slice_index, slice_meta)
    n_file = n
    if len(keep) < n:
        arr, per, n = arr[keep], [per[i] for i in keep], len(keep)
        if n < 2:
            raise ReaderError(path, "a single image at this slice position, a cine series "
                                    "needs at least 2 frames")
    times, source = _times(ds, per, np.asarray(keep), n_file, frame_interval_s, warnings)
    frames = _rescaled(ds, arr, shared, per)
    order = np.argsort(times, kind="stable")
    if np.any(order != np.arange(n)):
        frames, times = frames[order], times[order]
        warnings.append(f"frames reordered by {source}")
    meta = dc.identity_meta(ds, path, "dicom-enhanced")
    meta["time_source"] = source
    meta["warnings"] = warnings
    meta.update(slice_meta)
    first = per[int(order[0])] if per else None
    ipp = dc.numbers(_nested(first, "PlanePositionSequence"), "ImagePositionPatient", 3)
    if ipp is None:
        ipp = dc.numbers(_nested(shared, "PlanePositionSequence"), "ImagePositionPatient", 3)
    return dc.finish_series(path, frames, spacing, times - times[0], iop, meta, ipp)


class DicomFileReader:
    """Registry entry for single DICOM files (multi-frame cine)."""

    name = "dicom-enhanced"

    def can_read(self, path: Path) -> bool:
        """A file with the DICOM prefix or a DICOM suffix."""
        return path.is_file() and (
            path.suffix.lower() in _DICOM_SUFFIXES or dc.has_dicom_magic(path)
        )

    def read(self, path: Path, **options: Any) -> CineSeries:
        """Read the file; options ``spacing_mm``, ``frame_interval_s``, ``slice_index``
        (``series_uid`` unused)."""
        return dc.read_guarded(
            path, read_file,
            spacing_mm=options.get("spacing_mm"),
            frame_interval_s=options.get("frame_interval_s"),
            slice_index=options.get("slice_index"),
        )


READER = DicomFileReader()
