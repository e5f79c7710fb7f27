"""One synthetic dynamic pelvic MRI case with exact truth: :func:`generate_case`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from core.organs import ORGANS
from core.phantom import layout, opt_in, render
from core.phantom.contour import rest_contour
from core.phantom.grid import Canvas
from core.phantom.model import PhantomModel
from core.phantom.motion import Motion, jitter_path, strain_curve
from core.phantom.motion_design import design_bumps
from core.phantom.paint import paint
from core.phantom.params import sample_params
from core.phantom.tissues import FAT, URINE, draw_contrast, iso_urine
from core.series import CineSeries

LANDMARKS = ("inferior_pubic_point", "coccyx_tip")
#: Which generator drew a case (``params["phantom_revision"]``, kept in truth files):
#: 2 since 2026-12-01, when layouts that cut a tube in two began to be redrawn; the
#: cases of other seeds are the same as in revision 1.
PHANTOM_REVISION = 2
#: Organs that must come out in one piece (tubes: a cut leaves a blind end).
WHOLE_ORGANS = ("uterus_vagina", "rectum")
#: Opt-in anatomy, applied in this order when its parameter is true: (parameter, change of
#: the layout, salt of its own random stream ``[seed, salt, attempt]``).
OPT_IN = (
    ("hysterectomy", opt_in.vault_loops, 0xF3),
    ("empty_bladder", opt_in.empty_bladder, 0xB1),
    ("fibroid_uterus", opt_in.fibroid_uterus, 0xF1),
    ("neck_funnel", opt_in.neck_funnel, 0xF2),
    ("large_uterus", opt_in.large_uterus, 0xF5),
    ("sigmoid_colon", opt_in.sigmoid_colon, 0xF4),
    ("absent_bladder", opt_in.absent_bladder, 0xF6),
)
#: Largest share of such an organ's area that may lie outside its main piece.
MAX_LOST = 0.02
#: Layouts drawn at most; the last one is kept (its ``organ_area_lost`` is recorded).
LAYOUT_ATTEMPTS = 10


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
        strain: (T,) manoeuvre strength in [0, 1]: 0 at rest, 1 at the peak of this
            case's manoeuvre (the absolute effort of the peak is ``params["peak_strain"]``).
        params: the randomized parameters (JSON-able).
    """

    series: CineSeries
    labels: np.ndarray
    organs: tuple[str, ...]
    trajectories: dict[str, np.ndarray]
    landmarks: dict[str, np.ndarray]
    strain: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


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
    # Anatomy: pelvis placed in the field of view with a random offset and tilt. A
    # layout whose uterus/vagina or rectum comes out cut in two (a retroverted uterus
    # across the rectum, the vagina across the anal canal) is drawn again: the truth
    # would keep only the larger piece while the image still shows the rest.
    tilt = np.deg2rad(p["tilt_deg"])
    size = p["anatomy_scale"]
    slack_y = max(fov[0] - 240.0 * size, 0.0)
    slack_x = max(fov[1] - 200.0 * size, 0.0)
    step = min(sr, sc) / p["supersample"]
    margin = max(40.0, 230.0 - min(fov))  # small fields of view still hold whole organs
    for attempt in range(LAYOUT_ATTEMPTS):
        lay = layout.draw_layout(rng)
        # Opt-in wider anatomy from its own stream: the case's other draws stay the same.
        vary_key = [int(seed), 0xA7] + ([attempt] if attempt else [])
        layout.vary_layout(lay, np.random.default_rng(vary_key), p["anatomy_variation"])
        lay["hysterectomy"] = p["hysterectomy"]
        lay["pixel_mm"] = max(sr, sc)
        for key, change, salt in OPT_IN:
            if p[key]:
                change(lay, np.random.default_rng([int(seed), salt, attempt]))
        # Inferior pubic point: the perineum (and its descent) in view below, the organs above.
        origin = (55.0 * size + rng.uniform(0.25, 0.75) * slack_x,
                  fov[0] - 80.0 * size - rng.uniform(0.0, 0.6) * slack_y)
        canvas = Canvas.build(fov, step, margin, origin, tilt, size)
        painted = paint(canvas, lay, rng)
        # (A bladder is always there, but absent_bladder's speck can be cleared off the bone.)
        if all(painted.lost[ORGANS.index(o)] <= MAX_LOST for o in WHOLE_ORGANS) and (
                painted.organs[ORGANS.index("bladder")] < 0).any():
            break
    p["phantom_revision"] = PHANTOM_REVISION
    p["layout_attempts"] = attempt + 1
    p["organ_area_lost"] = [round(float(v), 4) for v in painted.lost]
    table = draw_contrast(p["contrast"], rng, p["fat_suppressed"], p["gamma"])
    if p["iso_urine"]:
        iso_urine(table, np.random.default_rng([int(seed), 0xF7]))
    soft, rigid, alpha = render.templates(painted, table, rng, step, min(sr, sc))
    if p["contrast"] == "bssfp":
        soft *= render.india_ink(painted, table, rng.uniform(0.2, 0.6)).astype(np.float32)

    # Motion.
    strain = strain_curve(times, rng, p["peak_strain"])
    bumps, channels = design_bumps(lay, canvas, rng, p["motion_strength"], p["resp_mm"],
                                   p["bowel_mm"])
    resp_period = rng.uniform(3.0, 6.0)
    resp_phase = rng.uniform(0, 2 * np.pi)
    resp = np.sin(2 * np.pi * times / resp_period + resp_phase) - np.sin(resp_phase)
    lags = rng.uniform(-0.5, 0.5, len(bumps)) * p["frame_interval_s"]
    amps = np.zeros((n_t, len(bumps)))
    for k, ch in enumerate(channels):
        if ch == "resp":
            amps[:, k] = resp
        elif ch == "bowel":  # a smooth random wander, independent of the effort
            walk = ndimage.gaussian_filter1d(rng.standard_normal(n_t), 1.5, mode="nearest")
            walk = walk - walk[0]
            amps[:, k] = walk / max(float(np.abs(walk).max()), 1e-9)
        else:  # organs follow the effort with a small individual lag
            amps[:, k] = np.interp(times - lags[k], times, strain)
    amps[0] = 0.0
    jitter = jitter_path(n_t, p["jitter_mm"], rng)
    motion = Motion(bumps, amps, jitter)
    model = PhantomModel(p, canvas, lay, np.concatenate([soft[None], painted.organs]),
                         np.stack([rigid, alpha]), motion, strain, times)
    strained = np.array([c != "resp" for c in channels])
    extent = (0.0, fov[1], 0.0, fov[0])
    scale = 1.0
    load = np.abs(motion.amps).sum(1)
    strong = np.flatnonzero(load >= 0.75 * load.max()) if load.max() > 0 else [0]
    for _ in range(12):
        if max(motion.max_gradient(int(t), extent) for t in strong) < 0.6:
            break
        scale *= 0.85
        motion.amps[:, strained] *= 0.85
    # Keep organs off the bones in every frame.
    for _ in range(10):
        hit = False
        for t in range(n_t):
            hit = hit or model.organ_under_bone(t)
        if not hit:
            break
        scale *= 0.85
        motion.amps[:, strained] *= 0.85
    p.update({
        "seed": int(seed), "motion_scale_applied": float(scale),
        "motion_strength_effective": float(p["motion_strength"] * scale),
        "resp_period_s": float(resp_period), "anatomy": _round(lay),
        "bumps": [b.to_json() for b in bumps], "bump_channels": list(channels),
        "jitter_path_mm": np.round(jitter, 6).tolist(),
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
    # Noise relative to the brightest large tissue: fat, or with fat suppression half the
    # urine (T2, bSSFP) or half the brightest level (a T1 water image, dark urine).
    if not p["fat_suppressed"]:
        ref = table[FAT]
    else:
        ref = 0.5 * (table.max() if p["contrast"] == "t1" else table[URINE])
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
    peak = float(model.strain.max())
    strain = model.strain / peak if peak > 0 else model.strain.copy()
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
