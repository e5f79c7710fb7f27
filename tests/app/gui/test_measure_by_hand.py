"""Measure a distance (D) or an angle (G) by hand: clicks on a frame, drawn with the
value, undone, saved, exported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gui_helpers import disc_case

from core.measurements import measurements


def _texts(overlay):
    return sorted(t.toPlainText() for t in overlay.ruler_text if t.isVisible())


def test_two_clicks_measure_a_distance_on_this_frame(shown):
    window, result = shown
    overlay = window.pcl.overlay
    window.state.set_frame(2)
    assert not window.remove_measurements_action.isEnabled()
    rebuilt, marked = [], []
    window.state.result_changed.connect(lambda: rebuilt.append(1))
    window.state.marks_changed.connect(lambda: marked.append(1))
    window.distance_action.trigger()                           # D
    assert window.pcl.placing and "distance starts" in window.status_label.text()
    window.pcl.click(5.0, 10.0)
    assert overlay.ruler_ends.isVisible() and not overlay.rulers.isVisible()  # first end
    window.pcl.click(8.0, 14.0)
    assert not window.pcl.placing and window.state.dirty
    assert window.status_label.text() == "Distance 1: 5.0 mm on frame 3"
    assert (rebuilt, marked) == ([], [1])   # nothing measured from it: no views rebuilt
    assert [(m.frame, m.value) for m in measurements(result.landmarks)] == [(2, 5.0)]
    assert overlay.rulers.isVisible() and _texts(overlay) == ["5.0 mm"]
    xs, ys = overlay.rulers.getData()
    np.testing.assert_allclose(np.c_[xs, ys], [[5.0, 10.0], [8.0, 14.0]])
    assert window.remove_measurements_action.isEnabled()
    # another frame does not show it
    window.state.set_frame(3)
    assert not overlay.rulers.isVisible() and _texts(overlay) == []
    assert not window.remove_measurements_action.isEnabled()
    window.state.set_frame(2)
    window.distance_action.trigger()
    window.pcl.click(0.0, 0.0)
    window.pcl.click(0.0, 12.0)
    assert _texts(overlay) == ["12.0 mm", "5.0 mm"]
    window.undo()                                              # one step per distance
    assert _texts(overlay) == ["5.0 mm"]
    window.redo()
    window.remove_measurements_action.trigger()                # Shift+D
    assert measurements(result.landmarks) == [] and not overlay.rulers.isVisible()
    window.undo()
    assert len(measurements(result.landmarks)) == 2


def test_three_clicks_measure_an_angle_at_the_middle_one(shown):
    window, result = shown
    overlay = window.pcl.overlay
    window.state.set_frame(1)
    window.angle_action.trigger()                              # G
    assert "first arm" in window.status_label.text()
    window.pcl.click(10.0, 5.0)
    window.pcl.click(10.0, 20.0)
    assert "the end of its second arm" in window.status_label.text()
    xs, ys = overlay.rulers.getData()                          # the first arm, while placing
    np.testing.assert_allclose(np.c_[xs, ys], [[10.0, 5.0], [10.0, 20.0]])
    window.pcl.click(25.0, 35.0)
    assert window.status_label.text() == "Angle 1: 135° on frame 2"
    (m,) = measurements(result.landmarks)
    assert m.kind == "angle" and m.value == pytest.approx(135.0)
    assert _texts(overlay) == ["135°"]
    xs, ys = overlay.rulers.getData()                          # two arms from the vertex
    np.testing.assert_allclose(np.c_[xs, ys], [[10.0, 5.0], [10.0, 20.0], [10.0, 20.0],
                                                [25.0, 35.0]])
    window.undo()
    assert measurements(result.landmarks) == [] and _texts(overlay) == []


def test_a_click_on_one_place_or_escape_measures_nothing(shown):
    window, result = shown
    errors = []
    window.error_handler = lambda exc, _detail: errors.append(exc)
    window.distance_action.trigger()
    window.pcl.click(5.0, 10.0)
    window.pcl.click(5.2, 10.0)
    assert len(errors) == 1 and "at least 1 mm apart" in str(errors[0])
    window.angle_action.trigger()
    window.pcl.click(5.0, 10.0)
    window.stop_pcl_action.trigger()                           # Esc
    assert not window.pcl.placing and not window.pcl.overlay.ruler_ends.isVisible()
    window.distance_action.trigger()
    window.pcl.click(5.0, 10.0)
    window.pcl.click(500.0, 10.0)                              # beside the image
    assert "off the image" in str(errors[-1]) and "distance's end point" in str(errors[-1])
    assert measurements(result.landmarks) == [] and not window.state.dirty


def test_measurements_are_saved_and_exported_with_the_tables(shown, tmp_path, qtbot):
    from app.gui.export_actions import export_tables
    from core.project import load_project

    window, result = shown
    window.state.set_frame(1)
    window.distance_action.trigger()
    window.pcl.click(2.0, 3.0)
    window.pcl.click(2.0, 23.0)
    path = tmp_path / "ruled.pvt"
    assert window._save_to(path)
    assert [m.value for m in measurements(load_project(path).landmarks)] == [20.0]
    written = export_tables(window.state.result, tmp_path / "study.csv")
    assert [p.name for p in written] == ["study_points.csv", "study_frames.csv",
                                         "study_measurements.csv"]
    table = pd.read_csv(written[2])
    assert table[["number", "kind", "frame", "value"]].values.tolist() == [
        [1, "distance", 1, 20.0]]
    assert table["subject"].iloc[0] == result.series.subject
    window.state.set_result(disc_case(), dirty=False)
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.worker is None, timeout=20_000)
    window.state.set_frame(1)
    assert _texts(window.pcl.overlay) == ["20.0 mm"]
