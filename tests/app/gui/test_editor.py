"""Label correction in the window: brush strokes, undo/redo, keys, re-track, save."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import disc_case
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


@pytest.fixture
def editable(window):
    """The window with a fresh disc result (edits change it), frame 2 shown, editing on."""
    result = disc_case()
    window.state.set_result(result, dirty=False)
    window.state.set_frame(2)
    window.state.set_editing(True)
    return window, result


def _send(widget, kind, pos, button, buttons):
    ev = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def _widget_pos(window, row, col):
    """Where pixel (row, col) of the frame is drawn in the player's viewport."""
    player = window.player
    item_pos = QPointF(col + 0.5, row + 0.5)  # the label layer's coordinates are pixels
    scene = player.labels_layer.mapToScene(item_pos)
    return player.mapFromScene(scene)


def test_a_mouse_drag_paints_the_chosen_organ_and_undo_restores_it(editable, qtbot):
    window, result = editable
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    before = result.labels[2].copy()
    viewport = window.player.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    path = [_widget_pos(window, 4, c) for c in range(5, 36, 2)]
    _send(viewport, QEvent.Type.MouseButtonPress, path[0], left, left)
    for p in path[1:]:
        _send(viewport, QEvent.Type.MouseMove, p, none, left)
    _send(viewport, QEvent.Type.MouseButtonRelease, path[-1], left, none)
    changed = result.labels[2] != before
    assert changed.any(), "the drag painted nothing"
    assert (result.labels[2][changed] == 1).all()
    assert changed[4, 8:33].all()  # a continuous line along row 4
    assert not (result.labels[[0, 1, 3, 4, 5]] != disc_case().labels[[0, 1, 3, 4, 5]]).any()
    assert result.manual_frames == [2] and window.state.dirty
    assert window.undo_action.isEnabled() and "frame 3" in window.undo_action.text()
    window.undo_action.trigger()
    np.testing.assert_array_equal(result.labels[2], before)
    assert result.manual_frames == [] and result.provenance[2]["source"] == "auto"
    window.redo_action.trigger()
    assert (result.labels[2] != before).sum() == changed.sum() and result.manual_frames == [2]


def test_strokes_paint_erase_and_each_is_one_undo_step(editable):
    window, result = editable
    layer = window.player.labels_layer
    disc = result.labels[2].copy()
    layer.begin_stroke((2, 2))
    layer.continue_stroke((2, 30))
    layer.end_stroke()
    after_paint = result.labels[2].copy()
    assert after_paint[2, 2:31].all() and after_paint.sum() > disc.sum()
    # erasing removes only the chosen organ: background stays background
    window.state.set_erasing(True)
    r0, c0 = np.argwhere(disc == 1).mean(axis=0)
    layer.begin_stroke((r0, c0))
    layer.end_stroke()
    assert result.labels[2][int(r0), int(c0)] == 0
    assert window.editor.undo_stack.count() == 2
    window.undo()
    np.testing.assert_array_equal(result.labels[2], after_paint)
    window.undo()
    np.testing.assert_array_equal(result.labels[2], disc)
    assert not window.undo_action.isEnabled()
    # a stroke that changes nothing is not an undo step
    window.state.set_erasing(True)
    layer.begin_stroke((0, 0))
    layer.end_stroke()
    assert window.editor.undo_stack.count() == 0 or not window.editor.undo_stack.canUndo()


def test_keys_switch_editing_organ_eraser_and_brush(window, qtbot):
    result = disc_case()
    window.state.set_result(result, dirty=False)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_E)
    assert window.state.editing and window.player.labels_layer.isVisible()
    assert window.edit_panel.edit_box.isChecked()
    QTest.keyClick(window, Qt.Key.Key_X)
    assert window.state.erasing and window.edit_panel.erase_box.isChecked()
    size = window.state.brush_mm
    QTest.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.state.brush_mm == pytest.approx(size * 1.25)
    assert window.edit_panel.brush_spin.value() == pytest.approx(size * 1.25, abs=0.05)
    QTest.keyClick(window, Qt.Key.Key_BracketLeft)
    assert window.state.brush_mm == pytest.approx(size)
    QTest.keyClick(window, Qt.Key.Key_1)
    assert window.state.edit_organ == "bladder"
    assert window.organ_actions[0].isVisible() and not window.organ_actions[1].isVisible()
    QTest.keyClick(window, Qt.Key.Key_E)
    assert not window.state.editing and not window.player.labels_layer.isVisible()


