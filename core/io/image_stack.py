"""Reader of image stacks: a multi-page TIFF, or a folder of PNG/TIFF frames.

Frames in a folder are sorted naturally by name (``frame2`` before
``frame10``).  These formats store neither pixel spacing nor timing, so both
come from the options (``spacing_mm``, ``frame_interval_s``) and default to
1 mm and 1 s, recorded as warnings.  RGB(A) frames are converted to grey
(ITU-R 601 luma, alpha dropped).
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from core.errors import ReaderError
from core.io.registry import quiet_loggers, short_error
from core.series import CineSeries

_TIFF = {".tif", ".tiff"}
_FRAME_SUFFIXES = {".png", ".tif", ".tiff"}

#: Exceptions PIL / tifffile raise on damaged images (wrapped into ReaderError).
IMAGE_ERRORS: tuple[type[BaseException], ...] = (
    UnidentifiedImageError,
    tifffile.TiffFileError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    struct.error,
    zlib.error,
    SyntaxError,  # PIL raises it for some broken PNG chunks
    MemoryError,
    RuntimeError,
    NotImplementedError,
    Image.DecompressionBombError,
)


def natural_key(name: str) -> list[Any]:
    """Sort key that orders digit runs by value: ``frame2`` < ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def to_grey(img: np.ndarray, path: Path) -> np.ndarray:
    """One frame as float64 (H, W): grey kept, RGB(A) → luma.

    Raises:
        ReaderError: not a 2-D grey or RGB(A) image.
    """
    arr = np.asarray(img)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "uif":
        raise ReaderError(path, f"unsupported pixel type {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        return arr[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if arr.ndim == 3 and arr.shape[-1] in (1, 2):  # grey (+ alpha)
        return arr[..., 0].astype(np.float64)
    if arr.ndim != 2:
        raise ReaderError(path, f"expected a 2-D grey or RGB image, got shape {arr.shape}")
    return arr.astype(np.float64)


def _page_array(page: Any) -> np.ndarray:
    """Pixels of one TIFF page, samples last (planar RGB moved to (H, W, S))."""
    arr = page.asarray()
    if arr.ndim == 3 and int(page.planarconfig) == int(tifffile.PLANARCONFIG.SEPARATE):
        arr = np.moveaxis(arr, 0, -1)
    return arr


def _read_tiff_pages(path: Path) -> list[np.ndarray]:
    try:
        with quiet_loggers("tifffile"), tifffile.TiffFile(path) as tif:
            pages = [to_grey(_page_array(page), path) for page in tif.pages]
    except ReaderError:
        raise
    except IMAGE_ERRORS as exc:
        raise ReaderError(path, f"not a readable TIFF file ({short_error(exc)})") from exc
    return pages


def _read_frame_file(path: Path) -> np.ndarray:
    if path.suffix.lower() in _TIFF:
        pages = _read_tiff_pages(path)
        if len(pages) != 1:
            raise ReaderError(path, f"a multi-page TIFF ({len(pages)} pages) among single frames")
        return pages[0]
    try:
        with Image.open(path) as im:
            if im.mode in ("P", "PA", "LA", "CMYK", "YCbCr", "HSV", "1"):
                im = im.convert("RGB" if im.mode in ("P", "PA", "CMYK", "YCbCr", "HSV") else "L")
            arr = np.asarray(im)
    except IMAGE_ERRORS as exc:
        raise ReaderError(path, f"not a readable image ({short_error(exc)})") from exc
    return to_grey(arr, path)


def _frame_files(folder: Path) -> list[Path]:
    files = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in _FRAME_SUFFIXES
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def _stack(frames: list[np.ndarray], names: list[Path]) -> np.ndarray:
    first = frames[0].shape
    for arr, name in zip(frames, names, strict=True):
        if arr.shape != first:
            raise ReaderError(
                name,
                f"frame size {arr.shape[0]}x{arr.shape[1]} differs from "
                f"{first[0]}x{first[1]} of {names[0].name}",
            )
    return np.stack(frames)


def read_stack(
    path: Path,
    spacing_mm: tuple[float, float] | None = None,
    frame_interval_s: float | None = None,
) -> CineSeries:
    """Read a multi-page TIFF or a folder of PNG/TIFF frames.

    Args:
        path: a ``.tif``/``.tiff`` file (one frame per page) or a folder of frames.
        spacing_mm: (row, col) pixel spacing in mm; 1 mm (with a warning) if None.
        frame_interval_s: frame interval in s; 1 s (with a warning) if None.

    Returns:
        The series, frames (T, H, W) float32 in page / natural name order.

    Raises:
        ReaderError: damaged images, frames of different sizes, fewer than 2 frames.
    """
    path = Path(path)
    if path.is_dir():
        files = _frame_files(path)
        if not files:
            raise ReaderError(path, "no PNG or TIFF frames in folder")
        frames = [_read_frame_file(f) for f in files]
        names = files
    else:
        frames = _read_tiff_pages(path)
        names = [path.with_name(f"{path.name}[page {i}]") for i in range(len(frames))]
    if len(frames) < 2:
        raise ReaderError(path, "a single image, a cine series needs at least 2 frames")
    stack = _stack(frames, names)

    warnings: list[str] = []
    if spacing_mm is None:
        spacing = (1.0, 1.0)
        warnings.append("pixel spacing not stored in image stacks, 1 mm assumed")
    else:
        spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    if frame_interval_s is None:
        interval = 1.0
        warnings.append("frame interval not stored in image stacks, 1 s assumed")
    else:
        interval = float(frame_interval_s)
    from core.io.dicom_common import subject_alias

    meta = {
        "subject_id": subject_alias("", "", path),
        "source_path": str(path),
        "format": "image-stack",
        "orientation": "as stored (image stack, not reoriented)",
        "orientation_ops": [],
        "warnings": warnings,
    }
    try:
        return CineSeries(
            frames=stack.astype(np.float32),
            spacing_mm=spacing,
            times_s=np.arange(len(frames)) * interval,
            meta=meta,
        )
    except ValueError as exc:
        raise ReaderError(path, f"not a valid cine series: {exc}") from exc


class ImageStackReader:
    """Registry entry for multi-page TIFF files and folders of PNG/TIFF frames."""

    name = "image-stack"

    def can_read(self, path: Path) -> bool:
        """A ``.tif``/``.tiff`` file, or a folder holding PNG/TIFF files."""
        if path.is_file():
            return path.suffix.lower() in _TIFF
        return path.is_dir() and bool(_frame_files(path))

    def read(self, path: Path, **options: Any) -> CineSeries:
        """Read the stack; options ``spacing_mm``, ``frame_interval_s``."""
        return read_stack(
            path,
            spacing_mm=options.get("spacing_mm"),
            frame_interval_s=options.get("frame_interval_s"),
        )


READER = ImageStackReader()
