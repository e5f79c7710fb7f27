"""Randomized acquisition and motion parameters of one phantom case.

Every value can be fixed by a keyword override of
:func:`core.phantom.generate_case`; :data:`RANGES` documents the random ranges.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from core.phantom.tissues import CONTRASTS

#: Documented random ranges (also used by tests).
RANGES: dict[str, Any] = {
    "matrix": (192, 320),
    "spacing_mm": (1.0, 1.6),
    "n_frames": (15, 40),
    "frame_interval_s": (0.8, 2.0),
    "snr": (5.0, 60.0),
    "bias_strength": (0.0, 0.9),
    "motion_strength": (0.05, 1.0),
    "jitter_mm": (0.0, 1.5),
    "flicker": (0.0, 0.04),
    "tilt_deg": (-12.0, 12.0),
}

#: Smallest field of view (mm) drawn when the spacing is not fixed by an override.
MIN_FOV_MM = 240.0

OVERRIDABLE = (
    "shape", "spacing_mm", "n_frames", "frame_interval_s", "contrast", "snr", "noise",
    "bias_strength", "motion_strength", "jitter_mm", "flicker", "tilt_deg", "peak_strain",
    "ghosting", "banding", "intensity_scale", "supersample", "n_points", "resp_mm", "psf_px",
    "anatomy_scale", "fat_suppressed", "gamma", "wrap_mm", "bowel_mm", "anatomy_variation",
    "hysterectomy", "empty_bladder", "fibroid_uterus", "neck_funnel", "sigmoid_colon",
    "large_uterus", "absent_bladder", "iso_urine",
)


def parse_overrides(items: list[str], flag: str = "--phantom-option") -> dict[str, Any]:
    """Overrides from ``KEY=VALUE`` strings (a command line's ``flag``): each value read
    as JSON (``true``, ``1.5``, ``[64,64]``), else kept as a string (``contrast=t1``).

    Raises:
        ValueError: an item without ``=``, naming ``flag``.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag} needs KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _matrix(rng: np.random.Generator) -> tuple[int, int]:
    lo, hi = RANGES["matrix"]
    h = int(rng.integers(lo // 8, hi // 8 + 1)) * 8
    if rng.random() < 0.5:
        return h, h
    w = int(np.clip(h + 8 * rng.integers(-6, 7), lo, hi))
    return h, w


def sample_params(rng: np.random.Generator, overrides: dict[str, Any]) -> dict[str, Any]:
    """Draw the case parameters, then apply and validate the overrides.

    Args:
        rng: the case's random generator.
        overrides: keyword overrides (names in :data:`OVERRIDABLE`).

    Returns:
        A JSON-able dict with ``shape`` [H, W], ``spacing_mm`` [row, col], ...

    Raises:
        ValueError: an unknown override or a value out of its domain.
    """
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(f"unknown phantom override(s) {unknown}; known: {OVERRIDABLE}")
    u = rng.uniform
    sp = u(*RANGES["spacing_mm"])
    aniso = 1.0 if rng.random() < 0.7 else u(0.9, 1.1)
    p: dict[str, Any] = {
        "shape": list(_matrix(rng)),
        "spacing_mm": [sp, float(np.clip(sp * aniso, *RANGES["spacing_mm"]))],
        "n_frames": int(rng.integers(RANGES["n_frames"][0], RANGES["n_frames"][1] + 1)),
        "frame_interval_s": u(*RANGES["frame_interval_s"]),
        "contrast": "t2" if rng.random() < 0.6 else "bssfp",
        "snr": float(np.exp(u(np.log(RANGES["snr"][0]), np.log(RANGES["snr"][1])))),
        "bias_strength": u(0.0, 0.3) if rng.random() < 0.6 else u(0.3, 0.9),
        "motion_strength": u(0.05, 0.25) if rng.random() < 0.15 else u(0.3, 1.0),
        "jitter_mm": u(*RANGES["jitter_mm"]),
        "flicker": u(*RANGES["flicker"]),
        "tilt_deg": u(*RANGES["tilt_deg"]),
        "peak_strain": u(0.6, 1.0),
        "resp_mm": u(0.5, 5.0),
        "bowel_mm": u(0.0, 7.0),
        "intensity_scale": float(np.exp(u(np.log(200), np.log(3000)))),
        "supersample": 2.0,
        "psf_px": [u(0.0, 0.5), u(0.2, 1.1)],
        "anatomy_scale": u(0.85, 1.15),
        "fat_suppressed": bool(rng.random() < 0.1),
        "gamma": u(0.8, 1.25),
        "n_points": 128,
        "anatomy_variation": 0.0,  # not drawn: an opt-in (see layout.vary_layout)
        "hysterectomy": False,  # not drawn: an opt-in (paint: the vagina alone, to its vault)
        "empty_bladder": False,  # not drawn: an opt-in (opt_in.empty_bladder)
        "fibroid_uterus": False,  # not drawn: an opt-in (opt_in.fibroid_uterus)
        "neck_funnel": False,  # not drawn: an opt-in (opt_in.neck_funnel)
        "sigmoid_colon": False,  # not drawn: an opt-in (opt_in.sigmoid_colon)
        "large_uterus": False,  # not drawn: an opt-in (opt_in.large_uterus)
        "absent_bladder": False,  # not drawn: an opt-in (opt_in.absent_bladder)
        "iso_urine": False,  # not drawn: an opt-in (tissues.iso_urine)
    }
    p["ghosting"] = u(0.02, 0.12) if rng.random() < 0.2 else 0.0
    p["wrap_mm"] = u(8.0, 35.0) if rng.random() < 0.15 else 0.0
    p["banding"] = u(0.4, 0.95) if (p["contrast"] == "bssfp" and rng.random() < 0.5) else 0.0
    ov = dict(overrides)
    if "noise" in ov:  # alias: noise = 1 / snr
        noise = float(ov.pop("noise"))
        ov["snr"] = float("inf") if noise <= 0 else 1.0 / noise
    p.update(ov)
    p = _validate(p)
    if "spacing_mm" not in ov:
        # Field of view >= MIN_FOV_MM so that the whole pelvis fits (small matrices, as
        # in tests, get pixels larger than the usual range).
        hi = RANGES["spacing_mm"][1]
        sr, sc = p["spacing_mm"]
        ratio = sc / sr
        need = max(MIN_FOV_MM / p["shape"][0], MIN_FOV_MM / (p["shape"][1] * ratio))
        if sr < need:
            top = hi / max(1.0, ratio)
            sr = u(need, top) if need < top else need
            p["spacing_mm"] = [sr, sr * ratio]
    return p


def _validate(p: dict[str, Any]) -> dict[str, Any]:
    shape = np.asarray(p["shape"], dtype=int).ravel()
    if shape.size != 2 or shape.min() < 32:
        raise ValueError(f"shape must be (H, W) with H, W >= 32, got {p['shape']}")
    p["shape"] = [int(shape[0]), int(shape[1])]
    sp = np.asarray(p["spacing_mm"], dtype=float).ravel()
    if sp.size == 1:
        sp = np.array([sp[0], sp[0]])
    if sp.size != 2 or not np.all(sp > 0):
        raise ValueError(f"spacing_mm must be one or two positive numbers, got {p['spacing_mm']}")
    p["spacing_mm"] = [float(sp[0]), float(sp[1])]
    if int(p["n_frames"]) < 2:
        raise ValueError(f"n_frames must be >= 2, got {p['n_frames']}")
    p["n_frames"] = int(p["n_frames"])
    if float(p["frame_interval_s"]) <= 0:
        raise ValueError(f"frame_interval_s must be > 0, got {p['frame_interval_s']}")
    if p["contrast"] not in CONTRASTS:
        raise ValueError(f"contrast must be one of {CONTRASTS}, got {p['contrast']!r}")
    if not float(p["snr"]) > 0:
        raise ValueError(f"snr must be > 0 (inf for no noise), got {p['snr']}")
    for key in ("bias_strength", "motion_strength", "jitter_mm", "flicker", "ghosting",
                "banding", "resp_mm", "wrap_mm", "bowel_mm", "anatomy_variation"):
        if float(p[key]) < 0:
            raise ValueError(f"{key} must be >= 0, got {p[key]}")
        p[key] = float(p[key])
    if not 0 <= float(p["peak_strain"]) <= 1:
        raise ValueError(f"peak_strain must be in [0, 1], got {p['peak_strain']}")
    if float(p["supersample"]) < 1:
        raise ValueError(f"supersample must be >= 1, got {p['supersample']}")
    psf = np.asarray(p["psf_px"], dtype=float).ravel()
    if psf.size == 1:
        psf = np.array([psf[0], psf[0]])
    if psf.size != 2 or np.any(psf < 0):
        raise ValueError(f"psf_px must be one or two numbers >= 0, got {p['psf_px']}")
    p["psf_px"] = [float(psf[0]), float(psf[1])]
    if int(p["n_points"]) < 8:
        raise ValueError(f"n_points must be >= 8, got {p['n_points']}")
    p["n_points"] = int(p["n_points"])
    for key in ("anatomy_scale", "gamma"):
        if not float(p[key]) > 0:
            raise ValueError(f"{key} must be > 0, got {p[key]}")
    for key in ("fat_suppressed", "hysterectomy", "empty_bladder", "fibroid_uterus",
                "neck_funnel", "sigmoid_colon", "large_uterus", "absent_bladder",
                "iso_urine"):
        p[key] = bool(p[key])
    for key in ("frame_interval_s", "snr", "tilt_deg", "peak_strain", "intensity_scale",
                "supersample", "anatomy_scale", "gamma"):
        p[key] = float(p[key])
    return p
