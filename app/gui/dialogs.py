"""Dialogs: error message with details, series chooser, keyboard shortcuts, and the
global excepthook."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
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

from core.io.listing import SeriesEntry


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
        self.table = QTableWidget(len(entries), 5, self)
        self.table.setHorizontalHeaderLabels(["Description", "Slice", "Frames", "Matrix",
                                              "Series UID"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for r, e in enumerate(entries):
            where = ("-" if e.slice_index is None else
                     f"{e.slice_index} of 0-{e.n_slices - 1} ({e.slice_position_mm:g} mm)")
            for c, text in enumerate((e.description or "(no description)", where,
                                      str(e.n_frames), f"{e.rows} × {e.columns}",
                                      e.series_uid)):
                item = QTableWidgetItem(text)
                if c == 2:
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

    def selected(self) -> SeriesEntry | None:
        """The chosen series (or slice of a series), or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def selected_uid(self) -> str | None:
        """UID of the chosen series, or None."""
        entry = self.selected()
        return entry.series_uid if entry else None


def choose_series(entries: Sequence[SeriesEntry], folder: str,
                  parent: QWidget | None = None) -> SeriesEntry | None:
    """Ask which series (or slice) to open; returns its entry or None when cancelled."""
    dlg = SeriesChooser(entries, folder, parent)
    return dlg.selected() if dlg.exec() == QDialog.DialogCode.Accepted else None


def choose_slice(n_slices: int, path: str, parent: QWidget | None = None) -> int | None:
    """Ask which slice of a multi-slice cine file to open; None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getInt(
        parent, "Choose a slice",
        f"{path} holds {n_slices} slices over time. Slice to open (0-{n_slices - 1}):",
        n_slices // 2, 0, n_slices - 1)
    return int(value) if ok else None


def shortcut_rows(menu_bar: Any) -> list[tuple[str, str, str]]:
    """(menu, action, key) of every menu action that has a key, in menu order."""
    rows = []

    def walk(menu: Any, path: str) -> None:
        for act in menu.actions():
            sub = act.menu()
            if sub is not None:
                walk(sub, f"{path} ▸ {sub.title().replace('&', '')}" if path else
                     sub.title().replace("&", ""))
                continue
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys and act.isVisible():
                rows.append((path, act.text().replace("&", "").rstrip("…"), keys))

    for top in menu_bar.actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    return rows


def show_shortcuts(parent: Any, rows: list[tuple[str, str, str]]) -> QDialog:
    """A window listing the keyboard shortcuts (non-modal)."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("Keyboard shortcuts · PelviTrack")
    lay = QVBoxLayout(dlg)
    table = QTableWidget(len(rows), 3, dlg)
    table.setHorizontalHeaderLabels(["Key", "Action", "Menu"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, (menu, text, keys) in enumerate(rows):
        for c, value in enumerate((keys, text, menu)):
            table.setItem(r, c, QTableWidgetItem(value))
    table.resizeColumnsToContents()
    lay.addWidget(table)
    dlg.resize(620, 560)
    dlg.show()
    return dlg


def show_about(parent: Any) -> None:
    """Help ▸ About PelviTrack."""
    from core import __version__

    QMessageBox.about(parent, "About PelviTrack",
                      f"<b>PelviTrack {__version__}</b><br>Segment, track and measure pelvic "
                      "organs on dynamic (cine) pelvic MRI.")
