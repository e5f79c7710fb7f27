"""Brush strokes of the label editor (core.edit)."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit import MAX_RADIUS_MM, paint, stroke_mask


def test_dab_is_a_disc_in_mm_with_anisotropic_pixels():
    # 0.5 mm rows, 1 mm columns: a 5 mm disc spans ±10 rows and ±5 columns
    m = stroke_mask((60, 40), (0.5, 1.0), [(30, 20)], 5.0)
    rows, cols = np.nonzero(m)
    assert rows.min() == 20 and rows.max() == 40
    assert cols.min() == 15 and cols.max() == 25
    area_mm2 = m.sum() * 0.5 * 1.0
    assert area_mm2 == pytest.approx(np.pi * 25, rel=0.06)
    # every painted pixel centre lies within the radius, and only those
    rr, cc = np.mgrid[0:60, 0:40]
    d = np.hypot((rr - 30) * 0.5, (cc - 20) * 1.0)
    assert np.array_equal(m, d <= 5.0)


def test_stroke_is_a_capsule_along_the_path():
    m = stroke_mask((50, 80), (1.0, 1.0), [(25, 10), (25, 70)], 3.0)
    rr, cc = np.mgrid[0:50, 0:80]
    # distance to the segment from (25,10) to (25,70)
    d = np.where(cc < 10, np.hypot(rr - 25, cc - 10),
                 np.where(cc > 70, np.hypot(rr - 25, cc - 70), np.abs(rr - 25)))
    assert np.array_equal(m, d <= 3.0)
    # a fast drag leaves no gaps between pointer positions
    assert m[25, 10:71].all()


def test_brush_smaller_than_a_pixel_still_paints_the_pixel_under_it():
    m = stroke_mask((10, 10), (1.2, 1.2), [(3.2, 6.7)], 0.5)
    assert m.sum() == 1 and m[3, 7]


def test_positions_off_the_frame_paint_only_what_lies_on_it():
    m = stroke_mask((20, 20), (1.0, 1.0), [(-2, -2)], 4.0)
    assert m[0, 0] and m.sum() > 0
    assert not m[5:, :].any()
    assert not stroke_mask((20, 20), (1.0, 1.0), [(100, 100)], 2.0).any()


@pytest.mark.parametrize("kwargs, match", [
    ({"radius_mm": 0.0}, "radius"),
    ({"radius_mm": MAX_RADIUS_MM * 2}, "radius"),
    ({"radius_mm": float("nan")}, "radius"),
    ({"spacing_mm": (0.0, 1.0)}, "spacing"),
    ({"points_rc": []}, "position"),
    ({"points_rc": [(1.0, float("inf"))]}, "position"),
])
def test_bad_strokes_are_refused(kwargs, match):
    args = {"shape": (10, 10), "spacing_mm": (1.0, 1.0), "points_rc": [(5, 5)],
            "radius_mm": 2.0} | kwargs
    with pytest.raises(ValueError, match=match):
        stroke_mask(**args)


def test_paint_overwrites_and_erase_removes_only_the_chosen_organ():
    lab = np.zeros((6, 6), np.uint8)
    lab[:, :3] = 1
    lab[:, 3:] = 2
    mask = np.zeros((6, 6), bool)
    mask[2:4, 1:5] = True
    painted = paint(lab, mask, 3)
    assert (painted[2:4, 1:5] == 3).all() and painted.sum() == lab.sum() + 4 * 2 + 4 * 1
    assert lab[2, 1] == 1  # the input is not changed
    erased = paint(lab, mask, 0, only=1)
    assert (erased[2:4, 1:3] == 0).all() and (erased[2:4, 3:5] == 2).all()
    assert painted.dtype == np.uint8


def test_paint_refuses_mismatched_shapes_and_values():
    with pytest.raises(ValueError, match="shape"):
        paint(np.zeros((4, 4)), np.zeros((4, 5), bool), 1)
    with pytest.raises(ValueError, match="0..255"):
        paint(np.zeros((4, 4)), np.zeros((4, 4), bool), 300)


def test_copy_organ_replaces_one_organ_and_leaves_the_others():
    from core.edit import copy_organ

    src = np.zeros((6, 6), np.uint8)
    src[1:3, 1:3] = 1
    src[4:, 4:] = 2
    dst = np.zeros((6, 6), np.uint8)
    dst[3:5, 0:2] = 1          # the organ drawn elsewhere
    dst[0:2, 0:2] = 2          # a neighbour overlapping where the organ goes
    out = copy_organ(src, dst, 1)
    assert np.array_equal(out == 1, src == 1)
    assert out[0, 0] == 2 and out[1, 1] == 1   # the copied organ wins where they meet
    assert not (out[4:, 4:] == 2).any()        # the source's other organs are not copied
    assert dst[3, 0] == 1                      # the input is not changed
    with pytest.raises(ValueError, match="1..255"):
        copy_organ(src, dst, 0)
    with pytest.raises(ValueError, match="shape"):
        copy_organ(src, dst[:5], 1)


def test_fill_organ_fills_an_outline_and_leaves_open_shapes():
    from core.edit import fill_organ

    lab = np.zeros((12, 12), np.uint8)
    ring = stroke_mask((12, 12), (1.0, 1.0), [(2, 2), (2, 9), (9, 9), (9, 2), (2, 2)], 0.5)
    lab[ring] = 2
    lab[5, 5] = 1                       # another organ inside the outline
    out = fill_organ(lab, 2)
    assert (out[2:10, 2:10] == 2).all() and out[0, 0] == 0 and out[11, 11] == 0
    assert lab[5, 5] == 1               # the input is not changed
    open_shape = lab.copy()
    open_shape[2, 5] = 0                # a gap in the outline: nothing enclosed
    assert (fill_organ(open_shape, 2)[4:8, 4:8] != 2).any()
    assert np.array_equal(fill_organ(np.zeros((4, 4)), 3), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="1..255"):
        fill_organ(lab, 0)
    with pytest.raises(ValueError, match="one"):
        fill_organ(np.zeros((2, 4, 4)), 1)
