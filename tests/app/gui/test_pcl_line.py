"""The pubococcygeal line in the window: two clicks, drawn, measured, undone, saved."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import RADIUS_MM, STEP_MM, disc_case
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.reference import COCCYX, PUBIS

LINE_Y = 30.0


def _click_mm(window, x_mm, y_mm):
    player = window.player
    pos = player.mapFromScene(player.view.mapViewToScene(QPointF(x_mm, y_mm)))
    viewport = player.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left),
                          (QEvent.Type.MouseButtonRelease, none)):
        QApplication.sendEvent(viewport, QMouseEvent(
            kind, QPointF(pos), viewport.mapToGlobal(QPointF(pos)), left, buttons,
            Qt.KeyboardModifier.NoModifier))


def _tube_window(window, qtbot, angles):
    """A bent tube per frame (``angles``, labelled rectum, tracked by its own outline) in
    the shown window: (result, masks, points)."""
    from shapes_factory import bent_tube

    from app.gui.adapters import result_from_tracks
    from core.series import CineSeries
    from core.track.contours import mask_contour, resample_closed

    masks = [bent_tube(a, shape=(180, 160))[0] for a in angles]
    labels = np.stack(masks).astype(np.uint8)
    points = np.stack([resample_closed(mask_contour(m, (1.0, 1.0)), 64) for m in masks])
    series = CineSeries(50.0 + 100.0 * labels.astype(np.float32), (1.0, 1.0),
                        np.arange(len(angles)) * 0.5, {"subject_id": "tube"})
    result = result_from_tracks(series, labels, ("rectum",), {"rectum": points},
                                model_id="analytic-tube")
    window.state.set_result(result, dirty=False)
    window.show()
    qtbot.waitExposed(window)
    return result, masks, points


def _expected_below(t):
    return 14.0 + RADIUS_MM + STEP_MM * t - LINE_Y


def test_two_clicks_place_the_line_and_every_frame_is_measured(shown):
    window, result = shown
    window.state.set_editing(True)
    window.pcl_action.trigger()                     # L
    assert window.pcl.placing and not window.state.editing   # a click must not paint
    assert "pubic symphysis" in window.status_label.text()
    labels_before = result.labels.copy()
    _click_mm(window, 3.0, LINE_Y)
    assert "coccygeal" in window.status_label.text()
    _click_mm(window, 37.0, LINE_Y)
    assert not window.pcl.placing and not window.pcl_action.isChecked()
    np.testing.assert_array_equal(result.labels, labels_before)
    # placed on every frame, within a screen pixel of where it was clicked
    np.testing.assert_allclose(result.landmarks[PUBIS], [[3.0, LINE_Y]] * 6, atol=0.3)
    np.testing.assert_allclose(result.landmarks[COCCYX], [[37.0, LINE_Y]] * 6, atol=0.3)
    bladder = result.frames[result.frames["organ"] == "bladder"]
    np.testing.assert_allclose(bladder["below_pcl_mm"], _expected_below(np.arange(6)), atol=0.8)
    status = window.status_label.text()
    assert status.startswith("Below the PCL at most: Bladder lowest point ")
    assert status.endswith("mm (above the PCL)")    # 14 + 8 + 5 x 1.5 = 29.5 mm: just above
    assert window.state.dirty and window.remove_pcl_action.isEnabled()
    # drawn on the image, and offered as an index over time
    xs, ys = window.pcl.overlay.line.getData()
    assert window.pcl.overlay.line.isVisible()
    np.testing.assert_allclose(ys, [LINE_Y, LINE_Y], atol=0.3)
    np.testing.assert_allclose(window.state.data.frame_values["below_pcl_mm"]["bladder"],
                               bladder["below_pcl_mm"])
    window.state.set_frame_index("below_pcl_mm")
    _x, y = window.time_plot.curves["bladder"].getData()
    np.testing.assert_allclose(y, bladder["below_pcl_mm"])


def test_undo_redo_and_remove(shown):
    window, result = shown
    assert window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(37.0, LINE_Y)
    placed = result.frames["below_pcl_mm"].to_numpy().copy()
    assert np.isfinite(placed[:6]).all()
    window.undo()
    assert PUBIS not in result.landmarks and result.frames["below_pcl_mm"].isna().all()
    assert not window.pcl.overlay.line.isVisible()
    assert not window.remove_pcl_action.isEnabled()
    window.redo()
    np.testing.assert_allclose(result.frames["below_pcl_mm"], placed)
    assert window.remove_pcl()
    assert result.frames["below_pcl_mm"].isna().all()
    window.undo()
    np.testing.assert_allclose(result.frames["below_pcl_mm"], placed)


def test_placing_stops_with_escape_and_two_close_points_are_refused(shown):
    window, result = shown
    window.pcl_action.trigger()
    window.pcl.click(3.0, LINE_Y)
    window.stop_pcl_action.trigger()               # Esc
    assert not window.pcl.placing and not window.pcl_action.isChecked()
    assert not window.pcl.overlay.ends.isVisible()
    window.pcl.click(37.0, LINE_Y)                  # no longer placing: nothing happens
    assert PUBIS not in result.landmarks
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(6.0, LINE_Y)
    assert PUBIS not in result.landmarks
    assert any("apart" in text for text, _ in window.test_messages)
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(60.0, LINE_Y)                  # beside the 40 mm wide image
    assert PUBIS not in result.landmarks
    assert any("off the image" in text for text, _ in window.test_messages)


def test_the_line_is_saved_with_the_project_and_kept_for_recovery(shown, tmp_path, qtbot):
    from core.project import load_project

    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(37.0, LINE_Y)
    copy = window.autosave()                        # a placed line is work to keep
    assert copy is not None and PUBIS in load_project(copy).landmarks
    path = tmp_path / "with_line.pvt"
    assert window._save_to(path)
    assert not window.state.dirty and not copy.exists()
    assert PUBIS in load_project(path).landmarks
    window.state.set_result(disc_case(), dirty=False)
    assert not window.pcl.overlay.line.isVisible()
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.worker is None, timeout=20_000)
    loaded = window.state.result
    assert loaded is not result and PUBIS in loaded.landmarks
    np.testing.assert_allclose(loaded.frames["below_pcl_mm"], result.frames["below_pcl_mm"])
    assert window.pcl.overlay.line.isVisible() and window.remove_pcl_action.isEnabled()


def test_the_pointer_position_reads_in_mm(shown):
    window, _result = shown
    player = window.player
    seen = []
    player.hovered.connect(seen.append)
    player._on_mouse_moved(player.view.mapViewToScene(QPointF(5.0, 40.0)))
    assert seen[-1] == "x 5.0 mm · y 40.0 mm"
    p = window.state.data.points["bladder"][0, 3]
    player._on_mouse_moved(player.view.mapViewToScene(QPointF(*p)))
    assert "point 3" in seen[-1]


def test_a_tracked_point_becomes_the_organs_reference_point(shown):
    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(37.0, LINE_Y)
    pts = window.state.data.points["bladder"]
    k = int(np.argmax(pts[0][:, 1]))                 # the bladder base at rest
    window.pick_action.trigger()                     # P
    assert window.pcl.picking and "anorectal junction" in window.status_label.text()
    assert not window.pcl.pick(-50.0, -50.0)          # no point there: still picking
    assert window.pcl.picking and "No tracked point" in window.status_label.text()
    assert window.stop_pcl_action.isEnabled()         # Esc still stops it
    _click_mm(window, *pts[0][k])
    assert not window.pcl.picking
    assert result.reference_points == {"bladder": k}
    bladder = result.frames[result.frames["organ"] == "bladder"]
    np.testing.assert_allclose(bladder["ref_below_pcl_mm"], pts[:, k, 1] - LINE_Y, atol=0.3)
    assert "bladder base" in window.status_label.text()
    xs, ys = window.pcl.overlay.refs.getData()
    np.testing.assert_allclose([xs[0], ys[0]], pts[window.state.frame][k])
    window.state.set_frame(4)                        # the star moves with the organ
    xs, ys = window.pcl.overlay.refs.getData()
    np.testing.assert_allclose([xs[0], ys[0]], pts[4][k])
    assert window.clear_refs_action.isEnabled()
    window.undo()
    assert result.reference_points == {} and len(window.pcl.overlay.refs.getData()[0]) == 0
    window.redo()
    assert result.reference_points == {"bladder": k}
    from app.gui.reference import has_user_marks

    assert has_user_marks(result)
    window.remove_pcl()
    assert has_user_marks(result)                    # a marked point alone is work too
    window.undo()
    window.clear_refs_action.trigger()
    assert result.reference_points == {} and result.frames["ref_below_pcl_mm"].isna().all()
    assert PUBIS in result.landmarks                 # the line stays
    window.pick_action.trigger()
    window.stop_pcl_action.trigger()                 # Esc
    assert not window.pcl.picking and not window.stop_pcl_action.isEnabled()


def test_a_frame_where_the_patient_moved_gets_its_own_line(shown):
    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(37.0, LINE_Y)
    window.state.set_frame(4)
    window.pcl_frame_action.trigger()               # Shift+L
    assert window.pcl.placing and window.pcl.target_frame == 4
    window.pcl.click(3.0, LINE_Y + 5)
    window.pcl.click(37.0, LINE_Y + 5)
    np.testing.assert_allclose(result.landmarks[PUBIS][:, 1], [30, 30, 30, 30, 35, 30])
    below = result.frames.loc[result.frames["organ"] == "bladder", "below_pcl_mm"].to_numpy()
    np.testing.assert_allclose(below[4], _expected_below(4) - 5, atol=0.8)
    np.testing.assert_allclose(below[3], _expected_below(3), atol=0.8)
    assert window.pcl.overlay.line.getData()[1][0] == pytest.approx(LINE_Y + 5, abs=0.3)
    assert window.editor.undo_stack.undoText() == "Place the pubococcygeal line on frame 5"
    window.undo()
    np.testing.assert_allclose(result.landmarks[PUBIS][:, 1], 30.0)


def test_the_anorectal_junction_draws_the_h_and_m_lines(window, qtbot):
    from gui_helpers import disc_case

    result = disc_case(organ="rectum")
    window.state.set_result(result, dirty=False)
    window.show()
    qtbot.waitExposed(window)
    window.pcl.start()
    window.pcl.click(3.0, LINE_Y)
    window.pcl.click(37.0, LINE_Y)
    assert not window.pcl.overlay.hmo.isVisible()            # no junction yet
    pts = window.state.data.points["rectum"]
    k = int(np.argmax(pts[0][:, 1]))
    window.pick_action.trigger()
    _click_mm(window, *pts[0][k])
    assert result.reference_points == {"rectum": k}
    window.state.set_frame(2)
    overlay = window.pcl.overlay
    assert overlay.hmo.isVisible() and all(t.isVisible() for t in overlay.hmo_text)
    xs, ys = overlay.hmo.getData()
    arj = pts[2][k]
    # H: the pubic end to the junction; M: the junction straight up to the level line
    np.testing.assert_allclose(np.c_[xs, ys], [[3.0, LINE_Y], arj, arj, [arj[0], LINE_Y]],
                               atol=1e-9)
    window.undo()
    assert not overlay.hmo.isVisible()


def test_the_anal_canal_line_measures_a_rectocele(window, qtbot):
    from gui_helpers import disc_case

    from core.rectocele import ANAL_HIGH, rectocele_depth

    result = disc_case(organ="rectum")
    window.state.set_result(result, dirty=False)
    window.show()
    qtbot.waitExposed(window)
    front = 19.5 - RADIUS_MM                       # the disc's anterior edge (x, mm)
    window.anal_action.trigger()                   # A
    assert window.pcl.placing and window.pcl.kind == "anal"
    assert "anal canal" in window.status_label.text() and not window.pcl_action.isChecked()
    _click_mm(window, front + 4, 45.0)             # low on the canal's anterior wall
    _click_mm(window, front + 4, 20.0)             # higher up
    assert not window.pcl.placing and ANAL_HIGH in result.landmarks
    line = np.array([[front + 4, 45.0], [front + 4, 20.0]])
    depth = result.frames.sort_values("frame")["rectocele_depth_mm"].to_numpy()
    pts = window.state.data.points["rectum"]
    expected = [rectocele_depth(p, line) for p in pts]
    np.testing.assert_allclose(depth, expected, atol=0.5)
    assert np.nanmax(depth) > 2 and "rectocele at most" in window.status_label.text()
    assert window.pcl.overlay.anal.isVisible() and window.remove_anal_action.isEnabled()
    assert PUBIS not in result.landmarks           # the PCL is another line
    copy = window.autosave()                       # a placed line is work to keep
    assert copy is not None and copy.exists()
    window.undo()
    assert ANAL_HIGH not in result.landmarks and not window.pcl.overlay.anal.isVisible()
    window.redo()
    assert window.remove_anal_line() and ANAL_HIGH not in result.landmarks
    assert result.frames["rectocele_depth_mm"].isna().all()
    # Shift+A: on the current frame only; the others take the nearest placed frame's
    window.state.set_frame(2)
    window.anal_frame_action.trigger()
    assert window.pcl.placing and window.pcl.target_frame == 2
    _click_mm(window, front + 4, 45.0)
    _click_mm(window, front + 4, 20.0)
    placed = result.landmarks[ANAL_HIGH]
    assert np.isfinite(placed[2]).all() and np.isnan(np.delete(placed, 2, axis=0)).all()
    assert result.frames["rectocele_depth_mm"].notna().all()


def test_the_anal_canal_line_is_fitted_to_each_frame(window, qtbot):
    from gui_helpers import disc_case

    from core.rectocele import ANAL_LOW, fit_anal_line

    errors = []
    window.error_handler = lambda exc, _details: errors.append(exc)
    window.state.set_result(disc_case(organ="bladder"), dirty=False)
    window.fit_anal_action.trigger()                 # no rectum: one clear message
    assert len(errors) == 1 and "no rectum" in str(errors[0])
    result = disc_case(organ="rectum")
    window.state.set_result(result, dirty=False)
    window.fit_anal_action.trigger()
    for t in (0, 5):                                 # each frame its own line
        line = fit_anal_line(result.labels[t] == 1, result.series.spacing_mm)
        np.testing.assert_allclose(result.landmarks[ANAL_LOW][t], line[0])
    assert window.pcl.overlay.anal.isVisible() and window.state.dirty
    assert "fitted on" not in window.status_label.text()    # every frame fitted
    window.undo()
    assert ANAL_LOW not in result.landmarks
    result.labels[3] = 0                             # a frame without its rectum
    window.fit_anal_action.trigger()
    assert window.status_label.text().startswith("Anal canal line fitted on 5 of 6 frames")
    assert np.isnan(result.landmarks[ANAL_LOW][3]).all()


def test_the_status_line_keeps_each_grade_with_its_measure():
    import pandas as pd

    from app.gui.reference import pcl_report

    table = pd.DataFrame([{"organ": "rectum", "max_ref_below_pcl_mm": 35.0,
                           "max_below_pcl_mm": 60.0, "pcl_grade": "moderate",
                           "hmo_grade": "H mild, M mild", "max_rectocele_depth_mm": 25.0,
                           "rectocele_grade": "moderate"}])
    # the PCL's "moderate" is not dropped because the rectocele's grade reads the same
    assert pcl_report(table) == ("Below the PCL at most: anorectal junction +35.0 mm "
                                 "(moderate; H mild, M mild); rectocele at most +25.0 mm "
                                 "(moderate)")


def test_the_anorectal_angle_is_measured_drawn_and_follows_a_corrected_frame(window, qtbot):
    from shapes_factory import bent_tube

    from core.anorectal import anorectal_arms
    from core.track.contours import mask_contour

    angles = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]       # opening on straining
    result, masks, _points = _tube_window(window, qtbot, angles)
    line = bent_tube(100.0)[1]
    overlay = window.pcl.overlay
    assert not overlay.ara.isVisible()
    window.anal_action.trigger()
    _click_mm(window, *line[0])
    _click_mm(window, *line[1])
    measured = result.frames.sort_values("frame")["anorectal_angle_deg"].to_numpy()
    np.testing.assert_allclose(measured, angles, atol=2.0)
    assert "anorectal angle 100° at rest, 100–150°" in window.status_label.text()
    # drawn on the current frame: the arms and their value
    window.state.set_frame(4)
    placed = np.stack([result.landmarks["anal_canal_low"][4],
                       result.landmarks["anal_canal_high"][4]])
    xs, ys = overlay.ara.getData()
    np.testing.assert_allclose(np.c_[xs, ys], anorectal_arms(
        mask_contour(masks[4], (1.0, 1.0)), placed), atol=1e-9)
    assert overlay.ara.isVisible() and overlay.ara_text.toPlainText() == "140°"
    # a corrected frame is measured again on its new outline
    result.labels[4] = bent_tube(170.0, shape=(180, 160))[0]
    window.state.labels_changed.emit(4)
    assert overlay.ara_text.toPlainText() in ("169°", "170°", "171°")
    assert window.remove_anal_line() and not overlay.ara.isVisible()


def test_the_anal_canal_line_finds_the_junction_that_ends_the_h_line(window, qtbot):
    """With the anal canal line and no junction marked, the junction is the corner of
    the angle in each frame: drawn as a star with the H- and M-lines, followed when a
    frame is corrected, and replaced by a junction the user marks."""
    from shapes_factory import bent_tube, tube_corner

    result, _masks, points = _tube_window(window, qtbot, [95.0, 105.0, 115.0, 120.0])
    overlay = window.pcl.overlay
    window.pcl.start()
    window.pcl.click(60.0, 100.0)
    window.pcl.click(150.0, 95.0)
    assert not overlay.hmo.isVisible() and len(overlay.refs.getData()[0]) == 0
    line = bent_tube(95.0)[1]
    window.anal_action.trigger()
    _click_mm(window, *line[0])
    _click_mm(window, *line[1])
    assert "anorectal junction (automatic) +" in window.status_label.text()
    window.state.set_frame(2)
    star = np.c_[overlay.refs.getData()][0]
    np.testing.assert_allclose(star, tube_corner(115.0), atol=1.6)
    np.testing.assert_allclose(star, result.reference_tracks()["rectum"][2], atol=1e-9)
    assert overlay.hmo.isVisible()
    xs, ys = overlay.hmo.getData()
    np.testing.assert_allclose([xs[0], ys[0], xs[1], ys[1]], [60.0, 100.0, *star], atol=1e-9)
    # the read-out beside the video: the H-line (junction to pubis) and the M-line
    h_line = float(np.hypot(*(star - (60.0, 100.0))))
    assert window.panel.cells[("ref_to_pubis_mm", "rectum")].text() == f"{h_line:.1f}"
    m_line = result.frames.set_index("frame").loc[2, "ref_below_pcl_mm"]
    assert window.panel.cells[("ref_below_pcl_mm", "rectum")].text() == f"{m_line:.1f}"
    # a corrected frame: the junction is found again on its outline
    result.labels[2] = bent_tube(80.0, shape=(180, 160))[0]
    window.state.labels_changed.emit(2)
    np.testing.assert_allclose(np.c_[overlay.refs.getData()][0], tube_corner(80.0), atol=1.6)
    # a junction marked by hand replaces the one found
    k = 20
    window.pick_action.trigger()
    _click_mm(window, *points[2][k])
    assert result.reference_points == {"rectum": k} and not result.junction_found
    np.testing.assert_allclose(np.c_[overlay.refs.getData()][0], points[2][k], atol=1e-9)
    assert "anorectal junction +" in window.status_label.text()
    window.undo()
    np.testing.assert_allclose(np.c_[overlay.refs.getData()][0], tube_corner(80.0), atol=1.6)
