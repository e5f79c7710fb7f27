"""Fixtures of the segmentation tests: tiny synthetic cine cases (ellipses in noise)."""

from __future__ import annotations

import numpy as np
import pytest

from core.series import CineSeries


def ellipse_case(seed: int = 0, t: int = 3, shape: tuple[int, int] = (48, 48),
                 spacing: tuple[float, float] = (1.25, 1.25)) -> tuple[CineSeries, np.ndarray]:
    """Three ellipses (labels 1..3) on a noisy background, moving slightly over time."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    labels = np.zeros((t, h, w), np.uint8)
    frames = np.zeros((t, h, w), np.float32)
    centres = [(0.3, 0.3), (0.35, 0.7), (0.72, 0.5)]
    for k in range(t):
        for c, (cy, cx) in enumerate(centres, start=1):
            ry, rx = h * rng.uniform(0.09, 0.14), w * rng.uniform(0.09, 0.14)
            m = ((yy - cy * h - k) / ry) ** 2 + ((xx - cx * w) / rx) ** 2 <= 1
            labels[k][m] = c
        frames[k] = 0.2 + 0.25 * labels[k] + rng.normal(0, 0.03, (h, w))
    series = CineSeries(frames, spacing, np.arange(t, dtype=float), {"subject_id": f"ell-{seed}"})
    return series, labels


@pytest.fixture
def tiny_case() -> tuple[CineSeries, np.ndarray]:
    return ellipse_case(0)


@pytest.fixture
def make_case():
    """The :func:`ellipse_case` generator itself."""
    return ellipse_case
