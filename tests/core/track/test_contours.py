"""Sub-pixel contours from masks: area, orientation, mm coordinates, edge cases."""

import numpy as np
import pytest

from core.track.contours import (
    arc_lengths,
    mask_contour,
    perimeter,
    project_to_contour,
    resample_closed,
    signed_area,
)


def disc(shape, centre_rc, r_px):
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]]
    return (rr - centre_rc[0]) ** 2 + (cc - centre_rc[1]) ** 2 <= r_px**2


def test_disc_contour_area_perimeter_orientation_and_position():
    m = disc((80, 90), (30, 50), 15)
    c = mask_contour(m, (1.5, 0.8))
    assert c.ndim == 2 and c.shape[1] == 2
    assert signed_area(c) > 0  # positive shoelace area convention
    assert not np.allclose(c[0], c[-1])  # first point not repeated
    # ellipse in mm: semi-axes 15*0.8 (x) and 15*1.5 (y)
    assert signed_area(c) == pytest.approx(np.pi * 12 * 22.5, rel=0.03)
    centroid = c.mean(axis=0)
    assert centroid == pytest.approx((50 * 0.8, 30 * 1.5), abs=0.3)
    assert c[:, 1].max() == pytest.approx((30 + 15) * 1.5, abs=1.0)


def test_empty_mask_gives_none_and_largest_component_wins():
    assert mask_contour(np.zeros((20, 20), bool), (1, 1)) is None
    m = disc((60, 60), (15, 15), 8) | disc((60, 60), (45, 45), 4)
    c = mask_contour(m, (1, 1))
    assert c.mean(axis=0) == pytest.approx((15, 15), abs=0.3)


def test_mask_touching_the_border_is_closed():
    m = np.zeros((20, 20), bool)
    m[:8, :8] = True
    c = mask_contour(m, (1, 1))
    assert signed_area(c) == pytest.approx(8 * 8, rel=0.15)


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(H,W\)"):
        mask_contour(np.zeros((2, 3, 4)), (1, 1))
    with pytest.raises(ValueError, match="spacing"):
        mask_contour(np.zeros((4, 4)), (0, 1))


def test_resample_even_spacing_and_start():
    t = np.linspace(0, 2 * np.pi, 300, endpoint=False) ** 1.0
    c = np.column_stack([10 * np.cos(t), 10 * np.sin(t)])
    p = resample_closed(c, 40, start=np.array([0.0, -10.0]))
    seg = np.linalg.norm(np.roll(p, -1, 0) - p, axis=1)
    np.testing.assert_allclose(seg, seg.mean(), rtol=1e-3)
    assert p[0] == pytest.approx((0, -10), abs=0.05)
    assert perimeter(p) == pytest.approx(2 * np.pi * 10, rel=0.01)


def test_project_to_contour():
    sq = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)
    pts, s = project_to_contour(sq, np.array([[2.0, -1.0], [5.0, 3.0], [1.0, 3.5]]))
    np.testing.assert_allclose(pts, [[2, 0], [4, 3], [1, 4]])
    np.testing.assert_allclose(s, [2, 7, 11])
    assert arc_lengths(sq)[1] == 16
