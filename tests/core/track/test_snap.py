"""Snapping helpers: order kept, no bunching, small inversions repaired locally."""

import numpy as np

from core.track.contours import project_to_contour
from core.track.snap import regularize_spacing, smooth_in_time

R = 10.0
T = np.linspace(0, 2 * np.pi, 400, endpoint=False)
CIRCLE = np.column_stack([R * np.cos(T), R * np.sin(T)])
L = 2 * np.pi * R


def gaps_of(points):
    _, s = project_to_contour(CIRCLE, points)
    return np.mod(np.diff(np.r_[s, s[0]]), L)


def test_even_input_is_kept():
    s = np.arange(16) * L / 16 + 1.0
    p = regularize_spacing(CIRCLE, s)
    np.testing.assert_allclose(project_to_contour(CIRCLE, p)[1], s, atol=0.05)


def test_small_inversion_is_repaired_locally():
    s = np.arange(16) * L / 16
    s[5] = s[4] - 0.3  # snapped just behind its predecessor
    g = gaps_of(regularize_spacing(CIRCLE, s))
    assert abs(g.sum() - L) < 1e-6  # one turn: order kept
    assert g.min() >= 0.25 * L / 16  # no bunching (0.3 L/N, then rescaled to L)
    # far from the inversion the points stay where they were (same spacing)
    np.testing.assert_allclose(g[8:14], L / 16, rtol=0.2)


def test_bunched_points_are_spread():
    s = np.r_[np.zeros(4), np.arange(1, 13) * L / 13]
    g = gaps_of(regularize_spacing(CIRCLE, s))
    assert g.min() >= 0.25 * L / 16
    assert abs(g.sum() - L) < 1e-6


def test_smooth_in_time_keeps_rest_and_linear_motion():
    t = np.arange(9, dtype=float)
    paths = np.zeros((9, 3, 2))
    paths[..., 1] = t[:, None] * 2.0  # linear descent: Savitzky–Golay keeps it
    paths[4, 0, 0] = 5.0  # a spike
    out = smooth_in_time(paths, np.ones(9, bool), rest_frame=0)
    np.testing.assert_allclose(out[..., 1], paths[..., 1], atol=1e-9)
    assert out[4, 0, 0] < 5.0
    np.testing.assert_array_equal(out[0], paths[0])


def test_a_point_snapped_across_a_thin_part_does_not_drag_the_others():
    # Point 5 landed on the opposite wall, half the contour away from its neighbours.
    s = np.arange(32) * L / 32 + 0.4
    s[5] = s[5] + L / 2
    p = regularize_spacing(CIRCLE, s)
    got = project_to_contour(CIRCLE, p)[1]
    expect = np.arange(32) * L / 32 + 0.4
    err = np.abs((got - expect + L / 2) % L - L / 2)
    assert err.max() < 0.05 * L / 32  # everyone, point 5 included, stays in place


def test_repair_jumps_leaves_smooth_stretching_alone():
    from core.track.snap import repair_jumps

    i = np.arange(64)
    s = (i * L / 64 + 0.08 * L * np.sin(2 * np.pi * i / 64)) % L  # uneven but smooth
    np.testing.assert_array_equal(repair_jumps(s, L), s)
    t = s.copy()
    t[[10, 11]] = (t[[10, 11]] + 0.45 * L) % L  # two neighbours jump together
    fixed = repair_jumps(t, L)
    assert np.abs((fixed - s + L / 2) % L - L / 2).max() < 0.02 * L
