"""Analytic organ shapes with known measures, shared by core and GUI tests."""

from __future__ import annotations

import numpy as np


def _rot(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _to_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((points - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def bent_tube(angle: float, tilt: float = 0.0, spacing=(1.0, 1.0), radius: float = 5.0,
              shape=(200, 200)) -> tuple[np.ndarray, np.ndarray]:
    """A rectum mask: a canal 40 mm long up to the junction at (100, 120) mm, then a
    straight rectum 60 mm long leaving it ``angle`` degrees from the canal's axis
    pointing down, the whole turned by ``tilt``; and the anal canal line on the
    canal's anterior wall (from 2 to 38 mm below the junction)."""
    r = _rot(tilt)
    junction = np.array([100.0, 120.0])
    verge = junction + r @ [0.0, 40.0]
    a = np.deg2rad(angle)
    far = junction + 60.0 * (r @ [np.sin(a), np.cos(a)])      # from caudal to posterior
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    xy = np.stack([cols.ravel() * spacing[1], rows.ravel() * spacing[0]], axis=1)
    inside = (_to_segment(xy, verge, junction) <= radius) | (
        _to_segment(xy, junction, far) <= radius)
    front = r @ [-radius, 0.0]                                 # the anterior wall
    line = np.stack([junction + r @ [0.0, 38.0] + front, junction + r @ [0.0, 2.0] + front])
    return inside.reshape(shape), line


#: The corner of a :func:`bent_tube`'s posterior wall at the junction, tilt 0: where
#: the canal's posterior wall and the rectum's lower wall meet (on the bend's bisector).
def tube_corner(angle: float, tilt: float = 0.0, radius: float = 5.0) -> np.ndarray:
    a = np.deg2rad(angle)
    bisector = np.array([np.sin(a), 1.0 + np.cos(a)])
    bisector /= np.linalg.norm(bisector)
    return np.array([100.0, 120.0]) + _rot(tilt) @ (bisector * radius / np.sin(a / 2))


def tube_analysis(angles, shape=(180, 170), pcl=None):
    """``run_analyze`` on given labels: one bent tube per frame (``angles``, labelled
    rectum), the anal canal line of the first frame's tube placed on every frame (and
    ``pcl``, ((px, py), (cx, cy)) mm, when given)."""
    from core.pipeline import run_analyze
    from core.rectocele import with_anal_line
    from core.reference import with_pcl
    from core.series import CineSeries

    labels = np.stack([bent_tube(a, shape=shape)[0] for a in angles]).astype(np.uint8)
    line = bent_tube(angles[0])[1]
    n = len(angles)
    series = CineSeries(10 + 50.0 * labels.astype(np.float32), (1.0, 1.0),
                        np.arange(n) * 0.5, {"subject_id": "tube"})
    marks = with_anal_line({}, n, line[0], line[1])
    if pcl is not None:
        marks = with_pcl(marks, n, *pcl)
    return run_analyze(series, labels=labels, organs=("rectum",), n_points=64,
                       landmarks=marks)
