"""One synthetic dynamic pelvic MRI case with exact truth: :func:`generate_case`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from core.organs import ORGANS
from core.phantom import render
from core.phantom.contour import rest_contour
from core.phantom.grid import Canvas
from core.phantom.layout import draw_layout
from core.phantom.motion import Motion, jitter_path, strain_curve
from core.phantom.motion_design import design_bumps
from core.phantom.paint import paint
from core.phantom.params import sample_params
from core.phantom.sampling import bilinear
from core.phantom.tissues import FAT, URINE, draw_contrast
from core.series import CineSeries

LANDMARKS = ("inferior_pubic_point", "coccyx_tip")


@dataclass
class PhantomCase:
    """A synthetic cine series and its exact truth.

    Attributes:
        series: the images; ``meta["subject_id"] = f"phantom-{seed:04d}"``.
        labels: uint8 (T, H, W), 0 background, i + 1 for ``organs[i]``.
        organs: organ names.
        trajectories: organ -> (T, N, 2) float64 (x, y) mm of material points on
            the frame-0 contour (evenly spaced by arc length there).
        landmarks: ``inferior_pubic_point``, ``coccyx_tip`` -> (T, 2) (x, y) mm.
        strain: (T,) manoeuvre effort in [0, 1] (0 rest, 1 maximal push).
        params: the randomized parameters (JSON-able).
    """

    series: CineSeries
    labels: np.ndarray
    organs: tuple[str, ...]
    trajectories: dict[str, np.ndarray]
    landmarks: dict[str, np.ndarray]
    strain: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


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


def build_model(seed: int, **overrides: Any) -> tuple[PhantomModel, np.random.Generator]:
    """Draw the parameters, anatomy and motion of a case (no frames yet).

    Returns:
        (model, the random generator in the state that frame rendering continues from).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    p = sample_params(rng, overrides)
    h, w = p["shape"]
    sr, sc = p["spacing_mm"]
    n_t = p["n_frames"]
    times = np.arange(n_t) * p["frame_interval_s"]
    fov = (h * sr, w * sc)
    # Anatomy: pelvis placed in the field of view with a random offset and tilt.
    lay = draw_layout(rng)
    lay["pixel_mm"] = max(sr, sc)
    tilt = np.deg2rad(p["tilt_deg"])
    # Inferior pubic point: the pelvis is centred with some slack, the perineum in view.
    origin = (max(fov[1] * rng.uniform(0.3, 0.42), min(60.0, 0.3 * fov[1])),
              min(fov[0] * rng.uniform(0.62, 0.78), fov[0] - min(60.0, 0.25 * fov[0])))
    step = min(sr, sc) / p["supersample"]
    margin = max(40.0, 230.0 - min(fov))  # small fields of view still hold whole organs
    canvas = Canvas.build(fov, step, margin, origin, tilt, p["anatomy_scale"])
    painted = paint(canvas, lay, rng)
    table = draw_contrast(p["contrast"], rng, p["fat_suppressed"], p["gamma"])
    soft, rigid, alpha = render.templates(painted, table, rng, step, min(sr, sc))
    if p["contrast"] == "bssfp":
        soft *= render.india_ink(painted, table, rng.uniform(0.2, 0.6)).astype(np.float32)

    # Motion.
    strain = strain_curve(times, rng, p["peak_strain"])
    bumps, channels = design_bumps(lay, canvas, rng, p["motion_strength"], p["resp_mm"])
    resp_period = rng.uniform(3.0, 6.0)
    resp_phase = rng.uniform(0, 2 * np.pi)
    resp = np.sin(2 * np.pi * times / resp_period + resp_phase) - np.sin(resp_phase)
    lags = rng.uniform(-0.5, 0.5, len(bumps)) * p["frame_interval_s"]
    amps = np.zeros((n_t, len(bumps)))
    for k, ch in enumerate(channels):
        if ch == "resp":
            amps[:, k] = resp
        else:  # organs follow the effort with a small individual lag
            amps[:, k] = np.interp(times - lags[k], times, strain)
    amps[0] = 0.0
    jitter = jitter_path(n_t, p["jitter_mm"], rng)
    motion = Motion(bumps, amps, jitter)
    model = PhantomModel(p, canvas, lay, np.concatenate([soft[None], painted.organs]),
                         np.stack([rigid, alpha]), motion, strain, times)
    strained = np.array([c != "resp" for c in channels])
    extent = (0.0, fov[1], 0.0, fov[0])
    # Frames near the peak of the effort (organs lag individually, so several).
    near_peak = np.flatnonzero(strain >= 0.85 * strain.max()) if strain.max() > 0 else [0]
    scale = 1.0
    for _ in range(12):
        if max(motion.max_gradient(int(t), extent) for t in range(n_t)) < 0.6:
            break
        scale *= 0.85
        motion.amps[:, strained] *= 0.85
    # Keep organs off the bones around the peak of the manoeuvre.
    for _ in range(10):
        hit = False
        for t in near_peak:
            hit = hit or model.organ_under_bone(int(t))
        if not hit:
            break
        scale *= 0.85
        motion.amps[:, strained] *= 0.85
    p.update({
        "seed": int(seed), "motion_scale_applied": float(scale),
        "motion_strength_effective": float(p["motion_strength"] * scale),
        "resp_period_s": float(resp_period), "anatomy": _round(lay),
        "bumps": [b.to_json() for b in bumps], "bump_channels": list(channels),
        "contrast_table": [round(float(v), 4) for v in table],
    })
    return model, rng


