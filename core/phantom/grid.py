"""The fine rendering grid of the phantom and its link to the body frame.

Three frames of reference are used:

* image mm: ``x = col * spacing_col``, ``y = row * spacing_row`` of the output
  series (origin at the centre of the top-left pixel);
* the fine grid: an isotropic grid of spacing ``step_mm`` covering the field of
  view plus a margin, on which the rest-frame anatomy is rendered;
* the body frame: mm with the origin at the inferior pubic point, ``x``
  posterior and ``y`` caudal, rotated by the patient's pelvic tilt relative to
  the image axes.  Anatomy is laid out in this frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BIG = 1.0e3  # "far outside" signed distance in mm


@dataclass
class Canvas:
    """Fine grid covering the field of view, with body-frame coordinates.

    Attributes:
        shape: (rows, cols) of the fine grid.
        step_mm: fine pixel size (mm), isotropic.
        origin_mm: image-mm (x, y) of fine pixel (0, 0).
        body_origin_mm: image-mm (x, y) of the body-frame origin (inferior pubic point).
        tilt: rotation (radians) from image axes to body axes.
        X, Y: body-frame coordinates (mm) of every fine pixel, (rows, cols).
        scale: body size factor (image mm per body-frame mm).
    """

    shape: tuple[int, int]
    step_mm: float
    origin_mm: tuple[float, float]
    body_origin_mm: tuple[float, float]
    tilt: float
    X: np.ndarray
    Y: np.ndarray
    scale: float = 1.0

    @classmethod
    def build(
        cls,
        fov_mm: tuple[float, float],
        step_mm: float,
        margin_mm: float,
        body_origin_mm: tuple[float, float],
        tilt: float,
        scale: float = 1.0,
    ) -> Canvas:
        """Make the canvas for a field of view (height, width) in mm."""
        rows = int(np.ceil((fov_mm[0] + 2 * margin_mm) / step_mm)) + 1
        cols = int(np.ceil((fov_mm[1] + 2 * margin_mm) / step_mm)) + 1
        origin = (-margin_mm, -margin_mm)
        xi = origin[0] + step_mm * np.arange(cols)
        yi = origin[1] + step_mm * np.arange(rows)
        c, s = np.cos(tilt), np.sin(tilt)
        dx = (xi - body_origin_mm[0])[None, :]
        dy = (yi - body_origin_mm[1])[:, None]
        X = (c * dx + s * dy) / scale
        Y = (-s * dx + c * dy) / scale
        return cls((rows, cols), step_mm, origin, body_origin_mm, tilt, X, Y, scale)

    def body_to_image(self, pts: np.ndarray) -> np.ndarray:
        """Body-frame points (..., 2) → image mm (..., 2)."""
        p = np.asarray(pts, dtype=float) * self.scale
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        x = c * p[..., 0] - s * p[..., 1] + self.body_origin_mm[0]
        y = s * p[..., 0] + c * p[..., 1] + self.body_origin_mm[1]
        return np.stack([x, y], axis=-1)

    def body_vec_to_image(self, v: np.ndarray) -> np.ndarray:
        """Rotate (and scale) body-frame vectors (..., 2) into image axes."""
        v = np.asarray(v, dtype=float) * self.scale
        c, s = np.cos(self.tilt), np.sin(self.tilt)
        return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], -1)

    def image_to_index(self, pts_mm: np.ndarray) -> np.ndarray:
        """Image mm (..., 2) xy → fine-grid (row, col) float indices (..., 2)."""
        p = np.asarray(pts_mm, dtype=float)
        return np.stack(
            [(p[..., 1] - self.origin_mm[1]) / self.step_mm,
             (p[..., 0] - self.origin_mm[0]) / self.step_mm], axis=-1
        )

    def index_to_image(self, rc: np.ndarray) -> np.ndarray:
        """Fine-grid (row, col) indices (..., 2) → image mm xy (..., 2)."""
        rc = np.asarray(rc, dtype=float)
        return np.stack(
            [self.origin_mm[0] + self.step_mm * rc[..., 1],
             self.origin_mm[1] + self.step_mm * rc[..., 0]], axis=-1
        )

    def window(self, pts_body: np.ndarray, margin_mm: float) -> tuple[slice, slice]:
        """Fine-grid slices covering the bounding box of body points plus a margin."""
        p = np.asarray(pts_body, dtype=float).reshape(-1, 2)
        lo, hi = p.min(0) - margin_mm, p.max(0) + margin_mm
        corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
        rc = self.image_to_index(self.body_to_image(corners))
        r0, c0 = np.floor(rc.min(0)).astype(int)
        r1, c1 = np.ceil(rc.max(0)).astype(int) + 1
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(max(r1, r0), self.shape[0]), min(max(c1, c0), self.shape[1])
        return slice(r0, r1), slice(c0, c1)

    def evaluate(
        self,
        fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
        pts_body: np.ndarray,
        margin_mm: float,
    ) -> np.ndarray:
        """Evaluate a signed distance ``fn(X, Y)`` only near some body points.

        Pixels outside the window get :data:`BIG` (far outside).
        """
        out = np.full(self.shape, BIG, dtype=np.float32)
        sl = self.window(pts_body, margin_mm)
        if out[sl].size:
            out[sl] = fn(self.X[sl], self.Y[sl])
        return out
