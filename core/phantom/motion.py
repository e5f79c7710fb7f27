"""Straining manoeuvre and the exact motion of the phantom.

The motion of frame ``t`` is a backward map from output image positions ``p``
(image mm) to rest-frame positions ``q``::

    p' = p - j_t                      (global jitter: a small translation)
    q  = p' + v_t(p')                 (smooth soft-tissue deformation)
    v_t(p') = -sum_k a_k(t) * w_k(p')  (Gaussian-localised organ-centred bumps)

Images and labels of frame ``t`` are the rest templates sampled at ``q``; bones
are sampled at ``p'`` (rigid).  Material points go forward by solving
``p' + v_t(p') = q`` (fixed point, converges because |∇v| < 1 is enforced), so
trajectories lie exactly on the warped rest contours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def strain_curve(times_s: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    """Straining effort over time: rest → push → hold → release, in [0, 1].

    Args:
        times_s: (T,) frame times (s) from 0.
        rng: random generator for the timing.
        peak: effort at the top of the manoeuvre, in (0, 1].

    Returns:
        (T,) effort, 0 at the first frame.
    """
    dur = float(times_s[-1]) if times_s[-1] > 0 else 1.0
    n_push = 2 if rng.random() < 0.2 else 1
    s = np.zeros_like(times_s, dtype=float)
    slot = dur / n_push
    for i in range(n_push):
        t0 = i * slot + slot * rng.uniform(0.05, 0.3)
        t_up = slot * rng.uniform(0.1, 0.3)
        t_hold = slot * rng.uniform(0.1, 0.4)
        t_down = slot * rng.uniform(0.08, 0.3)
        level = peak * (rng.uniform(0.75, 1.0) if i else 1.0)
        x = times_s
        up = np.clip((x - t0) / t_up, 0, 1)
        down = np.clip((x - t0 - t_up - t_hold) / t_down, 0, 1)
        residual = rng.uniform(0.0, 0.2)
        shape = 0.5 - 0.5 * np.cos(np.pi * up)
        shape = shape * (1 - (1 - residual) * (0.5 - 0.5 * np.cos(np.pi * down)))
        s = np.maximum(s, level * shape)
    s = np.clip(s, 0.0, 1.0)
    s[0] = 0.0
    return s


@dataclass
class Bump:
    """One localised deformation (image mm): a shift or a rotation under a Gaussian.

    ``vec`` is the forward displacement at the centre (mm) for a shift; ``angle``
    the forward rotation (radians) about the centre for a rotation.
    """

    centre: np.ndarray
    sigma: np.ndarray
    vec: np.ndarray
    angle: float = 0.0

    def weight(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gaussian weight at (x, y)."""
        return np.exp(-0.5 * (((x - self.centre[0]) / self.sigma[0]) ** 2
                              + ((y - self.centre[1]) / self.sigma[1]) ** 2))

    def field(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward displacement (ux, uy) at (x, y), mm."""
        w = self.weight(x, y)
        if self.angle:
            # u = (R(a) - I)(p - c) under the Gaussian; in image axes y points down.
            ca, sa = np.cos(self.angle) - 1.0, np.sin(self.angle)
            dx, dy = x - self.centre[0], y - self.centre[1]
            return w * (ca * dx - sa * dy), w * (sa * dx + ca * dy)
        return w * self.vec[0], w * self.vec[1]

    def to_json(self) -> dict:
        """The bump as plain numbers (for ``case.params``)."""
        return {"centre": self.centre.tolist(), "sigma": self.sigma.tolist(),
                "vec": self.vec.tolist(), "angle": float(self.angle)}


@dataclass
class Motion:
    """Motion of every frame: bumps, their per-frame amplitudes and the jitter.

    Attributes:
        bumps: localised deformations.
        amps: (T, n_bumps) amplitude of each bump per frame.
        jitter_mm: (T, 2) global translation (x, y) per frame, 0 at frame 0.
    """

    bumps: list[Bump]
    amps: np.ndarray
    jitter_mm: np.ndarray

    def displacement(self, t: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Backward soft-tissue displacement v_t at body-fixed positions (x, y), mm."""
        vx = np.zeros(np.shape(x))
        vy = np.zeros(np.shape(x))
        for k, b in enumerate(self.bumps):
            a = self.amps[t, k]
            if a == 0.0:
                continue
            ux, uy = b.field(x, y)
            vx -= a * ux
            vy -= a * uy
        return vx, vy

    def displacement_grid(self, t: int, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, ...]:
        """Backward displacement v_t on the regular grid ``ys`` (rows) × ``xs`` (cols), mm.

        Same values as :meth:`displacement` on ``meshgrid(xs, ys)``, computed with
        separable Gaussians (fast).
        """
        vx = np.zeros((len(ys), len(xs)))
        vy = np.zeros((len(ys), len(xs)))
        for k, b in enumerate(self.bumps):
            a = self.amps[t, k]
            if a == 0.0:
                continue
            dx, dy = xs - b.centre[0], ys - b.centre[1]
            wx = np.exp(-0.5 * (dx / b.sigma[0]) ** 2)
            wy = np.exp(-0.5 * (dy / b.sigma[1]) ** 2)
            if b.angle:
                ca, sa = np.cos(b.angle) - 1.0, np.sin(b.angle)
                wxd, wyd = wx * dx, wy * dy
                vx -= a * (ca * np.outer(wy, wxd) - sa * np.outer(wyd, wx))
                vy -= a * (sa * np.outer(wy, wxd) + ca * np.outer(wyd, wx))
            else:
                w = np.outer(wy, wx)
                vx -= (a * b.vec[0]) * w
                vy -= (a * b.vec[1]) * w
        return vx, vy

    def backward_grid(self, t: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Rest-frame positions (rows, cols, 2) of the output grid ``ys`` × ``xs`` (mm)."""
        xs = np.asarray(xs, float) - self.jitter_mm[t, 0]
        ys = np.asarray(ys, float) - self.jitter_mm[t, 1]
        vx, vy = self.displacement_grid(t, xs, ys)
        return np.stack([xs[None, :] + vx, ys[:, None] + vy], -1)

    def backward(self, t: int, pts: np.ndarray) -> np.ndarray:
        """Rest-frame position q of output points p (..., 2) image mm in frame t."""
        p = np.asarray(pts, float) - self.jitter_mm[t]
        vx, vy = self.displacement(t, p[..., 0], p[..., 1])
        return np.stack([p[..., 0] + vx, p[..., 1] + vy], -1)

    def forward(self, t: int, q: np.ndarray, tol_mm: float = 1e-7) -> np.ndarray:
        """Where rest-frame points q (N, 2) are in frame t (inverse of :meth:`backward`)."""
        q = np.asarray(q, float)
        p = q.copy()
        for _ in range(200):
            vx, vy = self.displacement(t, p[:, 0], p[:, 1])
            new = np.stack([q[:, 0] - vx, q[:, 1] - vy], -1)
            err = np.abs(new - p).max(initial=0.0)
            p = new
            if err < tol_mm:
                break
        return p + self.jitter_mm[t]

    def forward_all(self, q: np.ndarray, tol_mm: float = 1e-7) -> np.ndarray:
        """Where rest-frame points q (N, 2) are in every frame: (T, N, 2) image mm.

        Same fixed point as :meth:`forward`, iterated for all frames at once.
        """
        q = np.asarray(q, float)
        n_t = self.amps.shape[0]
        p = np.broadcast_to(q, (n_t,) + q.shape).copy()
        for _ in range(200):
            vx = np.zeros(p.shape[:2])
            vy = np.zeros(p.shape[:2])
            for k, b in enumerate(self.bumps):
                a = self.amps[:, k][:, None]
                if not np.any(a):
                    continue
                ux, uy = b.field(p[..., 0], p[..., 1])
                vx -= a * ux
                vy -= a * uy
            new = np.stack([q[None, :, 0] - vx, q[None, :, 1] - vy], -1)
            err = np.abs(new - p).max(initial=0.0)
            p = new
            if err < tol_mm:
                break
        return p + self.jitter_mm[:, None, :]

    def max_gradient(self, t: int, extent: tuple[float, float, float, float],
                     step: float = 3.0) -> float:
        """Largest spectral norm of ∇v_t over a rectangle (x0, x1, y0, y1) in mm.

        Below 1 the map p' → p' + v_t(p') is invertible and the fixed point of
        :meth:`forward` converges; below ~0.6 no tissue is squeezed by more than 2.5x.
        """
        x = np.arange(extent[0], extent[1], step)
        y = np.arange(extent[2], extent[3], step)
        vx, vy = self.displacement_grid(t, x, y)
        a, b = np.gradient(vx, step, axis=1), np.gradient(vx, step, axis=0)
        c, d = np.gradient(vy, step, axis=1), np.gradient(vy, step, axis=0)
        s = a * a + b * b + c * c + d * d
        det = a * d - b * c
        return float(np.sqrt(0.5 * (s + np.sqrt(np.maximum(s * s - 4 * det * det, 0)))).max())

    def min_jacobian(self, t: int, extent: tuple[float, float, float, float],
                     step: float = 3.0) -> float:
        """Smallest det(I + ∇v_t) over a rectangle (x0, x1, y0, y1) in mm."""
        x = np.arange(extent[0], extent[1], step)
        y = np.arange(extent[2], extent[3], step)
        xx, yy = np.meshgrid(x, y)
        vx, vy = self.displacement(t, xx, yy)
        dvx_dy, dvx_dx = np.gradient(vx, step)
        dvy_dy, dvy_dx = np.gradient(vy, step)
        det = (1 + dvx_dx) * (1 + dvy_dy) - dvx_dy * dvy_dx
        return float(det.min())


def jitter_path(n: int, amp_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Small smooth global translation (T, 2) mm, zero at the first frame."""
    steps = rng.standard_normal((n, 2))
    path = ndimage.convolve1d(steps, [0.25, 0.5, 0.25], axis=0, mode="nearest")
    path = path - path[0]
    scale = np.hypot(path[:, 0], path[:, 1]).max()
    return path * (amp_mm / scale) if scale > 0 else path
