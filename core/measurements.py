"""Distances and angles the user measures by hand on a frame.

Besides the measures PelviTrack takes itself, a reader measures what the report needs
on the frame that shows it: an enterocele's depth, the levator plate's angle, the
anorectal angle where the rectum's outline does not give it.  A **distance** is a
ruler between two clicked points; an **angle** is measured at its vertex between two
arms, clicked as one arm's end, the vertex, the other arm's end.  A measurement belongs
to the frame it was made on.

Each is kept as landmarks, ``<kind>_<k>_<point>`` ((T, 2) xy mm, NaN on every frame but
its own: ``distance_<k>_start`` / ``_end``, ``angle_<k>_first`` / ``_vertex`` /
``_second``), so that it travels with the result's other landmarks: saved in the
project, kept when the series is tracked or segmented again, undone as one step with
them.  ``k`` numbers the measurements of a result from 1 on, both kinds together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The kinds of measurement: kind -> the names of its points, in clicking order.
KINDS = {"distance": ("start", "end"), "angle": ("first", "vertex", "second")}

#: A distance, or an angle's arm, shorter than this (mm) is refused: two clicks on
#: one place.
MIN_DISTANCE_MM = 1.0

#: Colour the player and the report draw them in (apart from the organs' and the lines').
MEASURE_RGB = (155, 229, 100)

#: Columns of :func:`measurement_table`.
MEASUREMENT_COLUMNS = ("subject", "number", "kind", "frame", "time_s", "x1_mm", "y1_mm",
                       "x2_mm", "y2_mm", "x3_mm", "y3_mm", "value", "unit")

_NAME = re.compile(r"^(distance|angle)_(\d+)_([a-z]+)$")


@dataclass(frozen=True)
class Measurement:
    """One measurement by hand: its kind, number, frame and points (xy mm, in
    clicking order)."""

    kind: str
    key: int
    frame: int
    points: tuple[tuple[float, float], ...]

    @property
    def value(self) -> float:
        """A distance's length (mm) or an angle's size at its vertex (degrees, 0–180)."""
        p = np.asarray(self.points, np.float64)
        if self.kind == "distance":
            return float(np.hypot(*(p[1] - p[0])))
        a, b = p[0] - p[1], p[2] - p[1]
        cos = float(a @ b) / max(float(np.hypot(*a) * np.hypot(*b)), 1e-12)
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))

    @property
    def unit(self) -> str:
        """"mm" or "°"."""
        return "mm" if self.kind == "distance" else "°"

    @property
    def text(self) -> str:
        """The value as the player and the summary write it: "23.4 mm", "102°"."""
        return f"{self.value:.1f} mm" if self.kind == "distance" else f"{self.value:.0f}°"


def _names(kind: str, key: int) -> tuple[str, ...]:
    return tuple(f"{kind}_{key}_{point}" for point in KINDS[kind])


def _numbers(landmarks: Mapping[str, np.ndarray] | None) -> set[tuple[str, int]]:
    return {(m.group(1), int(m.group(2))) for m in map(_NAME.match, landmarks or {}) if m}


def measurements(landmarks: Mapping[str, np.ndarray] | None,
                 kind: str | None = None) -> list[Measurement]:
    """The measurements among ``landmarks`` (of ``kind`` only, when given), by frame
    then number.  One whose points are not all there, or not on one frame (a file
    edited by hand), is left out."""
    out = []
    for k, key in _numbers(landmarks):
        if kind is not None and k != kind:
            continue
        arrays = [np.asarray(landmarks.get(n, np.empty((0, 2))), np.float64)
                  for n in _names(k, key)]
        if any(a.ndim != 2 or a.shape[1:] != (2,) or a.shape != arrays[0].shape
               for a in arrays):
            continue
        at = np.flatnonzero(np.logical_and.reduce([np.isfinite(a).all(1) for a in arrays]))
        if at.size != 1:
            continue
        t = int(at[0])
        out.append(Measurement(k, key, t, tuple((float(a[t, 0]), float(a[t, 1]))
                                                for a in arrays)))
    return sorted(out, key=lambda m: (m.frame, m.key))


def on_frame(landmarks: Mapping[str, np.ndarray] | None, frame: int) -> list[Measurement]:
    """The measurements made on ``frame``."""
    return [m for m in measurements(landmarks) if m.frame == int(frame)]


def check_points(kind: str, points: Sequence[Sequence[float]]) -> np.ndarray:
    """``points`` of a ``kind`` of measurement as a float array, checked.

    Raises:
        ValueError: an unknown kind, a wrong number of points, a coordinate that is
            not finite, or two points (a distance's ends, an arm's) less than
            :data:`MIN_DISTANCE_MM` apart.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown measurement {kind!r}; one of {', '.join(KINDS)}")
    pts = np.asarray(points, dtype=np.float64)
    n = len(KINDS[kind])
    if pts.shape != (n, 2) or not np.isfinite(pts).all():
        raise ValueError(f"{'a' if kind == 'distance' else 'an'} {kind} needs {n} finite "
                         f"(x, y) points in mm, got {np.asarray(points).tolist()}")
    pairs = [(0, 1)] if kind == "distance" else [(1, 0), (1, 2)]
    for i, j in pairs:
        length = float(np.hypot(*(pts[j] - pts[i])))
        if length < MIN_DISTANCE_MM:
            what = "the distance's two ends" if kind == "distance" else "an arm's two ends"
            raise ValueError(f"{what} are {length:.2f} mm apart; click points at least "
                             f"{MIN_DISTANCE_MM:g} mm apart")
    return pts


