"""Indices from analytic shapes: circles, ellipses, dents, translations, scalings."""

import numpy as np
import pytest

from core.indices import (
    FRAME_COLUMNS,
    POINT_COLUMNS,
    curvature,
    displacement,
    frame_table,
    outward_normals,
    point_table,
    shape_summary,
)
from core.series import CineSeries
from core.track.tracks import Tracks


def circle(r, n, centre=(0.0, 0.0), phase=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    return np.column_stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)])


@pytest.mark.parametrize("r", [4.0, 10.0, 35.0])
@pytest.mark.parametrize("n", [24, 128, 700])
def test_circle_curvature_is_one_over_r(r, n):
    k = curvature(circle(r, n), scale_mm=3.0)
    assert k.shape == (n,)
    np.testing.assert_allclose(k, 1.0 / r, rtol=0.02)


def test_circle_curvature_with_uneven_spacing():
    t = np.sort(np.random.default_rng(1).uniform(0, 2 * np.pi, 200))
    p = np.column_stack([15 * np.cos(t), 15 * np.sin(t)])
    np.testing.assert_allclose(curvature(p, 3.0), 1 / 15, rtol=0.02)


def test_ellipse_vertex_curvature():
    a, b = 40.0, 25.0
    p = circle(1.0, 400) * np.array([a, b])
    k = curvature(p, scale_mm=0.5)
    assert k[0] == pytest.approx(a / b**2, rel=0.02)  # end of the major axis
    assert k[100] == pytest.approx(b / a**2, rel=0.02)  # end of the minor axis
    assert k[200] == pytest.approx(a / b**2, rel=0.02)


def test_sign_convex_positive_dent_negative_and_orientation_free():
    th = np.linspace(-np.pi, np.pi, 400, endpoint=False)
    r = 20 - 4 * np.exp(-th**2 / (2 * 0.15**2))
    p = np.column_stack([r * np.cos(th), r * np.sin(th)])
    k = curvature(p, 1.0)
    assert k[200] < -0.1  # inside the dent (θ = 0)
    assert k[0] == pytest.approx(1 / 20, rel=0.02)  # opposite side, round
    k_rev = curvature(p[::-1], 1.0)[::-1]
    np.testing.assert_allclose(k_rev, k, rtol=1e-6, atol=1e-9)


