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
from core.phantom.tissues import FAT, draw_contrast
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


def _sample(img: np.ndarray, idx: np.ndarray, order: int = 1, cval: float = 0.0) -> np.ndarray:
    """Sample a fine-grid array at (…, 2) (row, col) indices."""
    coords = np.moveaxis(idx, -1, 0)
    return ndimage.map_coordinates(img, coords, order=order, mode="constant", cval=cval)


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
    if not isinstance(seed, (int, np.integer)) or seed < 0:
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
    tilt = np.deg2rad(p["tilt_deg"])
    origin = (fov[1] * rng.uniform(0.3, 0.42), fov[0] * rng.uniform(0.62, 0.78))
    if fov[1] < 260:
        origin = (fov[1] * rng.uniform(0.2, 0.35), origin[1])
    step = min(sr, sc) / p["supersample"]
    canvas = Canvas.build(fov, step, 40.0, origin, tilt)
    painted = paint(canvas, lay, rng)
    table = draw_contrast(p["contrast"], rng)
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
    extent = (0.0, fov[1], 0.0, fov[0])
    t_peak = int(np.argmax(strain))
    scale = 1.0
    for _ in range(10):
        if motion.min_jacobian(t_peak, extent) > 0.35:
            break
        scale *= 0.8
        motion.amps[:, [c != "resp" for c in channels]] *= 0.8
    rr, cc = np.mgrid[0:h, 0:w]
    pix = np.stack([cc * sc, rr * sr], -1).astype(float)
    # Keep organs off the bones at the peak of the manoeuvre.
    for _ in range(8):
        q = canvas.image_to_index(motion.backward(t_peak, pix))
        inside = np.min([_sample(o, q, cval=1e3) for o in painted.organs], axis=0) < 0
        bone = _sample(alpha, canvas.image_to_index(pix - jitter[t_peak])) > 0.3
        if not np.any(inside & bone):
            break
        scale *= 0.8
        motion.amps[:, [c != "resp" for c in channels]] *= 0.8

    # Frames.
    bias = render.bias_field((h, w), p["bias_strength"], rng)
    band = render.banding((h, w), p["banding"], rng) if p["banding"] > 0 else None
    sigma_n = table[FAT] / p["snr"] if np.isfinite(p["snr"]) else 0.0
    flicker = 1.0 + rng.uniform(-1, 1, n_t) * p["flicker"]
    ghost_axis = int(rng.integers(0, 2))
    ghost_shift = int(rng.integers(8, 40)) * (1 if rng.random() < 0.5 else -1)
    frames = np.empty((n_t, h, w), np.float32)
    labels = np.zeros((n_t, h, w), np.uint8)
    for t in range(n_t):
        q = canvas.image_to_index(motion.backward(t, pix))
        pr = canvas.image_to_index(pix - jitter[t])
        a = _sample(alpha, pr)
        img = _sample(soft, q) * (1.0 - a) + _sample(rigid, pr)
        lv = np.stack([_sample(o, q, cval=1e3) for o in painted.organs])
        best = np.argmin(lv, axis=0)
        labels[t] = np.where(lv.min(0) < 0, best + 1, 0)
        img = img * bias * flicker[t]
        if band is not None:
            img = img * band
        img = render.ghost(img, p["ghosting"] * rng.uniform(0.5, 1.0), ghost_axis, ghost_shift)
        img = render.add_noise(img, sigma_n, rng)
        frames[t] = img * p["intensity_scale"]

    # Truth: rest contours carried forward, landmarks with the jitter.
    trajectories = {}
    for k, organ in enumerate(ORGANS):
        q0 = rest_contour(painted.organs[k], canvas, p["n_points"])
        trajectories[organ] = np.stack([motion.forward(t, q0) for t in range(n_t)])
    lms = {}
    for name in LANDMARKS:
        pt = canvas.body_to_image(np.asarray(lay["landmarks"][name]))
        lms[name] = pt[None, :] + jitter
    p.update({
        "seed": int(seed), "motion_scale_applied": float(scale),
        "motion_strength_effective": float(p["motion_strength"] * scale),
        "resp_period_s": float(resp_period), "anatomy": _round(lay),
        "bumps": [b.to_json() for b in bumps], "bump_channels": list(channels),
        "contrast_table": [round(float(v), 4) for v in table],
    })
    meta = {"subject_id": f"phantom-{int(seed):04d}", "format": "phantom",
            "series_description": f"PelviTrack phantom ({p['contrast']})",
            "orientation": "sagittal (canonical)"}
    series = CineSeries(frames, (sr, sc), times, meta)
    return PhantomCase(series, labels, ORGANS, trajectories, lms, strain, p)


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