def test_editing_is_refused_without_labels_and_while_work_runs(window):
    window.state.set_editing(True)
    assert not window.state.editing and not window.edit_action.isChecked()
    window.state.set_result(disc_case(), dirty=False)
    window.state.set_editing(True)
    assert window.state.editing
    window.state.set_busy(True)
    assert not window.state.editing and not window.state.can_edit
    window.state.set_editing(True)
    assert not window.state.editing
    window.state.set_busy(False)
    window.state.set_editing(True)
    assert window.state.editing


def test_retrack_uses_the_corrected_labels_and_stays_on_the_frame(editable, qtbot):
    window, result = editable
    layer = window.player.labels_layer
    window.state.set_erasing(True)
    rows, cols = np.nonzero(result.labels[2] == 1)
    area = window.state.data.frame_values["area_mm2"]["bladder"][2]
    # erase the disc's lower half
    layer.begin_stroke((rows.max() + 2, cols.min() - 6))
    layer.continue_stroke((rows.max() + 2, cols.max() + 6))
    window.state.set_brush_mm(float(rows.max() - rows.mean()) + 2)
    layer.continue_stroke((rows.max() + 2, cols.min() - 6))
    layer.end_stroke()
    assert window.retrack_action.isEnabled()
    with qtbot.waitSignal(window.state.result_changed, timeout=30_000):
        assert window.retrack()
    qtbot.waitUntil(lambda: not window.busy, timeout=30_000)
    assert window.state.frame == 2
    new = window.state.result
    assert new is not result and new.manual_frames == [2]
    new_area = window.state.data.frame_values["area_mm2"]["bladder"][2]
    assert new_area < 0.75 * area
    assert window.state.data.frame_values["area_mm2"]["bladder"][1] == pytest.approx(
        area, rel=0.2)
    assert window.state.dirty and window.state.editing  # editing goes on after re-tracking
    # the undo history still applies to the re-tracked result
    window.undo()
    assert new.manual_frames == []


def test_saved_project_keeps_the_corrections(editable, tmp_path, monkeypatch):
    from core.project import load_project, manual_frames

    window, result = editable
    layer = window.player.labels_layer
    layer.begin_stroke((3, 3))
    layer.end_stroke()
    path = tmp_path / "fixed.pvt"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert window.save_as()
    assert not window.state.dirty
    project = load_project(path)
    assert manual_frames(project) == [2]
    np.testing.assert_array_equal(project.labels[2], result.labels[2])


def test_n_goes_to_the_flagged_frames(window):
    result = disc_case()
    result.settings["flagged_frames"] = {"bladder": [1, 4]}
    window.state.set_result(result, dirty=False)
    window.goto_flagged(1)
    assert window.state.frame == 1
    window.goto_flagged(1)
    assert window.state.frame == 4
    window.goto_flagged(1)
    assert window.state.frame == 1  # wraps around
    window.goto_flagged(-1)
    assert window.state.frame == 4
    assert "2 of 2" in window.status_label.text()
    window.state.set_result(disc_case(), dirty=False)
    window.goto_flagged(1)
    assert "No flagged frame" in window.status_label.text()


def test_the_info_line_marks_corrected_and_flagged_frames(editable):
    window, result = editable
    result.settings["flagged_frames"] = {"bladder": [2]}
    window.state.set_frame(1)
    window.state.set_frame(2)
    text = window.player.info.text
    assert "check bladder" in text and "corrected" not in text
    layer = window.player.labels_layer
    layer.begin_stroke((3, 3))
    layer.end_stroke()
    assert "✎ corrected" in window.player.info.text
    window.state.set_frame(3)
    assert "corrected" not in window.player.info.text and "check" not in window.player.info.text


