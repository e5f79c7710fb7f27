"""Helpers shared by the DICOM readers: safe reading, decoding, identity, assembling.

DICOM date and time strings are parsed by :mod:`core.io.dicom_time`.

Everything here turns pydicom's many failure modes (InvalidDicomError,
ValueError, struct.error, EOFError, ...) into :class:`core.errors.ReaderError`
naming the file, so the readers never leak another exception type.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.multival import MultiValue

from core.errors import ReaderError
from core.io.registry import short_error

#: Exceptions pydicom (and numpy underneath) raise on damaged input.  Caught at
#: the reader boundary and turned into ReaderError.
DICOM_ERRORS: tuple[type[BaseException], ...] = (
    InvalidDicomError,
    BytesLengthException,
    ValueError,
    AttributeError,
    KeyError,
    LookupError,
    struct.error,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    TypeError,
    OverflowError,
    MemoryError,
    ZeroDivisionError,
)

#: What to install for a compressed transfer syntax that cannot be decoded.
_INSTALL_HINTS = {
    "jpeg 2000": "pylibjpeg and pylibjpeg-openjpeg (or Pillow built with OpenJPEG)",
    "high-throughput jpeg 2000": "pylibjpeg and pylibjpeg-openjpeg",
    "jpeg-ls": "pylibjpeg and pylibjpeg-libjpeg (or pyjpegls)",
    "jpeg": "pylibjpeg and pylibjpeg-libjpeg",
    "rle": "pylibjpeg and pylibjpeg-rle",
}

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def has_dicom_magic(path: Path) -> bool:
    """Whether ``path`` is a file with the "DICM" prefix at byte 128 (Part 10 file)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_header(path: Path) -> Dataset:
    """Read a DICOM file up to (not including) the pixel data.

    Raises:
        ReaderError: not a DICOM Part 10 file or a damaged header.
    """
    return _dcmread(path, stop_before_pixels=True)


def read_dataset(path: Path) -> Dataset:
    """Read a whole DICOM file (pixel data still encoded).

    Raises:
        ReaderError: not a DICOM Part 10 file or damaged.
    """
    ds = _dcmread(path, stop_before_pixels=False)
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        raise ReaderError(path, "DICOM file without pixel data (not an image)")
    return ds


def _dcmread(path: Path, stop_before_pixels: bool) -> Dataset:
    if not has_dicom_magic(path):
        raise ReaderError(path, "not a DICOM file (no 'DICM' prefix at byte 128)")
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
        # Touch every top-level element so that lazily parsed damage shows up here.
        for elem in ds:
            _ = elem.value
    except ReaderError:
        raise
    except DICOM_ERRORS as exc:
        raise ReaderError(path, f"damaged DICOM file ({short_error(exc)})") from exc
    return ds


def transfer_syntax(ds: Dataset) -> Any:
    """The transfer syntax UID of a dataset read from a file (or None)."""
    meta = getattr(ds, "file_meta", None)
    return getattr(meta, "TransferSyntaxUID", None) if meta is not None else None


def check_decoder(ds: Dataset, path: Path) -> None:
    """Raise a ReaderError naming what to install when no decoder is available.

    Raises:
        ReaderError: the pixel data is compressed with a transfer syntax that no
            installed package can decode.
    """
    uid = transfer_syntax(ds)
    if uid is None or not getattr(uid, "is_compressed", False):
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise ReaderError(
            path, f"compressed pixel data ({uid.name}) that pydicom cannot decode at all"
        ) from exc
    if decoder.is_available:
        return
    raise ReaderError(path, _missing_decoder_reason(uid, decoder.missing_dependencies))


def _missing_decoder_reason(uid: Any, missing: list[str] | None = None) -> str:
    name = str(getattr(uid, "name", uid))
    lower = name.lower()
    hint = "pylibjpeg with its plugins, or gdcm"
    for key in ("high-throughput jpeg 2000", "jpeg 2000", "jpeg-ls", "rle", "jpeg"):
        if key in lower:
            hint = _INSTALL_HINTS[key]
            break
    reason = f"compressed pixel data ({name}) and no decoder installed: install {hint}"
    if missing:
        reason += f" (options: {'; '.join(missing)})"
    return reason


