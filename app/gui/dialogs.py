"""Dialogs: error message with details, series chooser, and the global excepthook."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.series_list import SeriesEntry


def error_message(exc: BaseException) -> str:
    """The one-line message of an error (core errors already name the file)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    from core.errors import PelviTrackError

    return text if isinstance(exc, PelviTrackError) else f"{type(exc).__name__}: {text}"


def show_error(parent: QWidget | None, exc: BaseException, details: str = "",
               title: str = "PelviTrack") -> None:
    """Show an error as a warning box: one-line message, traceback under "Show Details".

    Args:
        parent: parent widget (may be None).
        exc: the exception.
        details: formatted traceback (computed from ``exc`` when empty).
        title: window title.
    """
    if not details:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(error_message(exc))
    box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()


def install_excepthook() -> None:
    """Show uncaught exceptions in a dialog (and on stderr) instead of crashing."""

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(etype, value, tb))
        sys.stderr.write(details)
        if QApplication.instance() is None or issubclass(etype, KeyboardInterrupt):
            return
        try:
            show_error(QApplication.activeWindow(), value, details, "PelviTrack — unexpected error")
        except RuntimeError:  # widgets already deleted at shutdown
            pass

    sys.excepthook = hook


class SeriesChooser(QDialog):
    """Pick one series of a folder that holds several (description, frames, matrix)."""

    def __init__(self, entries: Sequence[SeriesEntry], folder: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.entries = list(entries)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{folder} holds {len(entries)} series. Choose one:", self))
        self.table = QTableWidget(len(entries), 4, self)
        self.table.setHorizontalHeaderLabels(["Description", "Frames", "Matrix", "Series UID"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for r, e in enumerate(entries):
            for c, text in enumerate((e.description or "(no description)", str(e.n_frames),
                                      f"{e.rows} × {e.columns}", e.series_uid)):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.selectRow(0)
        self.table.doubleClicked.connect(self.accept)
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(720, 300)

    def selected_uid(self) -> str | None:
        """UID of the chosen series, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()].series_uid if rows else None


def choose_series(entries: Sequence[SeriesEntry], folder: str,
                  parent: QWidget | None = None) -> str | None:
    """Ask which series to open; returns its UID or None when cancelled."""
    dlg = SeriesChooser(entries, folder, parent)
    return dlg.selected_uid() if dlg.exec() == QDialog.DialogCode.Accepted else None
