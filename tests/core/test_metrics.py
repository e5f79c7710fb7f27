"""Metrics on analytic shapes: discs, squares, empty masks, anisotropic pixels."""

import numpy as np
import pandas as pd
import pytest

from core.metrics import asd, dice, hausdorff, hd95, organ_metrics, summarize, surface_distances


def disc(shape, spacing, centre_mm, radius_mm):
    """Boolean disc on a pixel grid; centre (x, y) in mm, pixel centres at col*sx, row*sy."""
    rows, cols = np.indices(shape)
    x = cols * spacing[1]
    y = rows * spacing[0]
    return (x - centre_mm[0]) ** 2 + (y - centre_mm[1]) ** 2 <= radius_mm**2


def square(shape, top, left, side):
    m = np.zeros(shape, bool)
    m[top : top + side, left : left + side] = True
    return m


def test_identical_masks_have_dice_one_and_zero_distances():
    a = disc((64, 64), (1.0, 1.0), (30, 30), 12)
    assert dice(a, a) == 1.0
    assert hausdorff(a, a, (1.0, 1.0)) == 0.0
    assert hd95(a, a, (1.0, 1.0)) == 0.0
    assert asd(a, a, (1.0, 1.0)) == 0.0


@pytest.mark.parametrize("d", [2.0, 5.0, 8.5])
def test_discs_offset_along_x_have_hausdorff_equal_to_offset(d):
    sp = (0.25, 0.25)
    shape = (160, 200)
    a = disc(shape, sp, (20.0, 20.0), 10.0)
    b = disc(shape, sp, (20.0 + d, 20.0), 10.0)
    # Discretisation error of boundary pixels is at most about one pixel.
    assert hausdorff(a, b, sp) == pytest.approx(d, abs=sp[0])
    assert hausdorff(b, a, sp) == pytest.approx(hausdorff(a, b, sp))
    # Most boundary points move by less than d: HD95 and ASD sit below HD.
    assert 0 < asd(a, b, sp) < hd95(a, b, sp) <= hausdorff(a, b, sp) + 1e-12


def test_concentric_discs_have_all_distances_equal_to_radius_difference():
    sp = (0.2, 0.2)
    a = disc((200, 200), sp, (20, 20), 10.0)
    b = disc((200, 200), sp, (20, 20), 13.0)
    for f in (hausdorff, hd95, asd):
        assert f(a, b, sp) == pytest.approx(3.0, abs=0.3)
    # Dice of concentric discs: 2 r^2 / (r^2 + R^2).
    assert dice(a, b) == pytest.approx(2 * 100 / (100 + 169), abs=0.01)


def test_dice_of_overlapping_squares_is_analytic():
    a = square((64, 64), 10, 10, 20)
    b = square((64, 64), 13, 15, 20)  # offset 3 rows, 5 cols
    assert dice(a, b) == pytest.approx(2 * (20 - 3) * (20 - 5) / (2 * 20 * 20))
    assert dice(a, np.zeros_like(a)) == 0.0


def test_anisotropic_spacing_is_respected():
    sp = (0.7, 1.3)  # (row, col) mm
    a = square((60, 60), 20, 20, 15)
    shifted_cols = square((60, 60), 20, 23, 15)
    shifted_rows = square((60, 60), 23, 20, 15)
    assert hausdorff(a, shifted_cols, sp) == pytest.approx(3 * 1.3)
    assert hausdorff(a, shifted_rows, sp) == pytest.approx(3 * 0.7)
    # A single number means isotropic spacing.
    assert hausdorff(a, shifted_rows, 2.0) == pytest.approx(6.0)


def test_discs_in_mm_on_anisotropic_grid():
    sp = (0.2, 0.3)
    shape = (200, 140)
    a = disc(shape, sp, (20.0, 20.0), 9.0)
    b = disc(shape, sp, (20.0, 24.0), 9.0)  # 4 mm along y
    c = disc(shape, sp, (24.0, 20.0), 9.0)  # 4 mm along x
    assert hausdorff(a, b, sp) == pytest.approx(4.0, abs=0.3)
    assert hausdorff(a, c, sp) == pytest.approx(4.0, abs=0.3)


def test_empty_mask_conventions():
    empty = np.zeros((20, 20), bool)
    full = square((20, 20), 5, 5, 6)
    assert dice(empty, empty) == 1.0
    assert hausdorff(empty, empty, 1.0) == 0.0
    assert hd95(empty, empty, 1.0) == 0.0
    assert asd(empty, empty, 1.0) == 0.0
    assert dice(full, empty) == 0.0
    for f in (hausdorff, hd95, asd):
        assert np.isnan(f(full, empty, 1.0))
        assert np.isnan(f(empty, full, 1.0))
    d_ab, d_ba = surface_distances(full, empty, 1.0)
    assert d_ab.size == 20 and np.all(np.isnan(d_ab)) and d_ba.size == 0


