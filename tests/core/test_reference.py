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


def test_m_line_and_the_h_line_measure():
    from core.reference import below_h_line, h_lines, m_line, o_grade

    seg = m_line(LINE, np.array([70.0, 80.0]))                 # 30 mm below y = 50
    np.testing.assert_allclose(seg, [[70.0, 80.0], [70.0, 50.0]])
    tilted = np.array([[0.0, 0.0], [60.0, 80.0]])              # the H-line, 100 mm long
    # the perpendicular distance of the lowest point, positive caudal (+y)
    assert below_h_line(np.array([[0.0, 50.0], [60.0, 0.0]]), tilted) == pytest.approx(30.0)
    assert below_h_line(np.array([60.0, 0.0]), tilted) == pytest.approx(-48.0)
    for pts, line in ((None, tilted), (np.zeros((1, 2)), None),
                      (np.zeros((1, 2)), np.array([[0.0, 0.0], [5.0, 5.0]])),   # too short
                      (np.zeros((1, 2)), np.array([[0.0, 0.0], [np.nan, 5.0]]))):
        assert np.isnan(below_h_line(pts, line))
    assert [o_grade(v) for v in (-1.0, 0.0, 0.5, np.nan)] == [
        "above the H-line", "above the H-line", "beyond the H-line", ""]
    pcl = np.repeat(LINE[None], 3, axis=0)
    assert h_lines(pcl, {}) is None and h_lines(None, {"rectum": np.zeros((3, 2))}) is None
    arj = np.array([[60.0, 70.0], [np.nan, np.nan], [62.0, 71.0]])
    h = h_lines(pcl, {"rectum": arj, "bladder": np.zeros((3, 2))})
    np.testing.assert_allclose(h[:, 0], LINE[[0, 0, 0]])
    np.testing.assert_allclose(h[:, 1], arj)


def _bladder_and_rectum(n_frames=5):
    """A bladder disc (r 8 mm, centre (25, 12 + 4t) mm) falling beside a still rectum
    disc (r 8 mm, centre (60, 55) mm); 1 mm pixels."""
    h, w = 80, 80
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    frames = np.zeros((n_frames, h, w), np.float32)
    labels = np.zeros((n_frames, h, w), np.uint8)
    for t in range(n_frames):
        bladder = (cols - 25) ** 2 + (rows - (12 + 4 * t)) ** 2 <= 64
        rectum = (cols - 60) ** 2 + (rows - 55) ** 2 <= 64
        labels[t][bladder], labels[t][rectum] = 1, 2
        frames[t] = 10 + 100.0 * bladder + 60.0 * rectum
    series = CineSeries(frames, (1.0, 1.0), np.arange(n_frames) * 0.5, {"subject_id": "two"})
    return series, labels


def test_the_anorectal_junction_gives_the_other_organs_their_o():
    series, labels = _bladder_and_rectum()
    res = run_analyze(series, labels=labels, organs=("bladder", "rectum"), n_points=48,
                      landmarks=with_pcl({}, 5, (5, 20), (75, 20)))
    assert res.frames["below_h_line_mm"].isna().all()          # no junction marked yet
    k = _lowest_point(res, "rectum")
    res.set_reference_points({"rectum": k})
    f = res.frames.set_index(["organ", "frame"])
    arj = res.reference_tracks()["rectum"]
    # expected: the bladder disc's extreme point along each frame's H-line normal
    d = arj - np.array([5.0, 20.0])
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.hypot(d[:, 0], d[:, 1])[:, None]
    centre = np.stack([np.full(5, 25.0), 12 + 4.0 * np.arange(5)], axis=1)
    expected = np.einsum("ij,ij->i", centre - np.array([5.0, 20.0]), n) + 8
    assert expected[0] < -5 and expected[-1] > 1                # it crosses the hiatus
    np.testing.assert_allclose(f.loc["bladder", "below_h_line_mm"], expected, atol=0.8)
    assert f.loc["rectum", "below_h_line_mm"].isna().all()     # the junction ends the line
    s = summary_table(res.frames).set_index("organ")
    assert s.loc["bladder", "max_below_h_line_mm"] == pytest.approx(expected[-1], abs=0.8)
    assert s.loc["bladder", "hmo_grade"] == "O beyond the H-line"
    assert s.loc["rectum", "hmo_grade"].startswith("H ")
    # the bladder's own reference point replaces its lowest point
    top = int(np.argmin(res.tracks.points["bladder"][0][:, 1]))
    res.set_reference_points({"rectum": k, "bladder": top})
    s = summary_table(res.frames).set_index("organ")
    assert s.loc["bladder", "hmo_grade"] == "O above the H-line"
    # kept by projects
    back = AnalysisResult.from_project(res.to_project())
    np.testing.assert_allclose(back.frames["below_h_line_mm"], res.frames["below_h_line_mm"])
