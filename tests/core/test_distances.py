"""core.distances: distances measured by hand on a frame, kept as landmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.distances import (
    DISTANCE_COLUMNS,
    MIN_DISTANCE_MM,
    distance_table,
    distances,
    on_frame,
    with_distance,
    without_distances,
)

PCL = {"inferior_pubic_point": np.zeros((4, 2)), "coccyx_tip": np.full((4, 2), 50.0)}


def test_a_distance_is_two_landmarks_on_its_own_frame():
    marks, key = with_distance(PCL, 4, 2, (10.0, 20.0), (13.0, 24.0))
    assert key == 1 and set(marks) == set(PCL) | {"distance_1_start", "distance_1_end"}
    assert np.isfinite(marks["distance_1_start"]).all(1).tolist() == [False, False, True, False]
    (d,) = distances(marks)
    assert (d.key, d.frame, d.start, d.end, d.length_mm) == (1, 2, (10.0, 20.0),
                                                              (13.0, 24.0), 5.0)
    assert "distance_1_start" not in PCL                      # the input is not changed
    marks, key = with_distance(marks, 4, 0, (0.0, 0.0), (0.0, 7.5))
    marks, key3 = with_distance(marks, 4, 2, (1.0, 1.0), (1.0, 3.0))
    assert (key, key3) == (2, 3)
    assert [(d.frame, d.key) for d in distances(marks)] == [(0, 2), (2, 1), (2, 3)]
    assert [d.key for d in on_frame(marks, 2)] == [1, 3] and on_frame(marks, 1) == []


@pytest.mark.parametrize("start, end, frame, words", [
    ((1.0, 1.0), (1.0, 1.0 + MIN_DISTANCE_MM / 2), 0, "at least 1 mm apart"),
    ((1.0, np.nan), (5.0, 5.0), 0, "two finite"),
    ((1.0, 1.0), (5.0, 5.0), 4, "frame 4 is not a frame"),
])
def test_a_bad_distance_is_refused_with_the_reason(start, end, frame, words):
    with pytest.raises(ValueError, match=words):
        with_distance({}, 4, frame, start, end)


def test_removing_the_distances_of_a_frame_or_all():
    marks, _ = with_distance(PCL, 4, 1, (0.0, 0.0), (3.0, 4.0))
    marks, _ = with_distance(marks, 4, 3, (0.0, 0.0), (6.0, 8.0))
    kept = without_distances(marks, 1)
    assert [d.frame for d in distances(kept)] == [3] and set(PCL) <= set(kept)
    # a pair edited by hand onto two frames is not a distance, and goes with all
    broken = dict(kept, distance_9_start=np.full((4, 2), 1.0), distance_9_end=np.ones((4, 2)))
    assert [d.key for d in distances(broken)] == [2]
    assert set(without_distances(broken)) == set(PCL)
    numbered, key = with_distance(broken, 4, 0, (0.0, 0.0), (0.0, 5.0))
    assert key == 10                                          # never a number in use


def test_the_table_has_a_row_per_distance_with_time_and_length():
    marks, _ = with_distance({}, 4, 3, (0.0, 0.0), (6.0, 8.0))
    marks, _ = with_distance(marks, 4, 1, (2.0, 2.0), (2.0, 5.0))
    table = distance_table(marks, [0.0, 0.5, 1.0, 1.5], "subj-1")
    assert tuple(table.columns) == DISTANCE_COLUMNS
    assert table[["distance", "frame", "time_s", "length_mm"]].values.tolist() == [
        [2, 1, 0.5, 3.0], [1, 3, 1.5, 10.0]]
    assert (table["subject"] == "subj-1").all()
    empty = distance_table(PCL, [0.0] * 4, "s")
    assert len(empty) == 0 and tuple(empty.columns) == DISTANCE_COLUMNS


def test_distances_travel_with_the_project_and_a_new_tracking(tmp_path):
    from shapes_factory import tube_analysis

    from core.corrections import run_retrack
    from core.outputs import write_outputs
    from core.pipeline import AnalysisResult
    from core.project import load_project, save_project

    result = tube_analysis((100.0, 110.0, 120.0))
    assert "distances" not in write_outputs(result, tmp_path / "none", overlay=False)
    assert not list((tmp_path / "none").glob("distances*"))
    marks, _ = with_distance(result.landmarks, 3, 1, (5.0, 5.0), (5.0, 17.0))
    result.set_landmarks(marks)
    save_project(result.to_project(), tmp_path / "p.pvt")
    loaded = AnalysisResult.from_project(load_project(tmp_path / "p.pvt"))
    assert [(d.frame, d.length_mm) for d in distances(loaded.landmarks)] == [(1, 12.0)]
    again = run_retrack(loaded, device="cpu")
    assert [(d.frame, d.length_mm) for d in distances(again.landmarks)] == [(1, 12.0)]
    written = write_outputs(again, tmp_path / "out", overlay=False)
    table = pd.read_csv(written["distances"])
    assert written["distances"].name == "distances.csv"
    assert table["length_mm"].tolist() == [12.0]
    assert table["subject"].iloc[0] == again.series.subject      # the pseudonym
