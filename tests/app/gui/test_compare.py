"""Two analyses side by side: the compare window and its sync."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import RADIUS_MM, STEP_MM, disc_case

from app.gui.compare import matching_frame
from app.gui.model import view_data_from_result


def test_matching_frame_by_time_and_by_fraction():
    a = np.arange(10) * 0.5 + 3.0          # 10 frames, 0.5 s, starting at 3 s
    b = np.arange(20) * 1.0                # 20 frames, 1 s
    assert matching_frame(a, 0, b, "time") == 0
    assert matching_frame(a, 4, b, "time") == 2      # 2 s after the start
    assert matching_frame(a, 9, b, "time") == 4      # 4.5 s -> nearest 4 (ties go first)
    assert matching_frame(a, 9, b, "fraction") == 19
    assert matching_frame(a, 0, b, "fraction") == 0
    assert matching_frame(b, 19, a, "time") == 9     # beyond the end: the last frame
    with pytest.raises(ValueError, match="sync mode"):
        matching_frame(a, 0, b, "phase")


@pytest.fixture
def compared(loaded, tmp_path, qtbot):
    """The disc result on the left, a longer, slower disc from a saved project on the right."""
    from core.project import save_project

    other = disc_case(n_frames=9, shape=(48, 40))
    other.series.times_s[:] = np.arange(9) * 0.8
    path = tmp_path / "other.pvt"
    save_project(other.to_project(), path)
    before = loaded.state.result
    loaded.state.set_frame(3)
    assert loaded.compare_with(path)
    qtbot.waitUntil(lambda: loaded.compare_window is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not loaded.busy, timeout=20_000)
    assert loaded.state.result is before and loaded.state.frame == 3  # left as it was
    return loaded, loaded.compare_window


def test_compare_window_follows_the_main_frame(compared):
    window, cw = compared
    assert cw.a.frame == 3
    assert cw.b.frame == 2                    # 1.5 s after the start -> 1.6 s
    window.state.set_frame(5)                 # 2.5 s after the start
    assert cw.a.frame == 5 and cw.b.frame == 3  # 2.5 s -> 2.4 s
    cw.set_mode("fraction")
    assert cw.b.frame == 8                    # last frame of each
    assert cw.sync_combo.currentData() == "fraction"
    cw.a.set_frame(0)                         # the compare window's slider moves the main one
    assert window.state.frame == 0 and cw.b.frame == 0
    assert cw.plot.cursors["a"].value() == pytest.approx(0.0)


def test_compare_plot_and_table_show_both(compared):
    _window, cw = compared
    assert set(cw.plot.curves) == {("a", "bladder"), ("b", "bladder")}
    xb, yb = cw.plot.curves[("b", "bladder")].getData()
    np.testing.assert_allclose(xb, np.arange(9) * 0.8)
    frames = cw.b.result.frames
    np.testing.assert_allclose(yb, frames.sort_values("frame")["descent_mm"])
    np.testing.assert_allclose(yb, np.arange(9) * STEP_MM, atol=0.51)  # within a 1 mm pixel
    headers = [cw.table.horizontalHeaderItem(c).text() for c in range(4)]
    assert headers[1:] == ["disc", "disc", "right − left"]
    rows = {cw.table.item(r, 0).text().strip(): r for r in range(cw.table.rowCount())}
    r = rows["max descent (mm)"]
    left, right, diff = (float(cw.table.item(r, c).text()) for c in (1, 2, 3))
    assert left == pytest.approx(5 * STEP_MM, abs=0.51)
    assert right == pytest.approx(8 * STEP_MM, abs=0.51)
    assert diff == pytest.approx(right - left, abs=0.11)
    area = float(cw.table.item(rows["rest area (mm²)"], 1).text())
    assert area == pytest.approx(np.pi * RADIUS_MM**2, rel=0.05)


def test_the_kymographs_share_organ_index_and_colour_scale(compared, qtbot):
    window, cw = compared
    ky = cw.kymographs
    main_index = window.state.point_index
    assert main_index != "displacement_mm"
    cw.tabs.setCurrentWidget(ky)
    assert cw.tabs.tabText(cw.tabs.currentIndex()) == "Along the contour"
    assert [ky.organ_combo.itemData(i) for i in range(ky.organ_combo.count())] == ["bladder"]
    ky.index_combo.setCurrentIndex(ky.index_combo.findData("displacement_mm"))
    assert cw.a.point_index == cw.b.point_index == "displacement_mm"
    # each side draws its own values (point x time): point i of frame t moved t x STEP_MM
    for kymo, n_frames in ((ky.kymo_a, 6), (ky.kymo_b, 9)):
        image = kymo.image.image
        assert image.shape == (cw.a.data.point_values["displacement_mm"]["bladder"].shape[1],
                               n_frames)
        np.testing.assert_allclose(image[:, -1], (n_frames - 1) * STEP_MM, atol=0.51)
    # one colour scale: the union of both sides' ranges, so the longer descent fits
    low_b, high_b = cw.b.data.index_range("displacement_mm")
    high_a = cw.a.data.index_range("displacement_mm")[1]
    assert high_a < high_b
    assert ky.kymo_a.cbar.levels() == pytest.approx(ky.kymo_b.cbar.levels())
    assert ky.kymo_a.cbar.levels()[1] == pytest.approx(high_b)
    assert "disc" in ky.kymo_b.plot.plotItem.titleLabel.text
    # the main window's own choice is not touched by the compare window's
    assert window.state.point_index == main_index
    # the left cursor seeks (the slider, the main window and the right side follow);
    # the right one only follows
    assert ky.kymo_a.cursor.movable and not ky.kymo_b.cursor.movable
    ky.kymo_a.cursor.setValue(float(cw.a.data.times_s[4]))
    ky.kymo_a._on_drag(ky.kymo_a.cursor)
    assert cw.a.frame == 4 and window.state.frame == 4
    assert cw.b.frame == 2 and ky.kymo_b.cursor.value() == pytest.approx(1.6)


def test_closing_the_compare_window_leaves_the_main_window_working(compared, qtbot):
    window, cw = compared
    cw.close()
    cw.deleteLater()
    window.compare_window = None
    qtbot.wait(10)
    window.state.set_frame(2)
    window.state.set_result(disc_case(), dirty=False)
    assert window.state.frame == 0


def test_compare_needs_a_loaded_analysis_and_an_existing_file(window, tmp_path):
    assert not window.compare_action.isEnabled()
    assert not window.compare_with(tmp_path / "missing.pvt")
    window.state.set_result(disc_case(), dirty=False)
    assert window.compare_action.isEnabled()
    assert not window.compare_with(tmp_path / "missing.pvt")
    assert any("missing.pvt" in text for text, _ in window.test_messages)


def test_an_analysis_without_tracks_is_not_compared(loaded):
    from core.series import CineSeries

    s = CineSeries(np.zeros((3, 8, 8), np.float32), (1.0, 1.0), np.arange(3.0), {})
    from app.gui.model import view_data_from_series

    assert loaded.show_compare(view_data_from_series(s)) is None
    assert loaded.compare_window is None
    assert any("no tracked organs" in text for text, _ in loaded.test_messages)
    # and a real one opens
    assert loaded.show_compare(view_data_from_result(disc_case())) is loaded.compare_window


def test_the_summaries_export_as_one_table(compared, tmp_path, monkeypatch):
    import pandas as pd
    from PySide6.QtWidgets import QFileDialog

    from core.indices import SUMMARY_COLUMNS

    _window, cw = compared
    path = tmp_path / "both.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert cw.export_dialog() == path
    table = pd.read_excel(path)
    assert list(table.columns) == ["input", *SUMMARY_COLUMNS]
    assert list(table["input"]) == ["left", "right"] and list(table["frames"]) == [6, 9]
    assert set(table["subject"]) == {"disc"}
    # a failed write is a dialog, not a crash
    shown = []
    monkeypatch.setattr("app.gui.dialogs.show_error", lambda parent, exc, *a: shown.append(exc))
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "a_file" / "x.csv"), ""))
    assert cw.export_dialog() is None and shown


def test_a_line_placed_in_the_main_window_shows_in_the_table(compared):
    window, cw = compared
    window.pcl.start()
    window.pcl.click(3.0, 22.0)
    window.pcl.click(37.0, 22.0)
    rows = {cw.table.item(r, 0).text().strip(): r for r in range(cw.table.rowCount())}
    r = rows["lowest point below PCL, max (mm)"]
    assert float(cw.table.item(r, 1).text()) == pytest.approx(14 + RADIUS_MM + 5 * STEP_MM - 22,
                                                              abs=0.6)
    assert cw.table.item(r, 2).text() == "–"
    g = rows["PCL grade (rule of three)"]
    assert [cw.table.item(g, c).text() for c in (1, 2)] == ["mild", "–"]
    # the left player draws the line too; the right one (no line) does not
    assert cw.lines[0].overlay.line.isVisible() and not cw.lines[1].overlay.line.isVisible()
    assert not any(h.isVisible() for h in cw.lines[0].handles)   # moved in the main window
    np.testing.assert_allclose(cw.lines[0].overlay.line.getData()[1], [22.0, 22.0])


def test_both_players_draw_their_anorectal_angle_and_the_table_compares_it(window, tmp_path,
                                                                           qtbot):
    from shapes_factory import tube_analysis

    from core.project import save_project

    window.state.set_result(tube_analysis((100.0, 120.0, 150.0)), dirty=False)
    path = tmp_path / "other.pvt"
    save_project(tube_analysis((110.0, 105.0, 115.0)).to_project(), path)
    assert window.compare_with(path)
    qtbot.waitUntil(lambda: window.compare_window is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not window.busy, timeout=20_000)
    cw = window.compare_window
    window.state.set_frame(2)
    for placer, expected in zip(cw.lines, (150, 115), strict=True):   # their frame 2 each
        assert placer.overlay.ara.isVisible()
        assert abs(int(placer.overlay.ara_text.toPlainText().rstrip("°")) - expected) <= 2
    rows = {cw.table.item(r, 0).text().strip(): r for r in range(cw.table.rowCount())}
    r = rows["anorectal angle, max (°)"]
    assert [cw.table.item(r, c).text() for c in (1, 2)] == ["150", "115"]


def test_an_organ_absent_on_one_side_is_compared_without_warnings(loaded, tmp_path, qtbot):
    import warnings

    from core.project import save_project

    other = disc_case(n_frames=9, shape=(48, 40))
    other.organs = ("bladder", "uterus_vagina")  # no uterus_vagina in any frame
    path = tmp_path / "other.pvt"
    save_project(other.to_project(), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert loaded.compare_with(path)
        qtbot.waitUntil(lambda: loaded.compare_window is not None, timeout=20_000)
        qtbot.waitUntil(lambda: not loaded.busy, timeout=20_000)
        cw = loaded.compare_window
        for frame in range(9):
            cw.b.set_frame(frame)
        qtbot.wait(50)
    assert set(cw.plot.curves) == {("a", "bladder"), ("b", "bladder")}  # nothing to draw
