"""Dragging a line's end or a measured point moves it (one undo step)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.measurements import measurements
from core.reference import COCCYX, PUBIS


def _drag_mm(window, start, end, steps=6):
    """A left-button drag in the player from ``start`` to ``end`` (xy mm)."""
    player = window.player
    viewport = player.viewport()

    def at(xy):
        return QPointF(player.mapFromScene(player.view.mapViewToScene(QPointF(*xy))))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mod = Qt.KeyboardModifier.NoModifier
    a = at(start)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseButtonPress, a,
                                                 viewport.mapToGlobal(a), left, left, mod))
    for k in range(1, steps + 1):
        xy = np.asarray(start) + (np.asarray(end) - np.asarray(start)) * k / steps
        p = at(xy)
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, p,
                                                     viewport.mapToGlobal(p), none, left, mod))
    b = at(end)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseButtonRelease, b,
                                                 viewport.mapToGlobal(b), left, none, mod))


def _visible_handles(window):
    return {h.info: (h.pos().x(), h.pos().y()) for h in window.pcl.handles if h.isVisible()}


def test_dragging_the_pcl_end_moves_it_on_every_frame_it_was_placed_on(shown):
    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, 30.0)
    window.pcl.click(37.0, 30.0)
    assert set(_visible_handles(window)) == {("pcl", 0), ("pcl", 1)}
    before = result.frames["below_pcl_mm"].to_numpy().copy()
    _drag_mm(window, (37.0, 30.0), (37.0, 26.0))
    np.testing.assert_allclose(result.landmarks[COCCYX], [[37.0, 26.0]] * 6, atol=0.3)
    np.testing.assert_allclose(result.landmarks[PUBIS], [[3.0, 30.0]] * 6)
    assert not np.allclose(result.frames["below_pcl_mm"], before)   # measured again
    assert window.editor.undo_stack.undoText() == "Move an end of the pubococcygeal line"
    window.undo()
    np.testing.assert_allclose(result.landmarks[COCCYX], [[37.0, 30.0]] * 6)
    np.testing.assert_allclose(result.frames["below_pcl_mm"], before)


def test_a_line_placed_on_one_frame_moves_there_only(shown):
    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, 30.0)
    window.pcl.click(37.0, 30.0)
    window.state.set_frame(4)
    window.pcl.start(True)                                    # this frame's own line
    window.pcl.click(3.0, 32.0)
    window.pcl.click(37.0, 32.0)
    _drag_mm(window, (3.0, 32.0), (5.0, 34.0))
    pubis = result.landmarks[PUBIS]
    np.testing.assert_allclose(pubis[4], [5.0, 34.0], atol=0.3)
    np.testing.assert_allclose(np.delete(pubis, 4, axis=0), [[3.0, 30.0]] * 5)


def test_dragging_a_measured_point_changes_its_value(shown):
    window, result = shown
    window.state.set_frame(2)
    window.angle_action.trigger()
    for xy in ((10.0, 5.0), (10.0, 20.0), (25.0, 20.0)):
        window.pcl.click(*xy)
    handles = _visible_handles(window)
    assert set(handles) == {("measure", "angle", 1, i) for i in range(3)}
    _drag_mm(window, (25.0, 20.0), (25.0, 35.0))             # the second arm turns down
    (m,) = measurements(result.landmarks)
    assert abs(m.value - 135.0) < 2.0
    assert window.status_label.text().startswith("Angle 1: 13")
    texts = [t.toPlainText() for t in window.pcl.overlay.ruler_text if t.isVisible()]
    assert texts == [m.text]
    window.undo()
    assert measurements(result.landmarks)[0].value == 90.0


def test_a_move_that_is_refused_puts_the_point_back(shown):
    window, result = shown
    errors = []
    window.error_handler = lambda exc, _detail: errors.append(exc)
    window.distance_action.trigger()
    window.pcl.click(10.0, 10.0)
    window.pcl.click(10.0, 20.0)
    steps = window.editor.undo_stack.count()
    _drag_mm(window, (10.0, 20.0), (10.0, 10.3))              # onto the other end
    assert len(errors) == 1 and "at least 1 mm apart" in str(errors[0])
    assert measurements(result.landmarks)[0].value == 10.0
    assert window.editor.undo_stack.count() == steps
    assert _visible_handles(window)[("measure", "distance", 1, 1)] == (10.0, 20.0)


def test_no_handles_while_painting_labels_or_placing(shown):
    window, _result = shown
    window.pcl.start()
    window.pcl.click(3.0, 30.0)
    window.pcl.click(37.0, 30.0)
    assert _visible_handles(window)
    window.edit_action.trigger()                              # E: labels are painted
    assert not _visible_handles(window)
    window.edit_action.trigger()
    assert _visible_handles(window)
    window.distance_action.trigger()                          # clicks place, not drag
    assert not _visible_handles(window)
    window.stop_pcl_action.trigger()
    assert _visible_handles(window)


def _right_click_mm(window, xy):
    player = window.player
    viewport = player.viewport()
    pos = QPointF(player.mapFromScene(player.view.mapViewToScene(QPointF(*xy))))
    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, right),
                          (QEvent.Type.MouseButtonRelease, none)):
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, viewport.mapToGlobal(pos),
                                                     right, buttons,
                                                     Qt.KeyboardModifier.NoModifier))


def test_a_right_click_on_a_measured_point_removes_that_measurement(shown):
    window, result = shown
    window.pcl.start()
    window.pcl.click(3.0, 30.0)
    window.pcl.click(37.0, 30.0)
    window.distance_action.trigger()
    window.pcl.click(10.0, 5.0)
    window.pcl.click(10.0, 20.0)
    window.angle_action.trigger()
    for xy in ((20.0, 5.0), (20.0, 20.0), (35.0, 20.0)):
        window.pcl.click(*xy)
    _right_click_mm(window, (20.0, 20.0))                     # the angle's vertex
    assert [(m.kind, m.key) for m in measurements(result.landmarks)] == [("distance", 1)]
    assert window.status_label.text().startswith("Removed angle 2 (90°, frame 1)")
    assert set(_visible_handles(window)) == {("pcl", 0), ("pcl", 1),
                                             ("measure", "distance", 1, 0),
                                             ("measure", "distance", 1, 1)}
    _right_click_mm(window, (37.0, 30.0))                     # a line's end: kept
    assert PUBIS in result.landmarks and len(measurements(result.landmarks)) == 1
    window.undo()
    assert [m.key for m in measurements(result.landmarks)] == [1, 2]
