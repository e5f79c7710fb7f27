"""Fixtures of the GUI tests: isolated settings, an analytic disc result, a window."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_helpers import disc_case, fake_analyze  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from core.pipeline import AnalysisResult  # noqa: E402


@pytest.fixture(scope="session")
def disc_result() -> AnalysisResult:
    """The analytic moving-disc result (computed once)."""
    return disc_case()


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """Preferences in a file of the test's own folder (never the user's)."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings, disc_result, monkeypatch):
    """A main window whose analysis is the instant fake returning the disc result.

    Modal boxes never block: questions answer "Discard", messages are recorded
    in ``window.test_messages``.
    """
    from PySide6.QtWidgets import QMessageBox

    from app.gui.main_window import MainWindow

    messages: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "information", lambda _p, title, text, *a: messages.append(
        (title, text)))

    def fake_exec(box: QMessageBox) -> int:
        messages.append((box.text(), box.detailedText()))
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    w = MainWindow(settings=settings, analyze=fake_analyze(disc_result))
    w.test_messages = messages
    qtbot.addWidget(w)
    w.resize(1280, 800)
    yield w
    w.shutdown()


@pytest.fixture
def loaded(window, disc_result, qtbot):
    """The window with the disc result shown."""
    window.state.set_result(disc_result, dirty=False)
    return window


@pytest.fixture
def shown(window, qtbot):
    """A fresh disc result (its own copy, changed freely) in a shown window:
    ``(window, result)``."""
    result = disc_case()
    window.state.set_result(result, dirty=False)
    window.show()
    qtbot.waitExposed(window)
    return window, result
