"""Builders of small DICOM files for the reader tests (pydicom, no network).

A uniquely named module (not ``conftest``) in ``tests/`` (on the path through
tests/conftest.py), so any test file can import it safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

#: ImageOrientationPatient of a sagittal slice already in canonical order:
#: columns grow towards posterior (+y), rows grow towards the feet (-z).
SAGITTAL_CANONICAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def write_mr(
    path: Path,
    pixels: np.ndarray,
    *,
    series_uid: str,
    study_uid: str = "1.2.3.4",
    instance: int | None = 1,
    trigger_ms: float | None = None,
    acquisition_time: str | None = None,
    spacing: Sequence[float] | None = (0.8, 1.2),
    slope: float | None = None,
    intercept: float | None = None,
    iop: Sequence[float] | None = SAGITTAL_CANONICAL,
    ipp: Sequence[float] | None = (0.0, 0.0, 0.0),
    description: str = "cine sag",
    patient_id: str = "PID-001",
    patient_name: str = "Doe^Jane",
) -> Path:
    """Write one single-frame MR image (uint16 pixels) as a DICOM Part 10 file."""
    pixels = np.asarray(pixels, dtype=np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesDescription = description
    if instance is not None:
        ds.InstanceNumber = instance
    if trigger_ms is not None:
        ds.TriggerTime = trigger_ms
    if acquisition_time is not None:
        ds.AcquisitionDate = "20240102"
        ds.AcquisitionTime = acquisition_time
    if spacing is not None:
        ds.PixelSpacing = [float(s) for s in spacing]
    if slope is not None:
        ds.RescaleSlope = slope
    if intercept is not None:
        ds.RescaleIntercept = intercept
    if iop is not None:
        ds.ImageOrientationPatient = [float(v) for v in iop]
    if ipp is not None:
        ds.ImagePositionPatient = [float(v) for v in ipp]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def pattern(index: int, shape: tuple[int, int] = (12, 10)) -> np.ndarray:
    """A frame whose every pixel encodes the frame index (and its position)."""
    rows, cols = np.indices(shape)
    return (index * 100 + rows * shape[1] + cols).astype(np.uint16)
