"""Distances the user measures on a frame: a ruler between two clicked points.

Besides the measures PelviTrack takes itself, a reader measures what the report needs
on the frame that shows it (an enterocele's depth, the levator plate, a bladder neck's
distance from the pubis).  A distance belongs to the frame it was drawn on.

It is kept as two landmarks, ``distance_<k>_start`` and ``distance_<k>_end`` ((T, 2) xy
mm, NaN on every frame but its own), so that it travels with the result's other
landmarks: saved in the project, kept when the series is tracked or segmented again,
undone as one step with them.  ``k`` numbers the distances of a result from 1 on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A distance shorter than this (mm) is refused: two clicks on one place.
MIN_DISTANCE_MM = 1.0

#: Colour the player and the report draw them in (apart from the organs' and the lines').
DISTANCE_RGB = (155, 229, 100)

#: Columns of :func:`distance_table`.
DISTANCE_COLUMNS = ("subject", "distance", "frame", "time_s", "x1_mm", "y1_mm", "x2_mm",
                    "y2_mm", "length_mm")

_NAME = re.compile(r"^distance_(\d+)_(start|end)$")


@dataclass(frozen=True)
class Distance:
    """One measured distance: its number, frame and two ends (xy mm)."""

    key: int
    frame: int
    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def length_mm(self) -> float:
        """The distance between the two ends, mm."""
        return float(np.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1]))


def _names(key: int) -> tuple[str, str]:
    return f"distance_{key}_start", f"distance_{key}_end"


def distances(landmarks: Mapping[str, np.ndarray] | None) -> list[Distance]:
    """The distances among ``landmarks``, by frame then number.  A pair whose two ends
    are not on one frame (a file edited by hand) is left out."""
    keys = sorted({int(m.group(1)) for m in map(_NAME.match, landmarks or {}) if m})
    out = []
    for key in keys:
        a, b = (np.asarray(landmarks.get(n), np.float64) for n in _names(key))
        if a.ndim != 2 or a.shape != b.shape or a.shape[1:] != (2,):
            continue
        at = np.flatnonzero(np.isfinite(a).all(1) & np.isfinite(b).all(1))
        if at.size != 1:
            continue
        t = int(at[0])
        out.append(Distance(key, t, (float(a[t, 0]), float(a[t, 1])),
                            (float(b[t, 0]), float(b[t, 1]))))
    return sorted(out, key=lambda d: (d.frame, d.key))


def on_frame(landmarks: Mapping[str, np.ndarray] | None, frame: int) -> list[Distance]:
    """The distances measured on ``frame``."""
    return [d for d in distances(landmarks) if d.frame == int(frame)]


def with_distance(landmarks: Mapping[str, np.ndarray] | None, n_frames: int, frame: int,
                  start: Sequence[float], end: Sequence[float]
                  ) -> tuple[dict[str, np.ndarray], int]:
    """A copy of ``landmarks`` with one more distance, from ``start`` to ``end`` (xy mm)
    on ``frame``; and its number.

    Raises:
        ValueError: a coordinate is not finite, the ends are less than
            :data:`MIN_DISTANCE_MM` apart, or ``frame`` is not a frame.
    """
    ends = np.array([start, end], dtype=np.float64)
    if ends.shape != (2, 2) or not np.isfinite(ends).all():
        raise ValueError(f"a distance needs two finite (x, y) points in mm, got {ends.tolist()}")
    length = float(np.hypot(*(ends[1] - ends[0])))
    if length < MIN_DISTANCE_MM:
        raise ValueError(f"the distance's two ends are {length:.2f} mm apart; click two "
                         f"points at least {MIN_DISTANCE_MM:g} mm apart")
    if not 0 <= int(frame) < n_frames:
        raise ValueError(f"frame {frame} is not a frame of the series (0..{n_frames - 1})")
    out = {k: np.array(v, np.float64, copy=True) for k, v in (landmarks or {}).items()}
    taken = [int(m.group(1)) for m in map(_NAME.match, out) if m]
    key = max(taken, default=0) + 1
    for name, point in zip(_names(key), ends, strict=True):
        arr = np.full((n_frames, 2), np.nan)
        arr[int(frame)] = point
        out[name] = arr
    return out, key


def without_distances(landmarks: Mapping[str, np.ndarray] | None,
                      frame: int | None = None) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` without the distances measured on ``frame`` (None: all)."""
    gone = {n for d in distances(landmarks) if frame is None or d.frame == int(frame)
            for n in _names(d.key)}
    if frame is None:       # also pairs left out by distances() (not on one frame)
        gone |= {n for n in (landmarks or {}) if _NAME.match(n)}
    return {k: np.array(v, copy=True) for k, v in (landmarks or {}).items() if k not in gone}


def distance_table(landmarks: Mapping[str, np.ndarray] | None, times_s: Sequence[float],
                   subject: str) -> pd.DataFrame:
    """One row per distance (:data:`DISTANCE_COLUMNS`): its number, frame, time, ends
    (xy mm) and length (mm)."""
    rows = [{"subject": subject, "distance": d.key, "frame": d.frame,
             "time_s": float(times_s[d.frame]), "x1_mm": d.start[0], "y1_mm": d.start[1],
             "x2_mm": d.end[0], "y2_mm": d.end[1], "length_mm": d.length_mm}
            for d in distances(landmarks)]
    return pd.DataFrame(rows, columns=list(DISTANCE_COLUMNS))
