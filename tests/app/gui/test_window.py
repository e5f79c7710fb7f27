"""Main window: state → view and view → state (thin)."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import RADIUS_MM, STEP_MM, fake_analyze
from PySide6.QtCore import QPointF, Qt


def test_frame_change_moves_slider_cursors_and_contours(loaded):
    w = loaded
    data = w.state.data
    w.state.set_frame(3)
    assert w.transport.slider.value() == 3
    assert w.time_plot.cursor.value() == pytest.approx(data.times_s[3])
    assert w.kymograph.cursor.value() == pytest.approx(data.times_s[3])
    x, y = w.player.overlays["bladder"].line.getData()
    # the drawn contour is the tracked circle of frame 3 (closed: first point repeated)
    np.testing.assert_allclose(np.column_stack([x[:-1], y[:-1]]), data.points["bladder"][3])
    assert np.mean(y[:-1]) == pytest.approx(14.0 + 3 * STEP_MM)
    _, prof = w.profile.curves["bladder"].getData()
    np.testing.assert_allclose(prof, 1.0 / RADIUS_MM, rtol=0.02)
    assert w.transport.time_label.text() == "1.50 / 2.50 s · 4/6"


def test_slider_and_plot_click_seek(loaded, qtbot):
    w = loaded
    w.show()
    qtbot.waitExposed(w)
    w.transport.slider.setValue(4)
    assert w.state.frame == 4
    w.time_plot.seek_time(1.1)  # nearest frame time 1.0 s → frame 2
    assert w.state.frame == 2
    # a real mouse click on the time plot at t = 2.0 s
    vb = w.time_plot.plot.getViewBox()
    scene_pos = vb.mapViewToScene(QPointF(2.0, 1.0))
    view_pos = w.time_plot.plot.mapFromScene(scene_pos)
    qtbot.mouseClick(w.time_plot.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert w.state.frame == 4


def test_keys_step_and_visibility(loaded, qtbot):
    w = loaded
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitActive(w)
    w.state.set_frame(0)
    qtbot.keyClick(w, Qt.Key.Key_End)
    assert w.state.frame == 5
    qtbot.keyClick(w, Qt.Key.Key_Left)
    assert w.state.frame == 4
    w.panel.organ_boxes["bladder"].setChecked(False)
    assert not w.state.visible["bladder"]
    assert not w.player.overlays["bladder"].line.isVisible()
    assert not w.time_plot.curves["bladder"].isVisible()


def test_an_organ_absent_from_every_frame_draws_no_curve(window, qtbot):
    import warnings

    from gui_helpers import disc_case

    result = disc_case()
    result.organs = ("bladder", "uterus_vagina")  # no uterus_vagina label in any frame
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # was: pyqtgraph's All-NaN slice
        window.state.set_result(result, dirty=False)
        window.show()
        qtbot.waitExposed(window)
        for t in range(window.state.data.n_frames):  # every view, every frame
            window.state.set_frame(t)
            qtbot.wait(1)
    combo = window.kymograph.organ_combo  # nothing to show along its contour
    assert combo.findData("uterus_vagina") == -1 and combo.findData("bladder") >= 0
    assert set(window.time_plot.curves) == {"bladder"}
    window.panel.organ_boxes["uterus_vagina"].setChecked(False)  # toggling it is harmless
    assert not window.state.visible["uterus_vagina"]


def test_hover_reports_point(loaded):
    w = loaded
    w.state.set_frame(2)
    p = w.state.data.points["bladder"][2, 7]
    hit = w.player.point_at(p[0] + 0.5, p[1])
    assert hit == ("bladder", 7)
    text = w.player.describe_point(*hit)
    assert "point 7" in text and f"{1 / RADIUS_MM:+.3f}"[:5] in text
    assert w.player.point_at(-100.0, -100.0) is None


def test_playback_advances_frames(loaded, qtbot):
    w = loaded
    w.playback.set_fps(50)
    w.state.set_frame(0)
    w.playback.play()
    qtbot.waitUntil(lambda: w.state.frame >= 2, timeout=3000)
    w.playback.stop()
    assert not w.playback.playing


def test_organ_colour_choice_is_used_and_remembered(loaded, settings, qtbot):
    from PySide6.QtGui import QColor

    from app.gui import theme
    from app.gui.main_window import MainWindow

    try:
        loaded.set_organ_colour("bladder", QColor(10, 200, 30))
        pen = loaded.player.overlays["bladder"].line.opts["pen"]
        assert pen.color().getRgb()[:3] == (10, 200, 30)
        settings.sync()
        theme.COLOUR_OVERRIDES.clear()
        again = MainWindow(settings=settings)
        qtbot.addWidget(again)
        assert theme.organ_rgb("bladder") == (10, 200, 30)
    finally:
        theme.COLOUR_OVERRIDES.clear()


def test_drop_opens_the_file(window, qtbot, tmp_path, disc_result):
    from gui_helpers import write_nifti_series
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.nii.gz"
    write_nifti_series(disc_result, path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        window.dropEvent(event)
    assert window.state.source_path == path


def test_tracking_warnings_reach_the_status_bar(window, qtbot, disc_result, tmp_path):
    import dataclasses

    from gui_helpers import fake_analyze, write_nifti_series

    note = "bladder: in frames 2–3 the segmentation disagrees with the image motion"
    result = dataclasses.replace(disc_result,
                                 settings={**disc_result.settings, "warnings": [note]})
    window.analyze = fake_analyze(result)
    path = tmp_path / "warned.nii.gz"
    write_nifti_series(result, path)
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        window.open_path(path)
    qtbot.waitUntil(lambda: "warning" in window.status_label.text(), timeout=10_000)
    assert "1 warning" in window.status_label.text()
    assert window.status_label.toolTip() == note


def test_series_panel_says_how_the_network_ran(window, disc_result):
    import dataclasses

    result = dataclasses.replace(disc_result, settings={
        **disc_result.settings, "segmentation_backend": "onnx-int8",
        "segmentation_scales": [0.93, 1.07]})
    window.state.set_result(result, dirty=False)
    assert "model: analytic-disc (onnx-int8, 2 passes)" in window.panel.info_label.text()
    # the default temporal weight is not named (the tooltip holds every setting) ...
    result = dataclasses.replace(result, settings={
        **result.settings, "segmentation_scales": [1.0], "segmentation_temporal_weight": 0.15})
    window.state.set_result(result, dirty=False)
    assert window.panel.info_label.text().endswith("model: analytic-disc (onnx-int8, 1 pass)")
    assert "temporal weight: 0.15" in window.panel.info_label.toolTip()
    assert "scales: [1.0]" in window.panel.info_label.toolTip()
    # ... another one is, an analysis made before it was the default (0) too
    for weight in (0.25, 0.0):
        result = dataclasses.replace(result, settings={
            **result.settings, "segmentation_temporal_weight": weight})
        window.state.set_result(result, dirty=False)
        assert (f"model: analytic-disc (onnx-int8, 1 pass, temporal weight {weight:g})"
                in window.panel.info_label.text())
    window.state.set_result(disc_result, dirty=False)  # labels given: the model id alone
    assert window.panel.info_label.text().endswith("model: analytic-disc")
    assert window.panel.info_label.toolTip() == ""


def test_series_panel_knows_the_segmenters_default_temporal_weight():
    from app.gui import display_panel
    from core.segment import infer

    assert display_panel.DEFAULT_TEMPORAL_WEIGHT == infer.DEFAULT_TEMPORAL_WEIGHT


def recording(result):
    """An analyze function that records the options of each call, and that list."""
    seen: list[dict] = []

    def recording_analyze(series, **options):
        seen.append(options)
        yield from fake_analyze(result, n_steps=1)(series, **options)

    return seen, recording_analyze


def test_repair_can_be_turned_off_for_the_next_analyses_and_is_remembered(
        window, settings, disc_result, qtbot):
    from app.gui.main_window import MainWindow

    seen, recording_analyze = recording(disc_result)
    window.analyze = recording_analyze
    assert window.repair_action.isChecked() and "repair" not in window.analyze_options
    window.repair_action.setChecked(False)
    assert window.analyze_options["repair"] is False
    assert window.open_series(disc_result.series)
    qtbot.waitUntil(lambda: window.worker is None, timeout=10_000)
    assert seen and seen[-1]["repair"] is False
    # a new window starts with the choice remembered, and turning it on again drops it
    again = MainWindow(settings=settings, analyze=recording_analyze)
    qtbot.addWidget(again)
    assert not again.repair_action.isChecked() and again.analyze_options["repair"] is False
    again.repair_action.setChecked(True)
    assert "repair" not in again.analyze_options
    assert settings.value("analysis/repair", type=bool) is True
    again.shutdown()


def test_two_zoom_passes_can_be_turned_off_for_the_next_analyses_and_are_remembered(
        window, settings, disc_result, qtbot):
    from app.gui.main_window import MainWindow

    seen, recording_analyze = recording(disc_result)
    window.analyze = recording_analyze
    # on by default (rule 136): the Segmenter's default, two passes
    assert window.zoom_action.isChecked() and "scales" not in window.analyze_options
    window.zoom_action.setChecked(False)
    assert window.analyze_options["scales"] == [1.0]
    assert window.open_series(disc_result.series)
    qtbot.waitUntil(lambda: window.worker is None, timeout=10_000)
    assert seen and seen[-1]["scales"] == [1.0]
    # a new window starts with the choice remembered; turning it on drops the one zoom
    again = MainWindow(settings=settings, analyze=recording_analyze)
    qtbot.addWidget(again)
    assert not again.zoom_action.isChecked() and again.analyze_options["scales"] == [1.0]
    again.zoom_action.setChecked(True)
    assert "scales" not in again.analyze_options
    assert settings.value("analysis/zoom_passes", type=bool) is True
    again.shutdown()
    # zooms given on the command line win over the remembered choice and are kept
    settings.setValue("analysis/zoom_passes", True)
    given = MainWindow(settings=settings, analyze=recording_analyze,
                       analyze_options={"scales": [1.0]})
    qtbot.addWidget(given)
    assert not given.zoom_action.isChecked() and given.analyze_options["scales"] == [1.0]
    given.shutdown()
    three = MainWindow(settings=settings, analyze=recording_analyze,
                       analyze_options={"scales": [0.9, 1.0, 1.1]})
    qtbot.addWidget(three)
    assert three.zoom_action.isChecked()
    assert three.analyze_options["scales"] == [0.9, 1.0, 1.1]
    three.shutdown()


def test_the_shortcuts_window_lists_the_menus_keys(loaded):
    from app.gui.dialogs import shortcut_rows

    rows = shortcut_rows(loaded.menuBar())
    by_action = {text: (menu, key) for menu, text, key in rows}
    assert by_action["Place the pubococcygeal line"] == ("Analysis", "L")
    assert by_action["Edit labels"] == ("Edit", "E")
    assert by_action["Play / pause"] == ("View", "Space")
    assert "Brush organ 4" not in " ".join(by_action)      # hidden actions are not listed
    dlg = loaded.show_shortcuts()
    table = dlg.layout().itemAt(0).widget()
    assert table.rowCount() == len(rows) and table.item(0, 0).text() == rows[0][2]
    dlg.close()


def test_a_new_result_leaves_no_old_rows_painted(window, qtbot):
    """The organ and read-out rows of the previous result are hidden at once, not only
    when their deferred deletion runs (a screenshot taken before it showed them)."""
    from gui_helpers import disc_case
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication, QCheckBox, QLabel

    panel = window.panel

    def visible(kind, parent):
        return [w for w in parent.findChildren(kind) if w.isVisible()]

    window.show()
    qtbot.waitExposed(window)
    window.state.set_result(disc_case(organ="bladder"), dirty=False)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.processEvents()
    n_labels = len(visible(QLabel, panel.frame_box))
    assert n_labels > len(panel.READOUT)
    for organ in ("rectum", "uterus_vagina"):                  # no event loop in between
        window.state.set_result(disc_case(organ=organ), dirty=False)
    QApplication.processEvents()      # lays out the new rows; deferred deletes wait
    assert [b.text() for b in visible(QCheckBox, panel.organ_group)] == [
        b.text() for b in panel.organ_boxes.values()]
    assert len(visible(QLabel, panel.frame_box)) == n_labels


def test_the_window_fits_a_1440_by_900_screen_with_three_organs(window, qtbot):
    """The display panel's read-out grows with each measure; past the screen it
    scrolls instead of making the window taller."""
    from gui_helpers import disc_case

    from app.gui.adapters import result_from_tracks

    one = disc_case()
    labels = one.labels.copy()
    labels[:, :5] = 2                                   # two more organs, as strips
    labels[:, -5:] = 3
    points = {o: one.tracks.points["bladder"] for o in ("bladder", "uterus_vagina", "rectum")}
    result = result_from_tracks(one.series, labels, ("bladder", "uterus_vagina", "rectum"),
                                points, model_id="three")
    window.resize(1440, 900)
    window.show()                                       # shown first, as the app is
    qtbot.waitExposed(window)
    window.state.set_result(result, dirty=False)
    assert window.height() <= 900
    # the panel no longer sets the window's least height (it was 917 px with a
    # project's series description, one read-out row more than fitted)
    assert window.minimumSizeHint().height() < 700
    area = window.docks["display"].widget()
    assert area.widget() is window.panel and len(window.panel.cells) == 3 * len(
        window.panel.READOUT)
    qtbot.waitUntil(lambda: area.viewport().width()
                    >= window.panel.minimumSizeHint().width(), timeout=2000)  # not cut off
    assert not area.verticalScrollBar().isVisible()      # three organs fit unscrolled


def test_a_long_title_leaves_the_levels_widget_inside_the_player(window, qtbot):
    """The read-out above the image spans the columns: a long series title once set
    the image column's least width and pushed the levels histogram off the view."""
    from gui_helpers import disc_case
    from PySide6.QtWidgets import QApplication

    result = disc_case()
    result.series.meta["series_description"] = "straining, sagittal T2 SSFSE " * 3
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    window.state.set_result(result, dirty=False)
    player = window.player
    qtbot.waitUntil(lambda: player.hist.isVisible(), timeout=2000)
    QApplication.processEvents()
    hist = player.hist.geometry()
    assert player.info.geometry().width() > player.view.geometry().width()  # spans
    assert hist.x() + hist.width() <= player.width()
    assert hist.width() >= 90                            # room for the histogram itself
    assert "…" in player.info.text and "frame 1/6" in player.info.text