def test_c_copies_the_organ_from_the_previous_frame_as_one_undo_step(editable, qtbot):
    window, result = editable
    before = result.labels[2].copy()
    window.copy_organ(-1)                      # frame 2 takes frame 1's disc
    np.testing.assert_array_equal(result.labels[2], result.labels[1])
    assert result.manual_frames == [2] and "Copied" in window.status_label.text()
    assert "Copy bladder from frame 2 to 3" in window.undo_action.text()
    window.copy_organ(-1)                      # nothing left to change: no new step
    assert "already has" in window.status_label.text()
    assert window.editor.undo_stack.count() == 1
    window.undo()
    np.testing.assert_array_equal(result.labels[2], before)
    window.copy_organ(1)                       # Shift+C: from the next frame
    np.testing.assert_array_equal(result.labels[2], result.labels[3])
    window.state.set_frame(0)
    window.copy_organ(-1)
    assert "first" in window.status_label.text()
    window.state.set_editing(False)
    window.copy_organ(1)
    assert "Edit labels (E)" in window.status_label.text()
    assert result.manual_frames == [2]


def test_a_click_paints_a_round_brush_in_mm_on_anisotropic_pixels(window, qtbot):
    result = disc_case(shape=(80, 40), spacing_mm=(0.5, 1.0))
    window.state.set_result(result, dirty=False)
    window.state.set_editing(True)
    window.state.set_brush_mm(3.0)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    before = result.labels[0].copy()
    viewport = window.player.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    at = _widget_pos(window, 70, 8)
    _send(viewport, QEvent.Type.MouseButtonPress, at, left, left)
    _send(viewport, QEvent.Type.MouseButtonRelease, at, left, none)
    rows, cols = np.nonzero(result.labels[0] != before)
    # 3 mm is 6 rows of 0.5 mm and 3 columns of 1 mm either side of the point clicked
    # (the click lands within a screen pixel of pixel (70, 8): a fraction of an image pixel)
    assert abs(rows.mean() - 70) < 0.6 and abs(cols.mean() - 8) < 0.6
    height_mm = (rows.max() - rows.min() + 1) * 0.5
    width_mm = (cols.max() - cols.min() + 1) * 1.0
    assert 5.5 <= height_mm <= 6.5 and 5 <= width_mm <= 7   # round in mm, not in pixels


def test_outline_then_f_fills_the_organ(editable):
    window, result = editable
    window.state.set_erasing(False)
    result.labels[2][:] = 0          # start from an empty frame
    layer = window.player.labels_layer
    window.state.set_brush_mm(1.0)
    layer.begin_stroke((20, 5))
    for p in [(20, 30), (40, 30), (40, 5), (20, 5)]:
        layer.continue_stroke(p)
    layer.end_stroke()
    assert result.labels[2][30, 15] == 0
    window.fill_organ()
    assert (result.labels[2][21:40, 6:30] == 1).all()
    assert "Filled" in window.status_label.text() and "Fill bladder" in window.undo_action.text()
    window.fill_organ()
    assert "Nothing to fill" in window.status_label.text()
    window.undo()
    assert result.labels[2][30, 15] == 0


def test_the_label_layer_hides_the_organs_hidden_in_the_legend(editable):
    from app.gui.editor import label_rgba

    window, result = editable
    layer = window.player.labels_layer
    inside = tuple(np.argwhere(result.labels[2] == 1)[0])
    assert layer.image[inside][3] > 0
    window.state.set_organ_visible("bladder", False)
    assert layer.image[inside][3] == 0
    window.state.set_organ_visible("bladder", True)
    assert layer.image[inside][3] > 0
    lab = np.array([[0, 1, 2]], np.uint8)
    rgba = label_rgba(lab, ("bladder", "rectum"), frozenset({"rectum"}))
    assert rgba[0, 0, 3] == 0 and rgba[0, 1, 3] > 0 and rgba[0, 2, 3] == 0
