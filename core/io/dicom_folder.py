"""Reader of a folder of single-frame DICOM images (one image per time point).

Files may have any name (with or without ``.dcm``) and sit in sub-folders;
files that are not DICOM images (DICOMDIR, ``.DS_Store``, README, ...) are
skipped quietly.  Headers are read first without pixel data; the pixel data of
the chosen series is decoded afterwards, in time order.

Time order comes from the first of TriggerTime (ms), AcquisitionDateTime,
AcquisitionTime, ContentTime that every frame carries with distinct values;
InstanceNumber breaks ties and is the fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from core.errors import ReaderError
from core.io import dicom_common as dc
from core.io.dicom_time import parse_dt, parse_tm
from core.io.orientation import choose_slice, slice_groups
from core.series import CineSeries

#: Stop scanning a folder after this many files (a whole PACS export is not a cine).
MAX_FILES = 20000
_SKIP_NAMES = {"DICOMDIR", "Thumbs.db", "desktop.ini"}
_DICOM_SUFFIXES = {".dcm", ".dicom", ".ima"}


@dataclass
class _Header:
    path: Path
    ds: Dataset

    @property
    def instance(self) -> float | None:
        return dc.number(self.ds, "InstanceNumber")

    @property
    def n_frames(self) -> int:
        n = dc.number(self.ds, "NumberOfFrames", 1.0)
        return int(n) if n and n >= 1 else 1


def _candidate_files(folder: Path) -> list[Path]:
    """Files below ``folder`` (recursive), hidden and known stray names left out."""
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in _SKIP_NAMES:
                continue
            files.append(Path(root) / name)
            if len(files) >= MAX_FILES:
                return files
    return files


def _time_of(ds: Dataset, tag: str) -> float | None:
    """Time in s of one frame from ``tag`` (absolute or relative, comparable)."""
    if tag == "TriggerTime":
        ms = dc.number(ds, "TriggerTime")
        return None if ms is None else ms / 1000.0
    if tag == "AcquisitionDateTime":
        return parse_dt(ds.get("AcquisitionDateTime", None))
    if tag == "AcquisitionTime":
        return parse_tm(ds.get("AcquisitionTime", None), ds.get("AcquisitionDate", None))
    if tag == "ContentTime":
        return parse_tm(ds.get("ContentTime", None), ds.get("ContentDate", None))
    raise KeyError(tag)


TIME_TAGS = ("TriggerTime", "AcquisitionDateTime", "AcquisitionTime", "ContentTime")


def order_and_times(
    headers: list[Any], frame_interval_s: float | None, warnings: list[str]
) -> tuple[list[int], np.ndarray, str]:
    """Time order and frame times of single-frame headers.

    Args:
        headers: objects with ``ds`` (pydicom Dataset) and ``instance``.
        frame_interval_s: interval to assume when no time tag is usable.
        warnings: list receiving a warning when times are assumed.

    Returns:
        ``(order, times_s, source)``: indices into ``headers`` in time order,
        (T,) times in s from the first frame, and the tag the times came from
        (``"InstanceNumber"`` when assumed).
    """
    n = len(headers)
    inst = [h.instance if h.instance is not None else float(i) for i, h in enumerate(headers)]
    fallback_tag = None
    for tag in TIME_TAGS:
        values = [_time_of(h.ds, tag) for h in headers]
        if any(v is None for v in values):
            continue
        if len(set(values)) == n:
            order = sorted(range(n), key=lambda i: (values[i], inst[i]))
            times = np.array([values[i] for i in order], dtype=np.float64)
            return order, times - times[0], tag
        if fallback_tag is None and max(values) > min(values):
            fallback_tag = (tag, values)
    if fallback_tag is not None:  # ties (coarse clock): even spacing over the span
        tag, values = fallback_tag
        order = sorted(range(n), key=lambda i: (values[i], inst[i]))
        span = max(values) - min(values)
        warnings.append(
            f"{tag} has repeated values; frames ordered by {tag} then InstanceNumber, "
            f"evenly spaced over {span:g} s"
        )
        return order, np.linspace(0.0, span, n), tag
    interval = float(frame_interval_s) if frame_interval_s else 1.0
    order = sorted(range(n), key=lambda i: inst[i])
    how = "given" if frame_interval_s else "assumed"
    warnings.append(
        f"no usable frame time tag; frames ordered by InstanceNumber, {interval:g} s interval {how}"
    )
    return order, np.arange(n, dtype=np.float64) * interval, "InstanceNumber"


def _scan_headers(folder: Path) -> tuple[list[_Header], int]:
    """Headers of the DICOM images in ``folder`` and the number of files skipped."""
    headers: list[_Header] = []
    skipped = 0
    for f in _candidate_files(folder):
        if not dc.has_dicom_magic(f):
            skipped += 1
            continue
        try:
            ds = dc.read_header(f)
        except ReaderError:
            skipped += 1
            continue
        if dc.number(ds, "Rows") is None or dc.number(ds, "Columns") is None:
            skipped += 1  # DICOMDIR, structured report, presentation state, ...
            continue
        headers.append(_Header(f, ds))
    return headers, skipped


def _series_key(h: _Header) -> str:
    return str(h.ds.get("SeriesInstanceUID", "") or "")


def _pick_series(folder: Path, headers: list[_Header], series_uid: str | None) -> list[_Header]:
    groups: dict[str, list[_Header]] = {}
    for h in headers:
        groups.setdefault(_series_key(h), []).append(h)
    listing = "; ".join(
        f"{uid or '(no UID)'} '{str(g[0].ds.get('SeriesDescription', '') or '')}' "
        f"({sum(x.n_frames for x in g)} frames)"
        for uid, g in groups.items()
    )
    if series_uid is not None:
        if series_uid not in groups:
            raise ReaderError(folder, f"no series with UID {series_uid}; found: {listing}")
        return groups[series_uid]
    if len(groups) > 1:
        raise ReaderError(
            folder, f"{len(groups)} series in one folder, choose one with series_uid: {listing}"
        )
    return next(iter(groups.values()))


def _dedupe(headers: list[_Header], warnings: list[str]) -> list[_Header]:
    seen: set[str] = set()
    out = []
    for h in headers:
        uid = str(h.ds.get("SOPInstanceUID", "") or "")
        if uid and uid in seen:
            warnings.append(f"duplicate image {h.path.name} skipped")
            continue
        seen.add(uid)
        out.append(h)
    return out


def _read_pixels(ordered: list[_Header]) -> np.ndarray:
    frames: list[np.ndarray] = []
    for h in ordered:
        ds = dc.read_dataset(h.path)
        arr = dc.decode_frames(ds, h.path)
        if arr.shape[0] != 1:
            raise ReaderError(h.path, f"expected one frame, got {arr.shape[0]}")
        if frames and arr.shape[1:] != frames[0].shape:
            first = frames[0].shape
            raise ReaderError(
                h.path,
                f"frame size {arr.shape[1]}x{arr.shape[2]} differs from "
                f"{first[0]}x{first[1]} of {ordered[0].path.name}",
            )
        slope, intercept = dc.rescale_of(ds)
        frames.append(arr[0].astype(np.float64) * slope + intercept)
    return np.stack(frames)


def read_folder(
    folder: Path,
    series_uid: str | None = None,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
    slice_index: int | None = None,
) -> CineSeries:
    """Read a cine series from a folder of single-frame DICOM files.

    Args:
        folder: the folder (searched recursively).
        series_uid: SeriesInstanceUID to pick when the folder holds several series.
        spacing_mm: (row, col) spacing in mm used only when PixelSpacing is missing.
        frame_interval_s: frame interval in s used only when no time tag is usable.
        slice_index: which slice position (0 = first along the slice normal) of a
            multi-slice cine; needed when the series has several.

    Returns:
        The series, frames (T, H, W) float32 after rescale, in time order and
        canonical orientation; ``meta["slice_index"]``, ``["slice_position_mm"]``
        and ``["n_slices"]`` when a slice was chosen.

    Raises:
        ReaderError: no DICOM images, several series, a single image, frames of
            different sizes, damaged files, several slice positions without a
            valid ``slice_index``, a 3D stack.
    """
    folder = Path(folder)
    headers, skipped = _scan_headers(folder)
    if not headers:
        raise ReaderError(folder, f"no readable DICOM image in folder ({skipped} files skipped)")
    chosen = _pick_series(folder, headers, series_uid)
    warnings: list[str] = []
    chosen = _dedupe(chosen, warnings)
    multi = [h for h in chosen if h.n_frames > 1]
    if multi:
        if len(chosen) == 1:
            from core.io.dicom_enhanced import read_file

            return read_file(chosen[0].path, spacing_mm=spacing_mm,
                             frame_interval_s=frame_interval_s, slice_index=slice_index)
        raise ReaderError(multi[0].path, "multi-frame file mixed with other images of its series")
    if len(chosen) < 2:
        raise ReaderError(chosen[0].path, "a single image, a cine series needs at least 2 frames")
    slice_meta: dict[str, Any] = {}
    groups = slice_groups(dc.numbers(chosen[0].ds, "ImageOrientationPatient", 6),
                          [dc.numbers(h.ds, "ImagePositionPatient", 3) for h in chosen])
    chosen = [chosen[i] for i in choose_slice(folder, groups, slice_index, slice_meta)]
    if len(chosen) < 2:
        raise ReaderError(chosen[0].path, "a single image, a cine series needs at least 2 frames")

    order, times, source = order_and_times(chosen, frame_interval_s, warnings)
    ordered = [chosen[i] for i in order]
    frames = _read_pixels(ordered)
    first = ordered[0].ds
    spacing = dc.resolve_spacing(dc.numbers(first, "PixelSpacing", 2), spacing_mm, warnings)
    meta = dc.identity_meta(first, folder, "dicom-folder")
    meta["time_source"] = source
    meta["warnings"] = warnings
    meta.update(slice_meta)
    iop = dc.numbers(first, "ImageOrientationPatient", 6)
    ipp = dc.numbers(first, "ImagePositionPatient", 3)
    return dc.finish_series(folder, frames, spacing, times, iop, meta, ipp)


class DicomFolderReader:
    """Registry entry for folders of single-frame DICOM files."""

    name = "dicom-folder"

    def can_read(self, path: Path) -> bool:
        """A folder holding at least one file that looks like DICOM."""
        if not path.is_dir():
            return False
        for i, f in enumerate(_candidate_files(path)):
            if i >= 500:
                break
            if f.suffix.lower() in _DICOM_SUFFIXES or dc.has_dicom_magic(f):
                return True
        return False

    def read(self, path: Path, **options: Any) -> CineSeries:
        """Read the folder; options ``series_uid``, ``spacing_mm``, ``frame_interval_s``,
        ``slice_index``."""
        return dc.read_guarded(
            path, read_folder,
            series_uid=options.get("series_uid"),
            spacing_mm=options.get("spacing_mm"),
            frame_interval_s=options.get("frame_interval_s"),
            slice_index=options.get("slice_index"),
        )


READER = DicomFolderReader()
