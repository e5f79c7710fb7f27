"""core.reference: the pubococcygeal line and organ descent measured against it."""

from __future__ import annotations

import numpy as np
import pytest

from core.indices import summary_table
from core.pipeline import AnalysisResult, run_analyze
from core.reference import (
    COCCYX,
    PUBIS,
    below_pcl,
    lowest_below_pcl,
    parse_pcl,
    pcl_grade,
    pcl_lines,
    with_pcl,
    without_pcl,
)
from core.series import CineSeries

LINE = np.array([[20.0, 50.0], [110.0, 50.0]])  # horizontal, y = 50 mm


def test_distance_is_perpendicular_and_positive_below_whatever_the_direction():
    pts = np.array([[30.0, 70.0], [30.0, 40.0], [200.0, 50.0]])
    np.testing.assert_allclose(below_pcl(pts, LINE), [20.0, -10.0, 0.0])
    np.testing.assert_allclose(below_pcl(pts, LINE[::-1]), [20.0, -10.0, 0.0])
    # tilted by 30 degrees (the coccyx higher, as in a patient): distance along the normal
    a = np.deg2rad(30)
    p = np.array([0.0, 0.0])
    c = p + 100 * np.array([np.cos(a), -np.sin(a)])
    normal = np.array([np.sin(a), np.cos(a)])            # unit, pointing to +y (feet)
    q = p + 40 * (c - p) / 100 + 12.5 * normal
    assert below_pcl(q, np.array([p, c])) == pytest.approx(12.5)
    with pytest.raises(ValueError, match="at least 20 mm apart"):
        below_pcl(pts, np.array([[0.0, 0.0], [5.0, 0.0]]))


def test_lowest_point_and_grades():
    square = np.array([[40.0, 30.0], [60.0, 30.0], [60.0, 85.0], [40.0, 85.0]])
    assert lowest_below_pcl(square, LINE) == pytest.approx(35.0)
    assert np.isnan(lowest_below_pcl(None, LINE)) and np.isnan(lowest_below_pcl(square, None))
    assert [pcl_grade(v) for v in (-4.0, 0.0, 12.0, 30.0, 30.1, 60.0, 75.0, np.nan)] == [
        "above the PCL", "above the PCL", "mild", "mild", "moderate", "moderate", "severe", ""]


def test_placing_on_every_frame_or_one_and_the_nearest_placed_frame():
    marks = with_pcl({"other": np.zeros((5, 2))}, 5, (20, 50), (110, 50))
    lines = pcl_lines(marks, 5)
    assert lines.shape == (5, 2, 2) and np.allclose(lines, LINE)
    assert "other" in marks and set(without_pcl(marks)) == {"other"}
    one = with_pcl({}, 5, (20, 60), (110, 60), frame=3)
    assert np.isnan(one[PUBIS][[0, 1, 2, 4]]).all()
    two = with_pcl(one, 5, (20, 40), (110, 40), frame=0)
    # frames 1 (tie between 0 and 3: the earlier), 2 -> 3, 4 -> 3
    np.testing.assert_allclose(pcl_lines(two, 5)[:, 0, 1], [40, 40, 60, 60, 60])
    assert pcl_lines({}, 5) is None and pcl_lines({PUBIS: np.zeros((5, 2))}, 5) is None
    assert pcl_lines({PUBIS: np.full((5, 2), np.nan), COCCYX: np.full((5, 2), np.nan)}, 5) is None
    with pytest.raises(ValueError, match="finite"):
        with_pcl({}, 5, (np.nan, 1), (100, 1))
    with pytest.raises(ValueError, match="apart"):
        with_pcl({}, 5, (10, 10), (12, 12))
    with pytest.raises(ValueError, match="not a frame"):
        with_pcl({}, 5, (20, 50), (110, 50), frame=5)


def test_parse_pcl():
    assert parse_pcl("20,50, 110,50") == ((20.0, 50.0), (110.0, 50.0))
    for bad in ("1,2,3", "a,b,c,d", "0,0,1,1", "1,2,3,nan"):
        with pytest.raises(ValueError):
            parse_pcl(bad)


def _falling_disc(n_frames=5, radius=10.0, step=4.0):
    """A disc (1 mm pixels) whose lowest point is at y = 40 + 4 t mm."""
    h, w = 96, 80
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    frames = np.zeros((n_frames, h, w), np.float32)
    labels = np.zeros((n_frames, h, w), np.uint8)
    for t in range(n_frames):
        inside = (cols - 40) ** 2 + (rows - (30 + step * t)) ** 2 <= radius**2
        frames[t] = 100.0 * inside + 10
        labels[t] = inside
    return CineSeries(frames, (1.0, 1.0), np.arange(n_frames) * 0.5, {"subject_id": "disc"}), labels


