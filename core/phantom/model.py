"""Rendering any frame of a phantom case from its rest templates and motion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from core.phantom.grid import Canvas
from core.phantom.motion import Motion
from core.phantom.sampling import bilinear


@dataclass
class PhantomModel:
    """Everything needed to render any frame of a case (internal, used by tests).

    Attributes:
        params: the case parameters.
        canvas: fine grid.
        layout: body-frame anatomy.
        soft_stack: (1 + n_organs, rows, cols) soft signal and organ level sets.
        rigid_stack: (2, rows, cols) rigid signal (premultiplied) and coverage.
        motion: the motion of every frame.
        strain: (T,) effort.
        times_s: (T,) frame times.
    """

    params: dict[str, Any]
    canvas: Canvas
    layout: dict
    soft_stack: np.ndarray
    rigid_stack: np.ndarray
    motion: Motion
    strain: np.ndarray
    times_s: np.ndarray
    _organ_window: tuple[slice, slice] | None = None
    _rigid_pixels: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def pixel_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Image-mm x of every column and y of every row of the output grid."""
        h, w = self.params["shape"]
        sr, sc = self.params["spacing_mm"]
        return np.arange(w) * sc, np.arange(h) * sr

    def sample(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame t before artefacts: (signal (H, W), coverage of bone (H, W),
        organ level sets (n_organs, H, W) in mm, negative inside)."""
        xs, ys = self.pixel_axes
        q = self.canvas.image_to_index(self.motion.backward_grid(t, xs, ys))
        soft = bilinear(self.soft_stack[:1], q)[0]
        n_org = len(self.soft_stack) - 1
        levels = np.full((n_org,) + soft.shape, 1e3, np.float32)
        win = self.organ_window
        levels[:, win[0], win[1]] = bilinear(self.soft_stack[1:], q[win], 1e3)
        rows, cols = self.rigid_pixels
        j = self.motion.jitter_mm[t]
        pr = self.canvas.image_to_index(np.stack([xs[cols] - j[0], ys[rows] - j[1]], -1))
        rig, alpha_pts = bilinear(self.rigid_stack, pr)
        alpha = np.zeros_like(soft)
        alpha[rows, cols] = alpha_pts
        img = soft * (1.0 - alpha)
        img[rows, cols] += rig
        return img, alpha, levels

    @property
    def organ_window(self) -> tuple[slice, slice]:
        """Output-pixel window that holds every organ in every frame."""
        if self._organ_window is None:
            rc = np.argwhere(self.soft_stack[1:].min(0) < 0)
            mm = self.canvas.index_to_image(np.stack([rc.min(0), rc.max(0)]).astype(float))
            reach = 10.0 + sum(float(np.abs(b.vec).max()) + 40.0 * abs(b.angle)
                               for b in self.motion.bumps) * max(
                                   1.0, float(np.abs(self.motion.amps).max()))
            xs, ys = self.pixel_axes
            c0, c1 = np.searchsorted(xs, [mm[0, 0] - reach, mm[1, 0] + reach])
            r0, r1 = np.searchsorted(ys, [mm[0, 1] - reach, mm[1, 1] + reach])
            self._organ_window = (slice(int(r0), int(r1)), slice(int(c0), int(c1)))
        return self._organ_window

    @property
    def rigid_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of output pixels that bone may cover in some frame."""
        if self._rigid_pixels is None:
            xs, ys = self.pixel_axes
            gx, gy = np.meshgrid(xs, ys)
            rc = self.canvas.image_to_index(np.stack([gx, gy], -1))
            cover = bilinear(self.rigid_stack[1:], rc)[0] > 0
            reach = float(np.abs(self.motion.jitter_mm).max()) + 1.0
            step = min(self.params["spacing_mm"])
            cover = ndimage.binary_dilation(cover, iterations=int(np.ceil(reach / step)) + 1)
            self._rigid_pixels = np.nonzero(cover)
        return self._rigid_pixels

    def organ_under_bone(self, t: int) -> bool:
        """Whether any organ pixel of frame t lies under bone (coverage > 0.3)."""
        xs, ys = self.pixel_axes
        rows, cols = self.rigid_pixels
        pts = np.stack([xs[cols], ys[rows]], -1)
        j = self.motion.jitter_mm[t]
        _, alpha = bilinear(self.rigid_stack, self.canvas.image_to_index(pts - j))
        bone = alpha > 0.3
        if not bone.any():
            return False
        q = self.canvas.image_to_index(self.motion.backward(t, pts[bone]))
        return bool(np.any(bilinear(self.soft_stack[1:], q, 1e3).min(0) < 0))

    def signal(self, t: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Signal (len(ys), len(xs)) of frame t on any grid of image mm (no labels)."""
        q = self.canvas.image_to_index(self.motion.backward_grid(t, xs, ys))
        soft = bilinear(self.soft_stack[:1], q)[0]
        j = self.motion.jitter_mm[t]
        gx, gy = np.meshgrid(np.asarray(xs) - j[0], np.asarray(ys) - j[1])
        rig, alpha = bilinear(self.rigid_stack, self.canvas.image_to_index(np.stack([gx, gy], -1)))
        return soft * (1.0 - alpha) + rig

    def wrapped(self, t: int, img: np.ndarray, axis: int, width_px: int) -> np.ndarray:
        """Add the anatomy within ``width_px`` outside the view, folded in (aliasing)."""
        if width_px <= 0:
            return img
        xs, ys = self.pixel_axes
        axes = [ys, xs]
        n = len(axes[axis])
        step = axes[axis][1] - axes[axis][0]
        before = axes[axis][0] - step * np.arange(width_px, 0, -1)
        after = axes[axis][-1] + step * np.arange(1, width_px + 1)
        out = img.copy()
        for strip, at in ((before, slice(n - width_px, n)), (after, slice(0, width_px))):
            grid = [ys, xs]
            grid[axis] = strip
            folded = self.signal(t, grid[1], grid[0])
            if axis == 0:
                out[at, :] += folded
            else:
                out[:, at] += folded
        return out

    def labels(self, levels: np.ndarray) -> np.ndarray:
        """Labels (H, W) uint8 from organ level sets (n_organs, H, W)."""
        best = np.argmin(levels, axis=0)
        return np.where(levels.min(0) < 0, best + 1, 0).astype(np.uint8)
