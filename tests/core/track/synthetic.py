"""Analytic moving shapes with exact material-point truth, for tracking tests.

Three textured ellipses on a textured background are moved by a smooth known
field u_t(X) = strain_t · U(X) (descent, shear and a rotation about the first
organ that slides its wall tangentially).  Frame t shows I_0(ψ_t(x)) where ψ_t
inverts X ↦ X + u_t(X); material points X on the rest boundary are at
X + u_t(X) in frame t exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from core.series import CineSeries

ORGANS3 = ("bladder", "uterus_vagina", "rectum")


@dataclass
class SyntheticCase:
    series: CineSeries
    labels: np.ndarray
    trajectories: dict[str, np.ndarray]
    strain: np.ndarray


def _field(x: np.ndarray, y: np.ndarray, centre: tuple[float, float], size: float,
           descent: float, rotation: float) -> tuple[np.ndarray, np.ndarray]:
    cx, cy = centre
    env = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * (1.2 * size) ** 2))
    ux = env * (0.25 * descent - rotation * (y - cy))
    uy = env * (descent + rotation * (x - cx))
    return ux, uy


def make_case(shape: int = 128, n_frames: int = 12, spacing: float = 1.5, seed: int = 0,
              descent_mm: float = 12.0, rotation: float = 0.12, n_truth: int = 64,
              drop: tuple[tuple[str, int], ...] = ()) -> SyntheticCase:
    rng = np.random.default_rng(seed)
    h = w = shape
    fov = shape * spacing
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    x_mm, y_mm = xx * spacing, yy * spacing
    ellipses = {  # centre (x, y) mm, semi-axes (a, b) mm, intensity
        "bladder": ((0.40 * fov, 0.38 * fov), (0.14 * fov, 0.10 * fov), 0.95),
        "uterus_vagina": ((0.58 * fov, 0.50 * fov), (0.06 * fov, 0.16 * fov), 0.55),
        "rectum": ((0.76 * fov, 0.58 * fov), (0.07 * fov, 0.09 * fov), 0.30),
    }
    tex = ndimage.gaussian_filter(rng.normal(size=(h, w)), 2.0)
    tex /= tex.std()
    img0 = 0.45 + 0.12 * tex
    lab0 = np.zeros((h, w), np.uint8)
    for k, (_, ((cx, cy), (a, b), val)) in enumerate(ellipses.items()):
        inside = ((x_mm - cx) / a) ** 2 + ((y_mm - cy) / b) ** 2 <= 1.0
        lab0[inside] = k + 1
        img0[inside] = val + 0.03 * tex[inside]
    strain = np.sin(np.linspace(0, np.pi, n_frames)) ** 2
    centre = ellipses["bladder"][0]
    size = 0.2 * fov
    frames, labels = [], []
    for t in range(n_frames):
        # invert X + s·U(X) = x by fixed-point iteration
        px, py = x_mm.copy(), y_mm.copy()
        for _ in range(30):
            ux, uy = _field(px, py, centre, size, descent_mm, rotation)
            px, py = x_mm - strain[t] * ux, y_mm - strain[t] * uy
        coords = np.stack([py / spacing, px / spacing])
        fr = ndimage.map_coordinates(img0, coords, order=1, mode="nearest")
        frames.append(fr + rng.normal(scale=0.01, size=fr.shape))
        labels.append(ndimage.map_coordinates(lab0, coords, order=0, mode="nearest"))
    labels = np.stack(labels).astype(np.uint8)
    traj = {}
    th = np.linspace(0, 2 * np.pi, n_truth, endpoint=False)
    for organ, ((cx, cy), (a, b), _) in ellipses.items():
        bx, by = cx + a * np.cos(th), cy + b * np.sin(th)
        pts = []
        for t in range(n_frames):
            ux, uy = _field(bx, by, centre, size, descent_mm, rotation)
            pts.append(np.column_stack([bx + strain[t] * ux, by + strain[t] * uy]))
        traj[organ] = np.stack(pts)
    for organ, t in drop:
        labels[t][labels[t] == ORGANS3.index(organ) + 1] = 0
    series = CineSeries(np.stack(frames).astype(np.float32), (spacing, spacing),
                        np.arange(n_frames) * 1.0, {"subject_id": f"synthetic-{seed}"})
    return SyntheticCase(series, labels, traj, strain)