def decode_frames(ds: Dataset, path: Path) -> np.ndarray:
    """Decode the pixel data of a dataset into stored values.

    Args:
        ds: a dataset read with :func:`read_dataset`.
        path: the file, for messages.

    Returns:
        Array (N, H, W) of stored values (before rescale), N = number of frames.
        Colour images are converted to grey (ITU-R 601 luma); MONOCHROME1 is
        inverted so that bright is high.

    Raises:
        ReaderError: no decoder, truncated or inconsistent pixel data.
    """
    check_decoder(ds, path)
    try:
        arr = np.asarray(ds.pixel_array)
    except DICOM_ERRORS as exc:
        msg = short_error(exc).split(": ", 1)[-1]
        low = str(exc).lower()
        if "plugin" in low and ("missing" in low or "available" in low):
            raise ReaderError(path, _missing_decoder_reason(transfer_syntax(ds))) from exc
        if "length" in low or "truncat" in low or "expected" in low:
            reason = f"truncated or damaged pixel data ({msg})"
        else:
            reason = f"cannot decode pixel data ({short_error(exc)})"
        raise ReaderError(path, reason) from exc
    samples = int(number(ds, "SamplesPerPixel", 1))
    n_frames = int(number(ds, "NumberOfFrames", 1) or 1)
    if samples > 1:  # (..., H, W, S) colour → grey
        arr = arr[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or (n_frames > 1 and arr.shape[0] != n_frames):
        raise ReaderError(path, f"unexpected pixel array shape {arr.shape}")
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1":
        bits = min(max(int(number(ds, "BitsStored", 16) or 16), 1), 32)
        if arr.dtype.kind in "ui" and int(number(ds, "PixelRepresentation", 0)) == 0:
            arr = (2**bits - 1) - arr.astype(np.float64)
        else:
            arr = -arr.astype(np.float64)
    return arr


def number(ds: Dataset | None, keyword: str, default: float | None = None) -> float | None:
    """A numeric element as float; ``default`` when missing, not a number or not finite."""
    if ds is None:
        return default
    try:
        value = ds.get(keyword, None)
        if value is None or value == "":
            return default
        out = float(value)
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError):
        return default
    return out if np.isfinite(out) else default


def numbers(ds: Dataset | None, keyword: str, count: int) -> list[float] | None:
    """A multi-valued numeric element (e.g. PixelSpacing) or None when unusable."""
    if ds is None:
        return None
    try:
        value = ds.get(keyword, None)
        if value is None:
            return None
        items = list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]
        vals = [float(v) for v in items]
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError):
        return None
    if len(vals) != count or not all(np.isfinite(vals)):
        return None
    return vals


def first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    """The first item of a sequence element, or None."""
    if ds is None:
        return None
    try:
        seq = ds.get(keyword, None)
        if seq is None or len(seq) == 0:
            return None
        item = seq[0]
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        return None
    return item if isinstance(item, Dataset) else None


def rescale_of(*sources: Dataset | None) -> tuple[float, float]:
    """(slope, intercept) from the first source holding RescaleSlope/Intercept.

    Missing values mean slope 1, intercept 0.
    """
    for src in sources:
        if src is not None and ("RescaleSlope" in src or "RescaleIntercept" in src):
            slope = number(src, "RescaleSlope", 1.0)
            intercept = number(src, "RescaleIntercept", 0.0)
            return (slope if slope else 1.0), float(intercept or 0.0)
    return 1.0, 0.0


# --- identity ----------------------------------------------------------------------


def subject_alias(patient_id: str, study_uid: str, path: Path) -> str:
    """Pseudonymous subject alias: ``subj-`` + 8 hex of a SHA-256.

    Hashes patient id + study UID, or the resolved path when there is no id.
    """
    key = f"{patient_id}|{study_uid}" if patient_id else str(Path(path).resolve())
    return "subj-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword, "")
    except DICOM_ERRORS:
        return ""
    return "" if value is None else str(value).strip()