def test_frame_table_measures_the_lowest_point_against_the_line():
    series, labels = _falling_disc()
    marks = with_pcl({}, 5, (10, 50), (75, 50))            # horizontal at y = 50
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32, landmarks=marks)
    expected = 40 + 4.0 * np.arange(5) - 50                 # -10, -6, -2, 2, 6
    np.testing.assert_allclose(res.frames["below_pcl_mm"], expected, atol=0.6)
    summary = summary_table(res.frames)
    assert summary["rest_below_pcl_mm"][0] == pytest.approx(-10, abs=0.6)
    assert summary["max_below_pcl_mm"][0] == pytest.approx(6, abs=0.6)
    assert summary["pcl_grade"][0] == "mild"
    # without a line the column is NaN, the grade empty
    plain = run_analyze(series, labels=labels, organs=("bladder",), n_points=32)
    assert plain.frames["below_pcl_mm"].isna().all()
    assert summary_table(plain.frames)["pcl_grade"][0] == ""
    # a table written before the PCL existed still summarises
    old = summary_table(plain.frames.drop(columns="below_pcl_mm"))
    assert np.isnan(old["max_below_pcl_mm"][0])


def test_landmarks_survive_projects_and_placing_them_changes_only_that_column():
    from core.corrections import run_retrack

    series, labels = _falling_disc()
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32)
    before = res.frames.copy()
    res.set_landmarks(with_pcl(res.landmarks, 5, (10, 45), (75, 45)))
    np.testing.assert_allclose(res.frames["below_pcl_mm"], 40 + 4.0 * np.arange(5) - 45,
                               atol=0.6)
    other = [c for c in before.columns if c != "below_pcl_mm"]
    assert res.frames[other].equals(before[other])
    back = AnalysisResult.from_project(res.to_project())
    np.testing.assert_allclose(back.landmarks[PUBIS], res.landmarks[PUBIS])
    np.testing.assert_allclose(back.frames["below_pcl_mm"], res.frames["below_pcl_mm"])
    again = run_retrack(back, device="cpu")
    np.testing.assert_allclose(again.frames["below_pcl_mm"], res.frames["below_pcl_mm"])
    res.set_landmarks(without_pcl(res.landmarks))
    assert res.frames["below_pcl_mm"].isna().all() and PUBIS not in res.landmarks
    with pytest.raises(ValueError, match="must be"):
        res.set_landmarks({PUBIS: np.zeros((4, 2))})


def test_only_the_bladder_is_graded():
    series, labels = _falling_disc()
    marks = with_pcl({}, 5, (10, 45), (75, 45))
    res = run_analyze(series, labels=labels, organs=("rectum",), n_points=32, landmarks=marks)
    summary = summary_table(res.frames)
    assert summary["max_below_pcl_mm"][0] == pytest.approx(11, abs=0.6)   # measured
    assert summary["pcl_grade"][0] == ""                                    # not graded


def _lowest_point(res, organ="bladder", frame=0):
    pts = res.tracks.points[organ][frame]
    return int(np.argmax(pts[:, 1]))


def test_a_reference_point_moves_with_its_organ_and_is_measured():
    from core.reference import reference_tracks

    series, labels = _falling_disc()
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32)
    k = _lowest_point(res)
    res.set_landmarks(with_pcl({}, 5, (10, 45), (75, 45)))
    res.set_reference_points({"bladder": k})
    assert res.settings["reference_points"] == {"bladder": k}
    f = res.frames
    # the disc's lowest point moves 4 mm down per frame: so does the tracked point there
    np.testing.assert_allclose(f["ref_below_pcl_mm"], 40 + 4.0 * np.arange(5) - 45, atol=0.8)
    ref = res.reference_tracks()["bladder"]
    np.testing.assert_allclose(f["ref_to_pubis_mm"], np.hypot(ref[:, 0] - 10, ref[:, 1] - 45))
    # invalid tracked points are not measured
    valid = {"bladder": res.tracks.valid["bladder"].copy()}
    valid["bladder"][2, k] = False
    assert np.isnan(reference_tracks(res.tracks.points, valid, {"bladder": k})["bladder"][2]).all()
    with pytest.raises(ValueError, match="not one of its 32 points"):
        res.set_reference_points({"bladder": 32})
    with pytest.raises(ValueError, match="no tracked points"):
        res.set_reference_points({"rectum": 0})
    # kept by projects and re-tracking; cleared by an empty choice
    back = AnalysisResult.from_project(res.to_project())
    assert back.reference_points == {"bladder": k}
    np.testing.assert_allclose(back.frames["ref_below_pcl_mm"], f["ref_below_pcl_mm"])
    from core.corrections import run_retrack

    again = run_retrack(back, device="cpu")
    assert again.reference_points == {"bladder": k}
    np.testing.assert_allclose(again.frames["ref_below_pcl_mm"], f["ref_below_pcl_mm"])
    res.set_reference_points({})
    assert "reference_points" not in res.settings and res.frames["ref_below_pcl_mm"].isna().all()


