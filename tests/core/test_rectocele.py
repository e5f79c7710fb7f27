"""core.rectocele: the anterior rectal wall's bulge beyond the anal canal's line."""

from __future__ import annotations

import numpy as np
import pytest

from core.indices import summary_table
from core.pipeline import AnalysisResult, run_analyze
from core.rectocele import (
    ANAL_HIGH,
    ANAL_LOW,
    SPAN_MM,
    anal_lines,
    check_anal_inside,
    parse_anal_line,
    rectocele_depth,
    rectocele_grade,
    with_anal_line,
    without_anal_line,
)
from core.reference import PUBIS, with_pcl
from core.series import CineSeries

#: A rectum outline (xy mm): the anal canal between x = 40 and 50 from y = 80 up to
#: 60, the ampulla above it reaching x = 30 (10 mm in front of the canal's wall).
OUTLINE = np.array([[40, 80], [40, 60], [30, 50], [32, 30], [55, 30], [50, 60], [50, 80]],
                   float)
LINE = np.array([[40.0, 80.0], [40.0, 62.0]])       # the canal's anterior wall, upwards


def _rotate(xy, degrees, centre=(40.0, 80.0)):
    a = np.deg2rad(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (np.asarray(xy, float) - centre) @ r.T + centre


def test_depth_is_the_bulge_in_front_of_the_line_whatever_its_tilt():
    assert rectocele_depth(OUTLINE, LINE) == pytest.approx(10.0)
    assert np.isnan(rectocele_depth(OUTLINE, LINE[::-1]))   # lower end first: nothing above
    for deg in (-25.0, 15.0):                           # the patient tilted: same depth
        assert rectocele_depth(_rotate(OUTLINE, deg), _rotate(LINE, deg)) == pytest.approx(10.0)
    # a wall behind the line: negative; the far sigmoid (beyond SPAN_MM) is not searched
    behind = OUTLINE + [[0, 0], [5, 0], [15, 0], [15, 0], [0, 0], [0, 0], [0, 0]]
    assert rectocele_depth(behind, LINE) == pytest.approx(-5.0)
    far = np.vstack([OUTLINE, [[0.0, 62.0 - SPAN_MM - 1]]])
    assert rectocele_depth(far, LINE) == pytest.approx(10.0)
    for contour, line in ((None, LINE), (OUTLINE, None), (OUTLINE[:1], LINE),
                          (OUTLINE, np.array([[40.0, 80.0], [40.0, 77.0]])),    # too short
                          (OUTLINE, np.array([[40.0, 80.0], [np.nan, 62.0]]))):
        assert np.isnan(rectocele_depth(contour, line))


def test_the_line_is_drawn_extended_upwards_by_its_length():
    from core.rectocele import extended

    np.testing.assert_allclose(extended(LINE), [[40.0, 80.0], [40.0, 44.0]])


def test_a_line_is_fitted_to_the_anterior_edge_of_the_lowest_stretch():
    from core.rectocele import CANAL_MM, fit_anal_line, fitted_anal_landmarks

    rows, cols = np.mgrid[0:100, 0:80]
    # a canal 8 px wide whose anterior edge runs x = 30 + 0.25 (row - 60), rows 60-90,
    # under an ampulla reaching x = 10 at rows 30-59 (above the stretch)
    edge = 30 + 0.25 * (rows - 60)
    mask = ((rows >= 60) & (rows <= 90) & (cols >= edge) & (cols < edge + 8)) | (
        (rows >= 30) & (rows < 60) & (cols >= 10) & (cols < 45))
    line = fit_anal_line(mask, (1.0, 2.0))               # 1 mm rows, 2 mm columns
    assert line[0, 1] == pytest.approx(88.0) and line[1, 1] == pytest.approx(90 - CANAL_MM)
    for (x, y) in line:     # the edge in mm: half a column before the first column inside
        assert x == pytest.approx(2.0 * np.ceil(30 + 0.25 * (y - 60)) - 1.0, abs=1.2)
    assert fit_anal_line(np.zeros((10, 10), bool), (1.0, 1.0)) is None
    # every frame gets its own; a frame without a rectum takes the nearest fitted one
    labels = np.stack([mask * 3, np.zeros_like(mask), np.roll(mask, 4, axis=0) * 3])
    marks = fitted_anal_landmarks({PUBIS: np.zeros((3, 2))}, labels, 3, (1.0, 2.0))
    lines = anal_lines(marks, 3)
    np.testing.assert_allclose(lines[0], line)
    np.testing.assert_allclose(lines[1], line)
    np.testing.assert_allclose(lines[2], line + [0.0, 4.0])
    assert PUBIS in marks and np.isnan(marks[ANAL_LOW][1]).all()
    # a frame whose line turns more than MAX_TURN_DEG from the rest frame's is a failed
    # fit (a label that missed the opening canal): unplaced, it takes the nearest line
    tilted = (rows >= 60) & (rows <= 90) & (cols >= 30 + (rows - 60)) & (cols < 38 + (rows - 60))
    labels = np.stack([mask * 3, tilted * 3, np.roll(mask, 4, axis=0) * 3])
    marks = fitted_anal_landmarks({}, labels, 3, (1.0, 2.0))
    assert np.isnan(marks[ANAL_LOW][1]).all() and np.isfinite(marks[ANAL_LOW][[0, 2]]).all()
    marks = fitted_anal_landmarks({}, labels, 3, (1.0, 2.0), rest_frame=1)
    assert np.isfinite(marks[ANAL_LOW][1]).all() and np.isnan(marks[ANAL_LOW][[0, 2]]).all()
    with pytest.raises(ValueError, match="no frame has a rectum"):
        fitted_anal_landmarks({}, np.zeros((2, 5, 5), np.uint8), 3, (1.0, 1.0))


def test_grades():
    assert [rectocele_grade(v) for v in (-3.0, 0.0, 4.9, 5.0, 19.9, 20.0, 40.0, np.nan)] == [
        "none", "none", "none", "small", "small", "moderate", "large", ""]


def test_placing_parsing_and_checking_the_line():
    marks = with_anal_line({PUBIS: np.zeros((4, 2))}, 4, (40, 80), (40, 62))
    np.testing.assert_allclose(anal_lines(marks, 4), np.repeat(LINE[None], 4, axis=0))
    assert set(without_anal_line(marks)) == {PUBIS}
    one = with_anal_line(marks, 4, (41, 80), (41, 62), frame=2)
    np.testing.assert_allclose(one[ANAL_LOW][:, 0], [40, 40, 41, 40])
    with pytest.raises(ValueError, match="the anal canal line's ends are 3.0 mm apart"):
        with_anal_line({}, 4, (40, 80), (40, 77))
    assert parse_anal_line("40,80,40,62") == ((40.0, 80.0), (40.0, 62.0))
    with pytest.raises(ValueError, match="LOW_X,LOW_Y,HIGH_X,HIGH_Y"):
        parse_anal_line("1,2,3")
    with pytest.raises(ValueError, match="upper anal canal point"):
        check_anal_inside(((40, 80), (40, 200)), (96, 80), (1.0, 1.0))


def _bulging_rectum(n_frames=5):
    """A rectum (1 mm pixels): an anal canal (x 40–49, y 62–85) under an ampulla disc
    (r 12, centre (45 − 2t, 48) mm) that bulges 2 mm further forward each frame."""
    h, w = 96, 96
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    labels = np.zeros((n_frames, h, w), np.uint8)
    for t in range(n_frames):
        canal = (cols >= 40) & (cols <= 49) & (rows >= 55) & (rows <= 85)
        ampulla = (cols - (45 - 2 * t)) ** 2 + (rows - 48) ** 2 <= 144
        labels[t][canal | ampulla] = 1
    series = CineSeries(10 + 80.0 * labels.astype(np.float32), (1.0, 1.0),
                        np.arange(n_frames) * 0.5, {"subject_id": "rectocele"})
    return series, labels


def test_the_rectum_is_measured_in_every_frame_and_graded():
    series, labels = _bulging_rectum()
    res = run_analyze(series, labels=labels, organs=("rectum",), n_points=64,
                      landmarks=with_anal_line({}, 5, (40, 85), (40, 62)))
    depth = res.frames["rectocele_depth_mm"].to_numpy()
    # the ampulla's front is at x = 33 − 2t: 7 + 2t mm in front of x = 40
    np.testing.assert_allclose(depth, 7 + 2.0 * np.arange(5), atol=0.6)
    s = summary_table(res.frames).iloc[0]
    assert s["max_rectocele_depth_mm"] == pytest.approx(15, abs=0.6)
    assert s["rectocele_grade"] == "small"
    # moving the line is one recomputation of that column; removing it clears it
    before = res.frames["area_mm2"].copy()
    res.set_landmarks(with_anal_line(res.landmarks, 5, (35, 85), (35, 62)))
    np.testing.assert_allclose(res.frames["rectocele_depth_mm"], 2 + 2.0 * np.arange(5),
                               atol=0.6)
    np.testing.assert_array_equal(res.frames["area_mm2"], before)
    back = AnalysisResult.from_project(res.to_project())
    assert ANAL_HIGH in back.landmarks
    np.testing.assert_allclose(back.frames["rectocele_depth_mm"],
                               res.frames["rectocele_depth_mm"], atol=1e-9)
    res.set_landmarks(without_anal_line(res.landmarks))
    assert res.frames["rectocele_depth_mm"].isna().all()
    assert summary_table(res.frames)["rectocele_grade"][0] == ""


def test_only_the_rectum_is_measured_and_the_pcl_is_independent():
    series, labels = _bulging_rectum()
    marks = with_pcl(with_anal_line({}, 5, (40, 85), (40, 62)), 5, (5, 40), (90, 40))
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=64,
                      landmarks=marks)
    assert res.frames["rectocele_depth_mm"].isna().all()
    assert res.frames["below_pcl_mm"].notna().all()


def test_a_frame_left_unfitted_is_said():
    from core.batch import _fit_anal_line
    from core.rectocele import unfitted_note

    series, labels = _bulging_rectum()
    labels[2] = 0                                   # the model lost the rectum here
    res = run_analyze(series, labels=labels, organs=("rectum",), n_points=64)
    _fit_anal_line(res, "case.dcm")
    note = "anal canal line fitted on 4 of 5 frames"
    assert any(w.startswith(note) for w in res.tracks.warnings)
    assert any(w.startswith(note) for w in res.settings["warnings"])
    assert np.isfinite(res.frames["rectocele_depth_mm"]).sum() == 4   # no outline in frame 2
    assert unfitted_note(with_anal_line({}, 3, (40, 85), (40, 62))) == ""
    with pytest.raises(ValueError, match="case.dcm: the analysis has no rectum"):
        _fit_anal_line(run_analyze(series, labels=labels, organs=("bladder",), n_points=64),
                       "case.dcm")