def test_mask_touching_the_image_edge_has_a_surface_there():
    a = np.zeros((10, 10), bool)
    a[:, :4] = True  # touches top, bottom and left edges
    b = np.zeros((10, 10), bool)
    b[:, :6] = True
    assert hausdorff(a, b, 1.0) == pytest.approx(2.0)


def test_input_validation_messages():
    with pytest.raises(ValueError, match=r"expected two \(H,W\) masks, got shapes \(3, 4, 5\)"):
        dice(np.zeros((3, 4, 5)), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="differ in shape"):
        dice(np.zeros((4, 5)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="spacing_mm must be two positive"):
        hausdorff(np.ones((4, 4)), np.ones((4, 4)), (1.0, -1.0))


def test_organ_metrics_table_and_summary():
    t, h, w = 3, 40, 40
    true = np.zeros((t, h, w), np.uint8)
    pred = np.zeros((t, h, w), np.uint8)
    for f in range(t):
        true[f][square((h, w), 5, 5, 10)] = 1
        pred[f][square((h, w), 5, 5 + f, 10)] = 1  # shifted by f columns
        true[f][square((h, w), 22, 22, 8)] = 2
    pred[0][square((h, w), 22, 22, 8)] = 2  # organ 2 only predicted in frame 0
    df = organ_metrics(pred, true, ("bladder", "rectum"), (1.0, 0.5))
    assert list(df.columns) == ["organ", "frame", "dsc", "hd_mm", "hd95_mm", "asd_mm"]
    assert len(df) == 2 * t
    bl = df[df.organ == "bladder"].set_index("frame")
    np.testing.assert_allclose(bl.hd_mm, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(bl.dsc, [1.0, 0.9, 0.8])
    re = df[df.organ == "rectum"].set_index("frame")
    np.testing.assert_allclose(re.dsc, [1.0, 0.0, 0.0])
    assert re.hd_mm.iloc[0] == 0.0 and re.hd_mm.iloc[1:].isna().all()

    s = summarize(df).set_index("organ")
    assert list(s.index) == ["bladder", "rectum"]
    assert s.loc["bladder", "n_frames"] == 3 and s.loc["bladder", "n_undefined"] == 0
    assert s.loc["bladder", "dsc_mean"] == pytest.approx(0.9)
    assert s.loc["bladder", "dsc_sd"] == pytest.approx(0.1)
    assert s.loc["bladder", "hd_mm_mean"] == pytest.approx(0.5)
    assert s.loc["rectum", "n_undefined"] == 2
    assert s.loc["rectum", "dsc_mean"] == pytest.approx(1 / 3)
    assert s.loc["rectum", "hd_mm_mean"] == 0.0  # NaN frames skipped, but counted above
    assert np.isnan(s.loc["rectum", "hd_mm_sd"])


def test_organ_metrics_validation():
    with pytest.raises(ValueError, match="differ in shape"):
        organ_metrics(np.zeros((2, 4, 4), int), np.zeros((2, 4, 5), int), ("a",), 1.0)
    with pytest.raises(ValueError, match="integer label array"):
        organ_metrics(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)), ("a",), 1.0)
    with pytest.raises(ValueError, match="'organ' column"):
        summarize(pd.DataFrame({"x": [1]}))


def test_matches_brute_force_surface_distances_on_random_blobs():
    from scipy import ndimage
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(7)
    sp = (0.8, 1.7)
    for _ in range(5):
        a = ndimage.binary_opening(rng.random((30, 40)) < 0.55, iterations=2)
        b = ndimage.binary_opening(rng.random((30, 40)) < 0.55, iterations=2)
        if not a.any() or not b.any():
            continue
        sa = a & ~ndimage.binary_erosion(a, border_value=0)
        sb = b & ~ndimage.binary_erosion(b, border_value=0)
        pa = np.argwhere(sa) * sp
        pb = np.argwhere(sb) * sp
        d = cdist(pa, pb)
        d_ab, d_ba = d.min(axis=1), d.min(axis=0)
        assert hausdorff(a, b, sp) == pytest.approx(max(d_ab.max(), d_ba.max()))
        assert hd95(a, b, sp) == pytest.approx(
            max(np.percentile(d_ab, 95), np.percentile(d_ba, 95))
        )
        assert asd(a, b, sp) == pytest.approx(np.concatenate([d_ab, d_ba]).mean())
        row = organ_metrics(a[None].astype(np.uint8), b[None].astype(np.uint8), ("x",), sp)
        assert row.hd_mm.iloc[0] == pytest.approx(hausdorff(a, b, sp))
        assert row.asd_mm.iloc[0] == pytest.approx(asd(a, b, sp))