def generate_case(seed: int, **overrides: Any) -> PhantomCase:
    """Generate one random phantom case, deterministic by ``seed``.

    Args:
        seed: integer seed of ``np.random.default_rng``; the same seed and
            overrides give the same case.
        **overrides: fix parameters, e.g. ``shape=(96, 96)``, ``n_frames=6``,
            ``spacing_mm=1.2`` (or (row, col)), ``contrast="bssfp"``, ``snr=20``,
            ``noise=0.05`` (= 1/snr), ``bias_strength=0``, ``motion_strength=1``,
            ``jitter_mm=0``, ``peak_strain=1``, ``n_points=128``; see
            :data:`core.phantom.params.OVERRIDABLE`.

    Returns:
        The case (see :class:`PhantomCase`).

    Raises:
        ValueError: an unknown override or a value out of range.
    """
    model, rng = build_model(seed, **overrides)
    p = model.params
    h, w = p["shape"]
    n_t = p["n_frames"]
    table = np.asarray(p["contrast_table"])
    bias = render.bias_field((h, w), p["bias_strength"], rng)
    band = render.banding((h, w), p["banding"], rng) if p["banding"] > 0 else None
    ref = 0.5 * table[URINE] if p["fat_suppressed"] else table[FAT]
    sigma_n = ref / p["snr"] if np.isfinite(p["snr"]) else 0.0
    flicker = 1.0 + rng.uniform(-1, 1, n_t) * p["flicker"]
    ghost_axis = int(rng.integers(0, 2))
    ghost_shift = int(rng.integers(8, 40)) * (1 if rng.random() < 0.5 else -1)
    static = bias if band is None else bias * band
    wrap_px = int(round(p["wrap_mm"] / p["spacing_mm"][ghost_axis]))
    wrap_px = min(wrap_px, p["shape"][ghost_axis] // 3)
    psf = p["psf_px"] if ghost_axis == 1 else p["psf_px"][::-1]
    frames = np.empty((n_t, h, w), np.float32)
    labels = np.zeros((n_t, h, w), np.uint8)
    for t in range(n_t):
        img, _, levels = model.sample(t)
        labels[t] = model.labels(levels)
        img = model.wrapped(t, img, ghost_axis, wrap_px)
        img = img * static * flicker[t]
        if max(psf) > 0.05:  # blur of the acquisition (mostly along phase encoding)
            img = ndimage.gaussian_filter(img, psf)
        img = render.ghost(img, p["ghosting"] * rng.uniform(0.5, 1.0), ghost_axis, ghost_shift)
        img = render.add_noise(img, sigma_n, rng)
        frames[t] = img * p["intensity_scale"]

    # Truth: rest contours carried forward, landmarks with the jitter.
    motion, canvas = model.motion, model.canvas
    rest = [rest_contour(model.soft_stack[1 + k], canvas, p["n_points"])
            for k in range(len(ORGANS))]
    moved = motion.forward_all(np.concatenate(rest))
    n = p["n_points"]
    trajectories = {organ: moved[:, k * n:(k + 1) * n] for k, organ in enumerate(ORGANS)}
    lms = {}
    for name in LANDMARKS:
        pt = canvas.body_to_image(np.asarray(model.layout["landmarks"][name]))
        lms[name] = pt[None, :] + motion.jitter_mm
    meta = {"subject_id": f"phantom-{int(seed):04d}", "format": "phantom",
            "series_description": f"PelviTrack phantom ({p['contrast']})",
            "orientation": "sagittal (canonical)"}
    series = CineSeries(frames, tuple(p["spacing_mm"]), model.times_s, meta)
    return PhantomCase(series, labels, ORGANS, trajectories, lms, model.strain, p)


def _round(obj: Any) -> Any:
    """Round floats in nested lists / dicts to 0.01 (compact JSON)."""
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 3)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
