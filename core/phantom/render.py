"""Image formation: tissue signals, texture, partial volume, bias, artefacts, noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from core.phantom import tissues as T
from core.phantom.paint import Painted
from core.phantom.shapes import smooth_noise


def templates(painted: Painted, table: np.ndarray, rng: np.random.Generator,
              step_mm: float, pixel_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-frame signal of soft tissue and of the rigid layer on the fine grid.

    The tissue maps get their signal levels and a smooth multiplicative texture,
    then a Gaussian blur of about one output pixel (partial volume).

    Args:
        painted: tissue maps from :func:`core.phantom.paint.paint`.
        table: (N_TISSUES,) signal per tissue.
        rng: random generator (texture).
        step_mm: fine grid step (mm).
        pixel_mm: output pixel size (mm).

    Returns:
        (soft signal, rigid signal premultiplied by its coverage, rigid coverage),
        each float32 on the fine grid.
    """
    shape = painted.soft.shape
    fine = smooth_noise(shape, rng.uniform(1.5, 3.0) / step_mm, rng)
    coarse = smooth_noise(shape, rng.uniform(6.0, 15.0) / step_mm, rng)
    mix = rng.uniform(0.3, 0.7)
    tex = mix * fine + (1 - mix) * coarse
    amp = T.TEXTURE * rng.uniform(0.5, 1.6)
    sigma = 0.42 * pixel_mm / step_mm
    soft = table[painted.soft] * (1.0 + amp[painted.soft] * tex)
    np.clip(soft, 0.0, None, out=soft)
    rigid_tex = smooth_noise(shape, 2.0 / step_mm, rng)
    rigid = table[painted.rigid] * (1.0 + amp[painted.rigid] * rigid_tex)
    alpha = (painted.rigid > 0).astype(np.float64)
    rigid = rigid * alpha
    out = [ndimage.gaussian_filter(a, sigma).astype(np.float32) for a in (soft, rigid, alpha)]
    return out[0], out[1], out[2]


def india_ink(painted: Painted, table: np.ndarray, depth: float) -> np.ndarray:
    """bSSFP-like dark lines at fat–water boundaries: a factor per fine pixel."""
    fat = painted.soft == T.FAT
    water = np.isin(painted.soft, [T.URINE, T.FLUID, T.MUSCLE, T.BOWEL_WALL, T.MYOMETRIUM,
                                   T.RECT_WALL, T.BLADDER_WALL, T.VAG_WALL])
    edge = fat & ndimage.binary_dilation(water, iterations=1)
    factor = np.ones(fat.shape)
    factor[edge] = 1.0 - depth
    return factor


def bias_field(shape: tuple[int, int], strength: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth multiplicative bias (H, W): random low-frequency field + surface-coil profile."""
    h, w = shape
    field = smooth_noise(shape, max(h, w) / rng.uniform(2.0, 4.0), rng)
    x = np.linspace(0.0, 1.0, w)[None, :]
    y = np.linspace(0.0, 1.0, h)[:, None]
    ell = rng.uniform(0.15, 0.5)
    coil = np.exp(-x / ell) * rng.uniform(0.3, 1) + np.exp(-(1 - x) / ell) * rng.uniform(0.3, 1)
    coil = coil * (1 + rng.uniform(-0.5, 0.5) * (y - 0.5))
    coil = (coil - coil.mean()) / (coil.std() + 1e-9)
    mix = rng.uniform(0.2, 0.8)
    log_b = strength * (mix * field + (1 - mix) * coil) * 0.6
    return np.exp(log_b - log_b.mean())


def banding(shape: tuple[int, int], depth: float, rng: np.random.Generator) -> np.ndarray:
    """bSSFP off-resonance banding: dark bands where the off-resonance phase is ±π."""
    h, w = shape
    phase = smooth_noise(shape, max(h, w) / rng.uniform(1.5, 3.0), rng) * rng.uniform(0.5, 1.5)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    ang = rng.uniform(0, 2 * np.pi)
    phase = phase + rng.uniform(0.5, 2.5) * (np.cos(ang) * xx + np.sin(ang) * yy)
    phase = np.pi * phase + rng.uniform(0, 2 * np.pi)
    dist = np.abs(np.mod(phase, 2 * np.pi) - np.pi)
    width = rng.uniform(0.15, 0.45)
    return 1.0 - depth * np.exp(-((dist / width) ** 2))


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Rician noise: magnitude of the signal plus complex Gaussian noise of std ``sigma``."""
    if not np.isfinite(sigma) or sigma <= 0:
        return img
    noise = rng.standard_normal((2,) + img.shape, dtype=np.float32) * np.float32(sigma)
    return np.hypot(img + noise[0], noise[1])


def ghost(img: np.ndarray, amount: float, axis: int, shift: int) -> np.ndarray:
    """Add a faint copy shifted along the phase-encoding axis (motion ghost)."""
    if amount <= 0:
        return img
    return img + amount * np.roll(img, shift, axis=axis)
