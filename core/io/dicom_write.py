"""Write a cine series as single-frame MR Image Storage DICOM files.

One file per frame (Explicit VR Little Endian), sagittal orientation in
canonical order (rows head→feet, columns anterior→posterior), uint16 pixels with
one RescaleSlope / RescaleIntercept for the whole series so that the float
intensities are kept to 1/65000 of their range.  UIDs are deterministic from
``seed`` (pydicom ``generate_uid`` with entropy sources).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from core.series import CineSeries

#: Sagittal slice in canonical order: row direction → posterior, column direction → feet.
SAGITTAL_IOP = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
_MAX_STORED = 65000


def decimal_string(value: float) -> str:
    """A DS (decimal string) of at most 16 characters."""
    for digits in (10, 8, 6):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    return f"{value:.4e}"


def rescale(frames: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Quantize float frames to uint16 with one slope and intercept.

    Args:
        frames: float array (T, H, W).

    Returns:
        (stored uint16 (T, H, W), slope, intercept) with
        ``frames ≈ stored * slope + intercept``; slope and intercept are the
        values exactly as written in the DICOM decimal strings.
    """
    lo, hi = float(np.min(frames)), float(np.max(frames))
    intercept = float(decimal_string(min(lo, 0.0)))
    span = hi - intercept
    slope = float(decimal_string(span / _MAX_STORED)) if span > 0 else 1.0
    stored = np.rint((frames - intercept) / slope)
    return np.clip(stored, 0, 65535).astype(np.uint16), slope, intercept


def _names(n: int, shuffle: bool, rng: np.random.Generator) -> list[str]:
    if not shuffle:
        return [f"IM{i + 1:05d}.dcm" for i in range(n)]
    names: set[str] = set()
    out = []
    while len(out) < n:
        name = "".join(f"{b:02x}" for b in rng.integers(0, 256, 8))
        if name not in names:
            names.add(name)
            out.append(name)
    return out


def _sequence(description: str) -> tuple[str, str, str, str, str, int]:
    """Scanning sequence, variant, name, TR, TE (ms) and echo train length that match a
    phantom series description (``"... (bssfp)"``, ``"... (t1)"``, else single-shot T2)."""
    desc = description.lower()
    if "bssfp" in desc:
        return "GR", "SS", "tfi2d", "3.6", "1.6", 1
    if "(t1)" in desc:
        return "GR", "SP", "fl2d", "5", "2.4", 1
    return "SE", "SK", "haste2d", "1100", "90", 128


def write_dicom_series(
    series: CineSeries,
    out_dir: str | Path,
    *,
    shuffle_names: bool = False,
    seed: int = 0,
    patient_name: str = "PHANTOM^CASE",
    patient_id: str | None = None,
    slice_thickness_mm: float = 6.0,
) -> list[Path]:
    """Write one single-frame MR Image Storage file per frame.

    Args:
        series: the cine series (frames (T, H, W) float32, spacing_mm, times_s).
        out_dir: folder to write into (created if missing).
        shuffle_names: random hexadecimal file names without extension instead of
            ``IM00001.dcm`` … (file order then says nothing about time order).
        seed: makes UIDs and shuffled names deterministic.
        patient_name: PatientName.
        patient_id: PatientID (default: the series' subject id).
        slice_thickness_mm: SliceThickness.

    Returns:
        Paths of the written files in frame order.

    Raises:
        ValueError: a series that is not a :class:`CineSeries`.
    """
    if not isinstance(series, CineSeries):
        raise ValueError(f"expected a CineSeries, got {type(series).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), 0xD1C0])
    stored, slope, intercept = rescale(series.frames)
    t_n, h, w = stored.shape
    sr, sc = series.spacing_mm
    pid = patient_id if patient_id is not None else series.subject

    def uid(kind: str, i: int = 0) -> str:
        return generate_uid(entropy_srcs=["pelvitrack", str(seed), pid, kind, str(i)])

    study_uid, series_uid, frame_uid = uid("study"), uid("series"), uid("frame-of-reference")
    start = _dt.datetime(2024, 1, 1, 9, 0, 0) + _dt.timedelta(minutes=int(seed) % 600)
    description = str(series.meta.get("series_description") or "cine sagittal")
    position = (0.0, -w * sc / 2.0, h * sr / 2.0)
    paths = []
    for i, name in enumerate(_names(t_n, shuffle_names, rng)):
        sop_uid = uid("sop", i)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        path = out / name
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        when = start + _dt.timedelta(seconds=float(series.times_s[i]))
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        ds.Modality = "MR"
        ds.Manufacturer = "PelviTrack phantom"
        ds.PatientName = patient_name
        ds.PatientID = pid
        ds.PatientBirthDate = ""
        ds.PatientSex = "F"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = start.strftime(
            "%Y%m%d")
        ds.StudyTime = ds.SeriesTime = start.strftime("%H%M%S")
        ds.AcquisitionTime = ds.ContentTime = when.strftime("%H%M%S.%f")
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "Dynamic pelvic floor MRI (synthetic)"
        ds.SeriesDescription = description
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        ds.AcquisitionNumber = 1
        ds.TemporalPositionIdentifier = i + 1
        ds.NumberOfTemporalPositions = t_n
        ds.TriggerTime = decimal_string(float(series.times_s[i]) * 1000.0)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        (ds.ScanningSequence, ds.SequenceVariant, ds.SequenceName, ds.RepetitionTime,
         ds.EchoTime, ds.EchoTrainLength) = _sequence(description)
        ds.ScanOptions = ""
        ds.PatientPosition = "HFS"
        ds.BodyPartExamined = "PELVIS"
        ds.MRAcquisitionType = "2D"
        ds.MagneticFieldStrength = "1.5"
        ds.SliceThickness = decimal_string(slice_thickness_mm)
        ds.PixelSpacing = [decimal_string(sr), decimal_string(sc)]
        ds.ImageOrientationPatient = [decimal_string(v) for v in SAGITTAL_IOP]
        ds.ImagePositionPatient = [decimal_string(v) for v in position]
        ds.SliceLocation = "0"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = h, w
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope = decimal_string(slope)
        ds.RescaleIntercept = decimal_string(intercept)
        ds.RescaleType = "US"
        centre = float(np.percentile(series.frames[i], 50) + np.percentile(series.frames[i], 99))
        ds.WindowCenter = decimal_string(centre / 2)
        ds.WindowWidth = decimal_string(max(float(np.percentile(series.frames[i], 99.5)), 1e-6))
        ds.PixelData = np.ascontiguousarray(stored[i]).tobytes()
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
