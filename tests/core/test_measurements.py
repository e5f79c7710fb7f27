"""core.measurements: distances and angles measured by hand on a frame, kept as
landmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.measurements import (
    MEASUREMENT_COLUMNS,
    MIN_DISTANCE_MM,
    measurement_table,
    measurements,
    on_frame,
    with_measurement,
    without_measurements,
)

PCL = {"inferior_pubic_point": np.zeros((4, 2)), "coccyx_tip": np.full((4, 2), 50.0)}


def test_a_distance_is_two_landmarks_on_its_own_frame():
    marks, key = with_measurement(PCL, 4, 2, "distance", [(10.0, 20.0), (13.0, 24.0)])
    assert key == 1 and set(marks) == set(PCL) | {"distance_1_start", "distance_1_end"}
    assert np.isfinite(marks["distance_1_start"]).all(1).tolist() == [False, False, True, False]
    (m,) = measurements(marks)
    assert (m.kind, m.key, m.frame, m.points) == ("distance", 1, 2, ((10.0, 20.0), (13.0, 24.0)))
    assert (m.value, m.unit, m.text) == (5.0, "mm", "5.0 mm")
    assert "distance_1_start" not in PCL                      # the input is not changed


@pytest.mark.parametrize("vertex_to_second, degrees", [((10.0, 0.0), 90.0), ((-5.0, 5.0), 45.0),
                                                       ((0.0, -3.0), 180.0)])
def test_an_angle_is_measured_at_its_vertex(vertex_to_second, degrees):
    vertex = np.array([20.0, 30.0])
    points = [vertex + (0.0, 7.0), vertex, vertex + vertex_to_second]
    marks, key = with_measurement({}, 3, 0, "angle", points)
    assert set(marks) == {"angle_1_first", "angle_1_vertex", "angle_1_second"}
    (m,) = measurements(marks)
    assert m.kind == "angle" and m.value == pytest.approx(degrees)
    assert m.unit == "°" and m.text == f"{degrees:.0f}°"


def test_both_kinds_share_one_numbering_and_are_listed_by_frame():
    marks, k1 = with_measurement({}, 4, 2, "distance", [(0.0, 0.0), (0.0, 7.5)])
    marks, k2 = with_measurement(marks, 4, 0, "angle", [(0.0, 5.0), (0.0, 0.0), (5.0, 0.0)])
    marks, k3 = with_measurement(marks, 4, 2, "distance", [(1.0, 1.0), (1.0, 3.0)])
    assert (k1, k2, k3) == (1, 2, 3)
    assert [(m.frame, m.key, m.kind) for m in measurements(marks)] == [
        (0, 2, "angle"), (2, 1, "distance"), (2, 3, "distance")]
    assert [m.key for m in measurements(marks, "distance")] == [1, 3]
    assert [m.key for m in on_frame(marks, 2)] == [1, 3] and on_frame(marks, 1) == []


@pytest.mark.parametrize("kind, points, frame, words", [
    ("distance", [(1.0, 1.0), (1.0, 1.0 + MIN_DISTANCE_MM / 2)], 0, "at least 1 mm apart"),
    ("angle", [(0.0, 5.0), (0.0, 0.0), (0.3, 0.0)], 0, "an arm's two ends are 0.30 mm"),
    ("distance", [(1.0, np.nan), (5.0, 5.0)], 0, "2 finite"),
    ("angle", [(1.0, 1.0), (5.0, 5.0)], 0, "an angle needs 3 finite"),
    ("distance", [(1.0, 1.0), (5.0, 5.0)], 4, "frame 4 is not a frame"),
    ("area", [(1.0, 1.0), (5.0, 5.0)], 0, "unknown measurement 'area'"),
])
def test_a_bad_measurement_is_refused_with_the_reason(kind, points, frame, words):
    with pytest.raises(ValueError, match=words):
        with_measurement({}, 4, frame, kind, points)


def test_removing_the_measurements_of_a_frame_or_all():
    marks, _ = with_measurement(PCL, 4, 1, "distance", [(0.0, 0.0), (3.0, 4.0)])
    marks, _ = with_measurement(marks, 4, 1, "angle", [(0.0, 5.0), (0.0, 0.0), (5.0, 0.0)])
    marks, _ = with_measurement(marks, 4, 3, "distance", [(0.0, 0.0), (6.0, 8.0)])
    kept = without_measurements(marks, 1)
    assert [m.frame for m in measurements(kept)] == [3] and set(PCL) <= set(kept)
    # a pair edited by hand onto two frames, or an angle without its vertex, is not a
    # measurement, and goes with all
    broken = dict(kept, distance_9_start=np.full((4, 2), 1.0), distance_9_end=np.ones((4, 2)),
                  angle_12_first=np.zeros((4, 2)), angle_12_second=np.ones((4, 2)))
    assert [m.key for m in measurements(broken)] == [3]
    assert set(without_measurements(broken)) == set(PCL)
    _, key = with_measurement(broken, 4, 0, "distance", [(0.0, 0.0), (0.0, 5.0)])
    assert key == 13                                          # never a number in use


def test_the_table_has_a_row_per_measurement_with_time_and_value():
    marks, _ = with_measurement({}, 4, 3, "distance", [(0.0, 0.0), (6.0, 8.0)])
    marks, _ = with_measurement(marks, 4, 1, "angle", [(2.0, 9.0), (2.0, 2.0), (9.0, 2.0)])
    table = measurement_table(marks, [0.0, 0.5, 1.0, 1.5], "subj-1")
    assert tuple(table.columns) == MEASUREMENT_COLUMNS
    assert table[["number", "kind", "frame", "time_s", "value", "unit"]].values.tolist() == [
        [2, "angle", 1, 0.5, 90.0, "°"], [1, "distance", 3, 1.5, 10.0, "mm"]]
    assert table[["x3_mm", "y3_mm"]].iloc[0].tolist() == [9.0, 2.0]
    assert table[["x3_mm", "y3_mm"]].iloc[1].isna().all()     # a distance has two points
    assert (table["subject"] == "subj-1").all()
    empty = measurement_table(PCL, [0.0] * 4, "s")
    assert len(empty) == 0 and tuple(empty.columns) == MEASUREMENT_COLUMNS


def test_measurements_travel_with_the_project_and_a_new_tracking(tmp_path):
    from shapes_factory import tube_analysis

    from core.corrections import run_retrack
    from core.outputs import write_outputs
    from core.pipeline import AnalysisResult
    from core.project import load_project, save_project

    result = tube_analysis((100.0, 110.0, 120.0))
    assert "measurements" not in write_outputs(result, tmp_path / "none", overlay=False)
    assert not list((tmp_path / "none").glob("measurements*"))
    marks, _ = with_measurement(result.landmarks, 3, 1, "distance", [(5.0, 5.0), (5.0, 17.0)])
    marks, _ = with_measurement(marks, 3, 2, "angle", [(5.0, 5.0), (5.0, 17.0), (17.0, 17.0)])
    result.set_landmarks(marks)
    save_project(result.to_project(), tmp_path / "p.pvt")
    loaded = AnalysisResult.from_project(load_project(tmp_path / "p.pvt"))
    expected = [(1, "12.0 mm"), (2, "90°")]
    assert [(m.frame, m.text) for m in measurements(loaded.landmarks)] == expected
    again = run_retrack(loaded, device="cpu")
    assert [(m.frame, m.text) for m in measurements(again.landmarks)] == expected
    written = write_outputs(again, tmp_path / "out", overlay=False)
    assert written["measurements"].name == "measurements.csv"
    table = pd.read_csv(written["measurements"])
    assert table["value"].tolist() == [12.0, 90.0]
    assert table["subject"].iloc[0] == again.series.subject      # the pseudonym


def test_a_measurement_by_hand_does_not_measure_the_frames_again(monkeypatch):
    from shapes_factory import tube_analysis

    from core.measured_result import MeasuredAgainstPcl
    from core.reference import with_pcl

    result = tube_analysis((100.0, 110.0), pcl=((60.0, 100.0), (160.0, 95.0)))
    calls = []
    update = MeasuredAgainstPcl._update_pcl_columns
    monkeypatch.setattr(MeasuredAgainstPcl, "_update_pcl_columns",
                        lambda self, *a: (calls.append(1), update(self, *a)))
    before = result.frames.copy()
    marks, _ = with_measurement(result.landmarks, 2, 1, "distance", [(5.0, 5.0), (5.0, 9.0)])
    result.set_landmarks(marks)
    assert calls == [] and result.landmarks.keys() == marks.keys()
    pd.testing.assert_frame_equal(result.frames, before)
    result.set_landmarks(without_measurements(marks))
    assert calls == [] and not measurements(result.landmarks)
    result.set_landmarks(with_pcl(marks, 2, (60.0, 90.0), (160.0, 95.0)))   # a line moved
    assert calls == [1]
    assert not np.allclose(result.frames["below_pcl_mm"], before["below_pcl_mm"])


def test_moving_a_point_of_a_measurement():
    from core.measurements import with_point_moved

    marks, _ = with_measurement(PCL, 4, 2, "angle", [(0.0, 5.0), (0.0, 0.0), (5.0, 0.0)])
    moved, m = with_point_moved(marks, "angle", 1, 2, (-5.0, 0.0))
    assert m.value == pytest.approx(90.0) and (m.frame, m.points[2]) == (2, (-5.0, 0.0))
    assert measurements(moved)[0].points == m.points
    assert measurements(marks)[0].points[2] == (5.0, 0.0)          # the input kept
    moved, m = with_point_moved(marks, "angle", 1, 1, (0.0, -5.0))   # the vertex
    assert m.value == pytest.approx(45.0)          # arms (0, 10) and (5, 5) from it
    with pytest.raises(ValueError, match="an arm's two ends"):
        with_point_moved(marks, "angle", 1, 0, (0.0, 0.2))
    with pytest.raises(ValueError, match="no distance 1"):
        with_point_moved(marks, "distance", 1, 0, (1.0, 1.0))


def test_moving_a_line_end_on_the_frames_that_share_it():
    from core.reference import PUBIS, with_end_moved, with_pcl

    marks = with_pcl({}, 5, (10.0, 50.0), (90.0, 40.0))               # every frame
    marks = with_pcl(marks, 5, (12.0, 52.0), (90.0, 40.0), frame=3)   # frame 3's own
    moved = with_end_moved(marks, PUBIS, 0, (10.0, 50.0), (11.0, 49.0))
    assert moved[PUBIS].tolist() == [[11.0, 49.0]] * 3 + [[12.0, 52.0], [11.0, 49.0]]
    moved = with_end_moved(marks, PUBIS, 3, (12.0, 52.0), (13.0, 53.0))
    assert moved[PUBIS][3].tolist() == [13.0, 53.0] and moved[PUBIS][0].tolist() == [10.0, 50.0]
    # a frame that follows the nearest placed one (NaN) keeps following it
    gaps = {k: v.copy() for k, v in marks.items()}
    gaps[PUBIS][4] = np.nan
    moved = with_end_moved(gaps, PUBIS, 4, (12.0, 52.0), (14.0, 54.0))
    assert moved[PUBIS][3].tolist() == [14.0, 54.0] and np.isnan(moved[PUBIS][4]).all()
    assert marks[PUBIS][0].tolist() == [10.0, 50.0]                   # the input kept


def test_removing_one_measurement_by_its_number():
    from core.measurements import without_measurement

    marks, _ = with_measurement(PCL, 4, 1, "distance", [(0.0, 0.0), (3.0, 4.0)])
    marks, _ = with_measurement(marks, 4, 1, "angle", [(0.0, 5.0), (0.0, 0.0), (5.0, 0.0)])
    left = without_measurement(marks, 2)
    assert [(m.kind, m.key) for m in measurements(left)] == [("distance", 1)]
    assert set(left) == set(PCL) | {"distance_1_start", "distance_1_end"}
    assert without_measurement(marks, 7).keys() == marks.keys()      # no such number