def with_point_moved(landmarks: Mapping[str, np.ndarray], kind: str, key: int, index: int,
                     xy: Sequence[float]) -> tuple[dict[str, np.ndarray], Measurement]:
    """A copy of ``landmarks`` with point ``index`` of measurement ``key`` (a ``kind``)
    moved to ``xy`` on its frame; and the measurement as it is then.

    Raises:
        ValueError: no such measurement or point, or the moved points are refused
            (:func:`check_points`).
    """
    found = [m for m in measurements(landmarks, kind) if m.key == int(key)]
    if not found or not 0 <= int(index) < len(KINDS[kind]):
        raise ValueError(f"there is no {kind} {key} with a point {index}")
    m = found[0]
    points = [tuple(float(v) for v in xy) if i == int(index) else p
              for i, p in enumerate(m.points)]
    check_points(kind, points)
    out = {name: np.array(v, np.float64, copy=True) for name, v in landmarks.items()}
    out[_names(kind, m.key)[int(index)]][m.frame] = points[int(index)]
    return out, Measurement(kind, m.key, m.frame, tuple(points))


def with_measurement(landmarks: Mapping[str, np.ndarray] | None, n_frames: int, frame: int,
                     kind: str, points: Sequence[Sequence[float]]
                     ) -> tuple[dict[str, np.ndarray], int]:
    """A copy of ``landmarks`` with one more measurement of ``kind`` ("distance": start
    and end; "angle": an arm's end, the vertex, the other arm's end; xy mm) on
    ``frame``; and its number.

    Raises:
        ValueError: an unknown kind, a wrong number of points, a coordinate that is
            not finite, two points (a distance's ends, an arm's) less than
            :data:`MIN_DISTANCE_MM` apart, or ``frame`` not a frame.
    """
    pts = check_points(kind, points)
    if not 0 <= int(frame) < n_frames:
        raise ValueError(f"frame {frame} is not a frame of the series (0..{n_frames - 1})")
    out = {name: np.array(v, np.float64, copy=True) for name, v in (landmarks or {}).items()}
    key = max((k for _kind, k in _numbers(out)), default=0) + 1
    for name, point in zip(_names(kind, key), pts, strict=True):
        arr = np.full((n_frames, 2), np.nan)
        arr[int(frame)] = point
        out[name] = arr
    return out, key


def without_measurements(landmarks: Mapping[str, np.ndarray] | None,
                         frame: int | None = None) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` without the measurements made on ``frame`` (None: all,
    with any broken ones :func:`measurements` leaves out)."""
    if frame is None:
        gone = {n for n in (landmarks or {}) if _NAME.match(n)}
    else:
        gone = {n for m in on_frame(landmarks, frame) for n in _names(m.kind, m.key)}
    return {k: np.array(v, copy=True) for k, v in (landmarks or {}).items() if k not in gone}


def without_measurement(landmarks: Mapping[str, np.ndarray] | None, key: int
                        ) -> dict[str, np.ndarray]:
    """A copy of ``landmarks`` without measurement number ``key`` (of either kind)."""
    gone = {n for kind, k in _numbers(landmarks) if k == int(key) for n in _names(kind, k)}
    return {k: np.array(v, copy=True) for k, v in (landmarks or {}).items() if k not in gone}


def measurement_table(landmarks: Mapping[str, np.ndarray] | None, times_s: Sequence[float],
                      subject: str) -> pd.DataFrame:
    """One row per measurement (:data:`MEASUREMENT_COLUMNS`): its number, kind, frame,
    time, points (xy mm; x3, y3 only for an angle) and value with its unit."""
    rows = []
    for m in measurements(landmarks):
        row = {"subject": subject, "number": m.key, "kind": m.kind, "frame": m.frame,
               "time_s": float(times_s[m.frame]), "value": m.value, "unit": m.unit}
        for i in range(3):
            x, y = m.points[i] if i < len(m.points) else (np.nan, np.nan)
            row[f"x{i + 1}_mm"], row[f"y{i + 1}_mm"] = x, y
        rows.append(row)
    return pd.DataFrame(rows, columns=list(MEASUREMENT_COLUMNS))