def test_the_reference_point_is_graded_and_the_anorectal_junction_gives_hmo():
    from core.reference import hmo_grade

    series, labels = _falling_disc()
    res = run_analyze(series, labels=labels, organs=("rectum",), n_points=32,
                      landmarks=with_pcl({}, 5, (10, 20), (75, 20)))
    k = _lowest_point(res, "rectum")
    assert summary_table(res.frames)["pcl_grade"][0] == ""     # the lowest point: not graded
    res.set_reference_points({"rectum": k})
    s = summary_table(res.frames).iloc[0]
    assert s["max_ref_below_pcl_mm"] == pytest.approx(40 + 16 - 20, abs=0.8)   # 36 mm
    assert s["rest_ref_below_pcl_mm"] == pytest.approx(20, abs=0.8)
    assert s["pcl_grade"] == "moderate"
    h = s["max_ref_to_pubis_mm"]
    assert s["hmo_grade"] == f"H {hmo_grade(h, 'H')}, M mild"
    assert [hmo_grade(v, "H") for v in (59.9, 60, 80, 100, np.nan)] == [
        "normal", "mild", "moderate", "severe", ""]
    assert [hmo_grade(v, "M") for v in (10, 20, 45, 61)] == ["normal", "mild", "moderate",
                                                            "severe"]


def test_the_line_must_lie_on_the_image():
    from core.reference import check_inside

    check_inside(((0, 0), (79, 95)), (96, 80), (1.0, 1.0))             # the pixel centres
    check_inside(((-0.5, 10), (40, 95.5)), (96, 80), (1.0, 1.0))       # the image's edge
    with pytest.raises(ValueError, match=r"coccygeal point \(120.0, 40.0\) mm is off the image, "
                                         r"which spans x 0–80 mm and y 0–96 mm"):
        check_inside(((10, 40), (120, 40)), (96, 80), (1.0, 1.0))
    with pytest.raises(ValueError, match="pubic point"):
        check_inside(((10, 200), (20, 40)), (96, 80), (2.0, 1.0))     # y up to 191 mm
    check_inside(((10, 190), (20, 40)), (96, 80), (2.0, 1.0))


def test_a_frame_corrected_by_hand_is_measured_from_its_new_labels():
    series, labels = _falling_disc()
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32)
    assert res.tracks.contours                       # the tracker's contours are used...
    edited = res.labels[3].copy()
    edited[36:, :] = 0                               # ...but frame 3's lower half is erased
    res.set_manual_labels(3, edited)
    res.set_landmarks(with_pcl({}, 5, (10, 45), (75, 45)))
    below = res.frames["below_pcl_mm"].to_numpy()
    assert below[3] == pytest.approx(35.5 - 45, abs=0.6)       # the cut edge, not the disc
    np.testing.assert_allclose(below[[0, 1, 2, 4]], 40 + 4.0 * np.array([0, 1, 2, 4]) - 45,
                               atol=0.6)
    # a result without the tracker's contours (loaded from a project) traces its labels
    back = AnalysisResult.from_project(res.to_project())
    back.tracks.contours.clear()
    back.set_landmarks(back.landmarks)
    np.testing.assert_allclose(back.frames["below_pcl_mm"], below, atol=1e-9)


def test_a_stored_reference_point_the_tracks_no_longer_have_does_not_block_opening():
    from core.reference import reference_tracks

    series, labels = _falling_disc()
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32)
    project = res.to_project()
    project.settings["reference_points"] = {"rectum": 3, "bladder": 40}   # stale choices
    back = AnalysisResult.from_project(project)                          # still opens
    assert back.frames["ref_below_pcl_mm"].isna().all()
    assert reference_tracks(back.tracks.points, back.tracks.valid, {"rectum": 3}) == {}
    with pytest.raises(ValueError, match="no tracked points"):
        reference_tracks(back.tracks.points, back.tracks.valid, {"rectum": 3}, strict=True)
