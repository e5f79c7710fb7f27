"""Unsaved corrections survive a crash: the recovery copy, its offer at start, and the
question before another analysis replaces them."""

from __future__ import annotations

import numpy as np
from gui_helpers import disc_case, edit_in_window, fake_analyze
from PySide6.QtWidgets import QMessageBox

from core.project import load_project, manual_frames


def _edit(window):
    result = edit_in_window(window, disc_case(), 2, [(3, 3), (3, 20)])
    assert window.state.dirty
    return result


def _answer(monkeypatch, button):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: button)


def test_a_pause_in_editing_keeps_a_recovery_copy_until_saved(window, qtbot, tmp_path,
                                                              monkeypatch):
    result = _edit(window)
    folder = window.recovery_dir()
    assert folder.parent == tmp_path  # beside the (test's) settings file
    qtbot.waitUntil(lambda: len(window.recovery_files()) == 1, timeout=5_000)
    copy = load_project(window.recovery_files()[0])
    assert manual_frames(copy) == [2]
    np.testing.assert_array_equal(copy.labels[2], result.labels[2])
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "kept.pvt"), ""))
    assert window.save_as()
    assert window.recovery_files() == []


def test_the_next_start_offers_the_copy_and_opens_it_unsaved(window, settings, qtbot,
                                                            monkeypatch):
    result = _edit(window)
    assert window.autosave() is not None
    # the app "crashes": no close, no save; the next start finds the copy
    from app.gui.main_window import MainWindow

    _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.offer_recovery()
    qtbot.waitUntil(lambda: again.worker is None, timeout=20_000)
    assert again.state.manual_frames == [2] and again.state.dirty
    assert again.state.project_path is None  # Save asks where to keep it
    np.testing.assert_array_equal(again.state.result.labels[2], result.labels[2])
    assert again.recovery_files() == []
    again.state.set_dirty(False)
    again.shutdown()


def test_declining_the_offer_deletes_the_copies(window, monkeypatch):
    _edit(window)
    window.autosave()
    assert window.recovery_files()
    _answer(monkeypatch, QMessageBox.StandardButton.No)
    assert not window.offer_recovery()
    assert window.recovery_files() == []
    assert not window.offer_recovery()  # nothing left: no question


def test_opening_another_series_asks_about_unsaved_corrections(window, qtbot, monkeypatch):
    result = _edit(window)
    window.autosave()
    _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not window.open_series(disc_case().series)
    assert window.state.result is result and window.worker is None
    _answer(monkeypatch, QMessageBox.StandardButton.Discard)
    window.analyze = fake_analyze(disc_case(), n_steps=1)
    assert window.open_series(disc_case().series)
    qtbot.waitUntil(lambda: window.worker is None, timeout=10_000)
    assert window.state.result is not result
    assert window.recovery_files() == []


def test_discarding_on_close_deletes_the_copy(window):
    _edit(window)
    window.autosave()
    assert window.recovery_files()
    window.close()  # the fixture answers "Discard"
    assert window.recovery_files() == []


def test_nothing_is_kept_without_a_correction(window):
    window.state.set_result(disc_case(), dirty=True)
    assert window.autosave() is None and window.recovery_files() == []