def identity_meta(ds: Dataset, path: Path, fmt: str) -> dict[str, Any]:
    """Identity and provenance metadata of a DICOM dataset (see ``default_meta``)."""
    patient_id = _text(ds, "PatientID")
    study_uid = _text(ds, "StudyInstanceUID")
    return {
        "subject_id": subject_alias(patient_id, study_uid, path),
        "patient_name": _text(ds, "PatientName"),
        "patient_id": patient_id,
        "patient_birth_date": _text(ds, "PatientBirthDate"),
        "study_uid": study_uid,
        "series_uid": _text(ds, "SeriesInstanceUID"),
        "series_description": _text(ds, "SeriesDescription"),
        "modality": _text(ds, "Modality"),
        "source_path": str(path),
        "format": fmt,
    }


# --- assembling the series ---------------------------------------------------------


def resolve_spacing(
    spacing: list[float] | None,
    option: tuple[float, float] | None,
    warnings: list[str],
) -> tuple[float, float]:
    """Pixel spacing (row, col) in mm from the file, else the option, else 1 mm.

    Records a warning in ``warnings`` when the file does not store a usable value.
    """
    if spacing is not None and all(s > 0 for s in spacing):
        return float(spacing[0]), float(spacing[1])
    if option is not None:
        warnings.append(
            f"pixel spacing missing, {option[0]:g} x {option[1]:g} mm from the option used"
        )
        return float(option[0]), float(option[1])
    warnings.append("pixel spacing missing, 1 mm assumed")
    return 1.0, 1.0


def finish_series(
    path: Path,
    frames: np.ndarray,
    spacing_mm: tuple[float, float],
    times_s: np.ndarray,
    iop: Any,
    meta: dict[str, Any],
    ipp: Any = None,
) -> Any:
    """Reorient to canonical order and build the :class:`~core.series.CineSeries`.

    Args:
        path: the source, for messages.
        frames: (T, H, W) float values after rescale, in time order.
        spacing_mm: (row, col) spacing of ``frames`` as stored.
        times_s: (T,) frame times in s.
        iop: ImageOrientationPatient (six numbers) or None.
        meta: metadata so far (``warnings`` included).
        ipp: ImagePositionPatient of the first frame, or None.  With ``iop`` it
            gives ``meta["affine_ras"]``: the RAS+ affine of the reoriented frames
            (:func:`core.io.orientation.dicom_affine`), which label exports use.

    Raises:
        ReaderError: the frames, spacing or times do not make a valid cine series.
    """
    from core.io.orientation import canonicalize, dicom_affine, reorient_affine, reorient_spacing
    from core.series import CineSeries

    stored_hw = np.shape(frames)[1:]
    frames, ops, label = canonicalize(frames, iop)
    meta = dict(meta)
    meta["orientation"] = label
    meta["orientation_ops"] = ops
    affine = None if iop is None or ipp is None else dicom_affine(iop, ipp, spacing_mm)
    if affine is not None:
        meta["affine_ras"] = reorient_affine(affine, stored_hw, ops).tolist()
    try:
        return CineSeries(
            frames=np.asarray(frames, dtype=np.float32),
            spacing_mm=reorient_spacing(spacing_mm, ops),
            times_s=np.asarray(times_s, dtype=np.float64),
            meta=meta,
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise ReaderError(path, f"not a valid cine series: {exc}") from exc


def read_guarded(path: Path, read: Any, **kwargs: Any) -> Any:
    """Call ``read(path, **kwargs)``; damage pydicom finds late becomes a ReaderError.

    Damage can surface long after the header checks (e.g. inside a sequence that
    is parsed lazily); every DICOM reader goes through here so that it still gives
    a one-line ``ReaderError`` naming the file.
    """
    try:
        return read(path, **kwargs)
    except ReaderError:
        raise
    except DICOM_ERRORS as exc:
        raise ReaderError(path, f"damaged DICOM ({short_error(exc)})") from exc