def test_curvature_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(N,2\)"):
        curvature(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        curvature(np.full((5, 2), np.nan))


def test_outward_normals_of_circle():
    p = circle(10, 64)
    np.testing.assert_allclose(outward_normals(p), p / 10, atol=1e-3)


def test_translation_displacement_equals_translation():
    rest = circle(10, 64, centre=(50, 60))
    shift = np.array([3.0, -4.0])
    d = displacement(np.stack([rest, rest + shift]), rest)
    np.testing.assert_allclose(d["vector"][1], np.broadcast_to(shift, (64, 2)), atol=1e-12)
    np.testing.assert_allclose(d["magnitude"][1], 5.0, atol=1e-12)
    np.testing.assert_allclose(d["magnitude"][0], 0.0, atol=1e-12)


def test_scaled_circle_normal_displacement_is_radius_change():
    rest = circle(10, 64, centre=(50, 60))
    grown = (rest - [50, 60]) * 1.3 + [50, 60]
    shrunk = (rest - [50, 60]) * 0.8 + [50, 60]
    d = displacement(np.stack([grown, shrunk]), rest)
    np.testing.assert_allclose(d["normal"][0], 3.0, atol=1e-3)
    np.testing.assert_allclose(d["normal"][1], -2.0, atol=1e-3)


def test_shape_summary_of_square():
    sq = np.array([[0, 0], [4, 0], [4, 3], [0, 3]], float)
    s = shape_summary(sq)
    assert s["area_mm2"] == pytest.approx(12)
    assert s["perimeter_mm"] == pytest.approx(14)
    assert (s["centroid_x_mm"], s["centroid_y_mm"]) == pytest.approx((2, 1.5))
    assert s["lowest_y_mm"] == 3


def _moving_disc_case(descent_px=(0, 3, 6, 3), spacing=(1.5, 1.0), drop_frame=None):
    t_n, h, w = len(descent_px), 64, 64
    rr, cc = np.mgrid[0:h, 0:w]
    labels = np.zeros((t_n, h, w), np.uint8)
    pts = np.zeros((t_n, 32, 2))
    for t, d in enumerate(descent_px):
        labels[t][((rr - 20 - d) * spacing[0]) ** 2 + ((cc - 30) * spacing[1]) ** 2 <= 12**2] = 1
        pts[t] = circle(12, 32, centre=(30 * spacing[1], (20 + d) * spacing[0]))
    valid = np.ones((t_n, 32), bool)
    if drop_frame is not None:
        labels[drop_frame] = 0
        pts[drop_frame] = np.nan
        valid[drop_frame] = False
    meta = {"subject_id": "alias-7", "patient_name": "DOE^JANE", "patient_id": "PID42"}
    series = CineSeries(np.random.default_rng(0).random((t_n, h, w)), spacing,
                        np.arange(t_n) * 2.0, meta)
    tracks = Tracks({"bladder": pts}, {"bladder": valid}, rest_frame=0, n_points=32)
    return series, labels, tracks


def test_tables_columns_units_and_descent():
    series, labels, tracks = _moving_disc_case()
    pts = point_table(tracks, series)
    assert list(pts.columns) == list(POINT_COLUMNS)
    assert len(pts) == 4 * 32
    assert set(pts["subject"]) == {"alias-7"}
    f2 = pts[pts.frame == 2]
    np.testing.assert_allclose(f2["displacement_y_mm"], 6 * 1.5, atol=1e-9)  # 6 px of 1.5 mm
    np.testing.assert_allclose(f2["displacement_mm"], 9.0, atol=1e-9)
    np.testing.assert_allclose(f2["curvature_per_mm"], 1 / 12, rtol=0.02)
    np.testing.assert_allclose(pts[pts.frame == 1]["time_s"], 2.0)
    frames = frame_table(pts, series, labels, ("bladder",), rest_frame=0)
    assert list(frames.columns) == list(FRAME_COLUMNS)
    np.testing.assert_allclose(frames["descent_mm"], [0, 4.5, 9.0, 4.5], atol=0.05)
    np.testing.assert_allclose(frames["centroid_displacement_mm"], [0, 4.5, 9.0, 4.5],
                               atol=0.05)
    np.testing.assert_allclose(frames["area_mm2"], np.pi * 144, rtol=0.03)
    np.testing.assert_allclose(frames["perimeter_mm"], 2 * np.pi * 12, rtol=0.03)
    np.testing.assert_allclose(frames["max_displacement_mm"], [0, 4.5, 9.0, 4.5], atol=1e-9)
    assert frames["confidence"].isna().all()
    text = pts.to_csv() + frames.to_csv()
    assert "DOE" not in text and "PID42" not in text
    assert set(point_table(tracks, series, keep_identity=True)["subject"]) == {"PID42"}


def test_missing_frame_gives_nan_rows():
    series, labels, tracks = _moving_disc_case(drop_frame=2)
    pts = point_table(tracks, series)
    missing = pts[pts.frame == 2]
    assert not missing["valid"].any()
    assert missing[["x_mm", "curvature_per_mm", "displacement_mm"]].isna().all().all()
    assert pts[pts.frame == 1]["valid"].all()
    frames = frame_table(pts, series, labels, ("bladder",), confidence=np.ones((4, 1)))
    row = frames[frames.frame == 2].iloc[0]
    assert np.isnan(row["area_mm2"]) and np.isnan(row["descent_mm"])
    assert np.isnan(row["mean_displacement_mm"])
    assert frames[frames.frame == 3]["descent_mm"].iloc[0] == pytest.approx(4.5, abs=0.05)


def test_summary_table_of_a_moving_disc():
    from core.indices import SUMMARY_COLUMNS, summary_table

    series, labels, tracks = _moving_disc_case()
    pts = point_table(tracks, series)
    frames = frame_table(pts, series, labels, ("bladder",), rest_frame=0,
                         flagged={"bladder": [3]})
    s = summary_table(frames)
    assert list(s.columns) == list(SUMMARY_COLUMNS) and len(s) == 1
    row = s.iloc[0]
    assert row["subject"] == "alias-7" and row["organ"] == "bladder" and row["frames"] == 4
    assert row["max_descent_mm"] == pytest.approx(9.0, abs=0.05)
    assert row["time_of_max_descent_s"] == 4.0            # frame 2, 2 s per frame
    assert row["max_centroid_displacement_mm"] == pytest.approx(9.0, abs=0.05)
    assert row["max_displacement_mm"] == pytest.approx(9.0, abs=1e-9)
    assert row["rest_area_mm2"] == pytest.approx(np.pi * 144, rel=0.03)
    assert abs(row["area_change_at_max_descent_pct"]) < 2.0   # a moved disc keeps its area
    assert row["max_mean_abs_curvature_per_mm"] == pytest.approx(1 / 12, rel=0.03)
    assert row["flagged_frames"] == 1
    # an organ missing in the rest frame has no rest area and no area change
    series, labels, tracks = _moving_disc_case(drop_frame=0)
    frames = frame_table(point_table(tracks, series), series, labels, ("bladder",))
    row = summary_table(frames).iloc[0]
    assert np.isnan(row["rest_area_mm2"]) and np.isnan(row["area_change_at_max_descent_pct"])
    with pytest.raises(ValueError, match="missing columns"):
        summary_table(frames.drop(columns=["descent_mm"]))
