"""The cine series: frames, spacing, times and metadata of one dynamic MRI slice."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: Keys of :attr:`CineSeries.meta` that hold patient identity.  Exports drop
#: them unless the user asks to keep identity.
IDENTITY_KEYS = ("patient_name", "patient_id", "patient_birth_date")


def default_meta() -> dict[str, Any]:
    """Return the metadata keys every series carries, with empty values."""
    return {
        "subject_id": "",  # pseudonymous alias used in exports
        "patient_name": "",
        "patient_id": "",
        "study_uid": "",
        "series_uid": "",
        "series_description": "",
        "source_path": "",
        "format": "",
        "orientation": "unknown",  # e.g. "sagittal (canonical)"
        "orientation_ops": [],  # operations applied to reach canonical order
        "warnings": [],
    }


@dataclass
class CineSeries:
    """A dynamic 2D MRI series.

    Attributes:
        frames: float32 array (T, H, W), T >= 2.  Rows run head→feet and columns
            anterior→posterior once in canonical orientation.
        spacing_mm: pixel spacing (row, col) in mm, both > 0.
        times_s: acquisition time of each frame in s (T,), strictly increasing,
            relative to the first frame.
        meta: metadata; see :func:`default_meta` for the keys always present.
    """

    frames: np.ndarray
    spacing_mm: tuple[float, float]
    times_s: np.ndarray
    meta: dict[str, Any] = field(default_factory=default_meta)

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 3:
            raise ValueError(f"expected (T,H,W) frames, got shape {frames.shape}")
        if frames.shape[0] < 2:
            raise ValueError(f"a cine series needs at least 2 frames, got {frames.shape[0]}")
        if min(frames.shape[1:]) < 2:
            raise ValueError(f"frames must be at least 2x2 pixels, got {frames.shape[1:]}")
        self.frames = np.ascontiguousarray(frames, dtype=np.float32)
        if not np.all(np.isfinite(self.frames)):
            raise ValueError("frames contain NaN or infinite values")
        sp = tuple(float(s) for s in np.asarray(self.spacing_mm, dtype=float).ravel())
        if len(sp) != 2 or not all(np.isfinite(s) and s > 0 for s in sp):
            raise ValueError(f"spacing_mm must be two positive numbers (row, col), got {sp}")
        self.spacing_mm = (sp[0], sp[1])
        times = np.asarray(self.times_s, dtype=np.float64).ravel()
        if times.shape != (frames.shape[0],):
            raise ValueError(f"expected {frames.shape[0]} frame times, got {times.shape[0]}")
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError("times_s must be finite and strictly increasing")
        self.times_s = times - times[0]
        meta = default_meta()
        meta.update(self.meta or {})
        meta["warnings"] = list(meta.get("warnings") or [])
        meta["orientation_ops"] = list(meta.get("orientation_ops") or [])
        self.meta = meta

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.frames.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """Matrix (H, W) in pixels."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def frame_interval_s(self) -> float:
        """Median time between frames in s."""
        return float(np.median(np.diff(self.times_s)))

    @property
    def subject(self) -> str:
        """Pseudonymous subject alias (never the patient name)."""
        return str(self.meta.get("subject_id") or "subject")

    @property
    def warnings(self) -> list[str]:
        """Warnings recorded while reading (e.g. assumed spacing)."""
        return self.meta["warnings"]

    def with_frames(self, frames: np.ndarray) -> CineSeries:
        """Return a copy with other frames of the same shape and timing."""
        return replace(self, frames=frames, meta=dict(self.meta))

    def pixel_to_mm(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Convert pixel (row, col) coordinates to (x_mm, y_mm).

        x = col × col spacing, y = row × row spacing, origin at the centre of the
        top-left pixel.
        """
        return np.asarray(cols) * self.spacing_mm[1], np.asarray(rows) * self.spacing_mm[0]
