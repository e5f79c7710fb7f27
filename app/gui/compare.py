"""Two analyses side by side: players in step, indices over time overlaid, summaries.

File ▸ Compare with… loads a second project (or analyses a second series) and
opens a :class:`CompareWindow`: the main window's analysis on the left, the other
on the right.  Both players follow one frame slider; the other series is put on
the frame nearest the same time since its start, or the same fraction of its
length (for series of different frame rates or durations).  Below them, the
chosen per-frame index of both is drawn against time (solid: left, dashed:
right) or, on the second tab, the chosen per-point index of one organ as two
kymographs on one colour scale (point 0 is each organ's most cranial point at
rest, the points evenly spaced along the contour, so a point number is the same
fraction of the outline in both), and a table gives each organ's summary
(:func:`core.indices.summary_table`, shown as :data:`core.indices.SUMMARY_LABELS`)
for both and their difference.

The window owns its own states (a mirror of the main window's and the other
one), so closing it leaves nothing connected to the main window's views.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.line_placer import PclPlacer
from app.gui.model import FRAME_INDICES, POINT_INDICES, SIGNED_INDICES, ViewData
from app.gui.player import PlayerView
from app.gui.plots import CURSOR_PEN, Kymograph, _combo, _plot
from app.gui.state import AppState
from app.gui.theme import MUTED, organ_label, organ_qcolor
from app.gui.transport import Playback, TransportBar
from core.indices import SUMMARY_COLUMNS, SUMMARY_LABELS, SUMMARY_TEXT_LABELS, summary_table

#: How the other series follows the slider: key -> label.
SYNC_MODES = {"time": "same time since the start", "fraction": "same fraction of the series"}


def matching_frame(times_a: np.ndarray, frame: int, times_b: np.ndarray, mode: str) -> int:
    """The frame of series B that goes with ``frame`` of series A.

    Args:
        times_a, times_b: frame times (s) of the two series.
        frame: a frame of A.
        mode: "time" (nearest time since each series' start) or "fraction" (the
            same fraction of each series' frames).
    """
    n_a, n_b = len(times_a), len(times_b)
    if mode == "fraction":
        return int(round(frame / max(n_a - 1, 1) * (n_b - 1)))
    if mode != "time":
        raise ValueError(f"unknown sync mode {mode!r}; expected one of {list(SYNC_MODES)}")
    t = float(times_a[frame] - times_a[0])
    return int(np.argmin(np.abs((np.asarray(times_b) - times_b[0]) - t)))


def _subject(data: ViewData) -> str:
    return str(getattr(data.series, "subject", "") or "series")


def _index_row(widget: QWidget, indices: dict[str, str], current: str,
               on_change: Any) -> tuple[QVBoxLayout, QHBoxLayout, QComboBox]:
    """The widget's layout and its header row "Index [combo]" (the combo on ``current``)."""
    lay = QVBoxLayout(widget)
    lay.setContentsMargins(4, 2, 4, 2)
    head = QHBoxLayout()
    head.addWidget(QLabel("Index", widget))
    combo = _combo(indices, widget)
    combo.setCurrentIndex(list(indices).index(current))
    combo.currentIndexChanged.connect(on_change)
    head.addWidget(combo, 1)
    return lay, head, combo


class ComparePlot(QWidget):
    """The chosen per-frame index of both analyses against time, with both cursors."""

    def __init__(self, a: AppState, b: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = a, b
        lay, head, self.combo = _index_row(self, FRAME_INDICES, a.frame_index,
                                           lambda _i: self.rebuild())
        self.legend = QLabel("", self)
        head.addWidget(self.legend)
        lay.addLayout(head)
        self.plot = _plot(self, FRAME_INDICES[a.frame_index], "Time since the start (s)")
        lay.addWidget(self.plot, 1)
        self.cursors = {}
        for key, style in (("a", Qt.PenStyle.SolidLine), ("b", Qt.PenStyle.DashLine)):
            pen = pg.mkPen(CURSOR_PEN.color(), width=2, style=style)
            self.cursors[key] = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        a.frame_changed.connect(self.move_cursors)
        b.frame_changed.connect(self.move_cursors)

    @property
    def column(self) -> str:
        """The per-frame index shown."""
        return str(self.combo.currentData())

    def rebuild(self) -> None:
        """Redraw both analyses' curves."""
        self.plot.clear()
        self.curves = {}
        col = self.column
        self.plot.setLabel("left", FRAME_INDICES[col], color=MUTED)
        for key, state, style in (("a", self.a, Qt.PenStyle.SolidLine),
                                  ("b", self.b, Qt.PenStyle.DashLine)):
            data = state.data
            self.plot.addItem(self.cursors[key], ignoreBounds=True)
            if data is None:
                continue
            t = data.times_s - data.times_s[0]
            for i, organ in enumerate(data.organs):
                y = data.frame_values.get(col, {}).get(organ)
                if y is None or not np.isfinite(y).any():
                    continue  # absent from every frame
                pen = pg.mkPen(organ_qcolor(organ, i), width=2, style=style)
                self.curves[(key, organ)] = self.plot.plot(t, y, pen=pen, connect="finite")
        if self.a.data is not None and self.b.data is not None:
            self.legend.setText(f"solid: {_subject(self.a.data)} · dashed: "
                                f"{_subject(self.b.data)}")
        self.move_cursors()

    def move_cursors(self, *_args: object) -> None:
        """Put each cursor at its analysis' current time."""
        for key, state in (("a", self.a), ("b", self.b)):
            if state.data is not None:
                self.cursors[key].setValue(float(state.data.times_s[state.frame]
                                                 - state.data.times_s[0]))


class CompareKymographs(QWidget):
    """The chosen per-point index of one organ, both analyses side by side.

    One index and one organ combo box drive both kymographs (through each side's
    state); both use one colour scale, the union of the two sides' ranges, so a
    colour means the same value left and right.  The left cursor can be dragged
    (it moves the slider); the right one follows.
    """

    def __init__(self, a: AppState, b: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = a, b
        lay, head, self.index_combo = _index_row(self, POINT_INDICES, a.point_index,
                                                 self._on_index)
        head.addWidget(QLabel("Organ", self))
        self.organ_combo = _combo({}, self)
        self.organ_combo.currentIndexChanged.connect(self._on_organ)
        head.addWidget(self.organ_combo, 1)
        lay.addLayout(head)
        row = QHBoxLayout()
        self.kymo_a = Kymograph(a, self, organ_picker=False)
        self.kymo_b = Kymograph(b, self, organ_picker=False)
        self.kymo_b.cursor.setMovable(False)  # the right side follows the left
        # one colour bar (the right one) serves both: the scale is shared
        self.kymo_a.plot.getPlotItem().layout.removeItem(self.kymo_a.cbar)
        self.kymo_a.cbar.hide()
        row.addWidget(self.kymo_a, 1)
        row.addWidget(self.kymo_b, 1)
        lay.addLayout(row, 1)

    @property
    def levels(self) -> tuple[float, float]:
        """The shared colour scale of the chosen index."""
        col = self.a.point_index
        ranges = [s.data.index_range(col) for s in (self.a, self.b) if s.data is not None]
        if not ranges:
            return (-1.0, 1.0) if col in SIGNED_INDICES else (0.0, 1.0)
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    def rebuild(self) -> None:
        """Fill the organ list (organs of either side) and redraw both sides."""
        organs = list(dict.fromkeys(
            o for s in (self.a, self.b) if s.data is not None for o in s.data.points))
        current = self.a.selected_organ
        self.organ_combo.blockSignals(True)
        self.organ_combo.clear()
        for organ in organs:
            self.organ_combo.addItem(organ_label(organ), organ)
        self.organ_combo.setCurrentIndex(max(self.organ_combo.findData(current), 0))
        self.organ_combo.blockSignals(False)
        if organs:
            self._on_organ()
        self._draw()

    def _on_index(self, _i: int = 0) -> None:
        col = str(self.index_combo.currentData())
        for state in (self.a, self.b):
            state.set_point_index(col)
        self._draw()

    def _on_organ(self, _i: int = 0) -> None:
        organ = self.organ_combo.currentData()
        if organ:
            for state in (self.a, self.b):
                state.set_selected_organ(str(organ))
        self._draw()

    def _draw(self) -> None:
        organ = self.a.selected_organ
        low, high = self.levels
        for kymo, state in ((self.kymo_a, self.a), (self.kymo_b, self.b)):
            kymo.rebuild()
            kymo.cbar.setLevels((low, high))
            if state.data is None:
                continue
            title = _subject(state.data)
            if organ not in state.data.points:
                title += f": no {organ_label(organ)}"
            kymo.plot.setTitle(title, color=MUTED, size="9pt")


class CompareWindow(QMainWindow):
    """The main window's analysis beside another one.

    Args:
        main_state: the main window's state (followed: its data and frame).
        other: the other analysis.
        parent: the main window.
    """

    def __init__(self, main_state: AppState, other: ViewData,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.main_state = main_state
        self.a = AppState(self)   # a mirror of the main window's analysis
        self.b = AppState(self)
        self.mode = "time"
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Vertical, central)
        players = QSplitter(Qt.Orientation.Horizontal, split)
        self.player_a = PlayerView(self.a, players)
        self.player_b = PlayerView(self.b, players)
        # each side's pubococcygeal line and reference points, drawn (placed in the main window)
        self.lines = (PclPlacer(self.a, self.player_a, self, movable=False),
                      PclPlacer(self.b, self.player_b, self, movable=False))
        bottom = QSplitter(Qt.Orientation.Horizontal, split)
        self.tabs = QTabWidget(bottom)
        self.plot = ComparePlot(self.a, self.b, self.tabs)
        self.kymographs = CompareKymographs(self.a, self.b, self.tabs)
        self.tabs.addTab(self.plot, "Over time")
        self.tabs.addTab(self.kymographs, "Along the contour")
        self.tabs.setTabToolTip(1, "The chosen per-point index of one organ, point × time, "
                                   "both on one colour scale")
        table_box = QWidget(bottom)
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(table_box)
        tl.addWidget(self.table, 1)
        export = QPushButton("Export the summaries…", table_box)
        export.setToolTip("Both analyses' per-organ summaries as one table (CSV, XLSX, "
                          "Parquet), as `pelvitrack compare --out` writes it")
        export.clicked.connect(self.export_dialog)
        tl.addWidget(export)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([560, 340])
        bottom.setSizes([760, 640])
        lay.addWidget(split, 1)
        row = QHBoxLayout()
        self.playback = Playback(self.a, self)
        self.transport = TransportBar(self.a, self.playback, central)
        row.addWidget(self.transport, 1)
        row.addWidget(QLabel("Right follows", central))
        self.sync_combo = QComboBox(central)
        for key, label in SYNC_MODES.items():
            self.sync_combo.addItem(label, key)
        self.sync_combo.currentIndexChanged.connect(
            lambda _i: self.set_mode(self.sync_combo.currentData()))
        row.addWidget(self.sync_combo)
        lay.addLayout(row)
        self.setCentralWidget(central)
        self.a.frame_changed.connect(self._follow_a)
        self.a.frame_changed.connect(main_state.set_frame)
        main_state.frame_changed.connect(self.a.set_frame)
        main_state.result_changed.connect(self._mirror_main)
        main_state.marks_changed.connect(self._mirror_main)
        self.b.set_data(other)
        self._mirror_main()
        self.resize(1400, 900)

    # -- data --------------------------------------------------------------------
    def _mirror_main(self) -> None:
        data = self.main_state.data
        if data is None or not data.points:
            return
        self.a.frame = self.main_state.frame  # keep the main window on its frame
        self.a.set_data(data, keep_frame=True)
        self.setWindowTitle(f"Compare: {_subject(data)} ↔ {_subject(self.b.data)} · PelviTrack")
        self.plot.rebuild()
        self.kymographs.rebuild()
        self._fill_table()
        self._follow_a(self.a.frame)

    def set_mode(self, mode: str) -> None:
        """How the right analysis follows the slider ("time" or "fraction")."""
        if mode not in SYNC_MODES:
            raise ValueError(f"unknown sync mode {mode!r}; expected one of {list(SYNC_MODES)}")
        self.mode = mode
        i = self.sync_combo.findData(mode)
        if i != self.sync_combo.currentIndex():
            self.sync_combo.setCurrentIndex(i)
        self._follow_a(self.a.frame)

    def _follow_a(self, frame: int) -> None:
        if self.a.data is None or self.b.data is None:
            return
        self.b.set_frame(matching_frame(self.a.data.times_s, frame, self.b.data.times_s,
                                        self.mode))

    def summaries(self) -> dict[str, object]:
        """The summary table of each side ("a", "b"), from its per-frame table."""
        out = {}
        for key, state in (("a", self.a), ("b", self.b)):
            result = state.result
            frames = getattr(result, "frames", None)
            rest = int((getattr(result, "settings", None) or {}).get("rest_frame", 0))
            out[key] = (summary_table(frames, rest) if frames is not None and len(frames)
                        else None)
        return out

    def summary_frame(self) -> pd.DataFrame:
        """Both summaries as one table: column ``input`` ("left" / "right"), then
        :data:`core.indices.SUMMARY_COLUMNS` (pseudonymous subjects)."""
        parts = []
        for side, table in zip(("left", "right"), self.summaries().values(), strict=True):
            if table is not None:
                parts.append(table.assign(input=side)[["input", *SUMMARY_COLUMNS]])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["input", *SUMMARY_COLUMNS])

    def export_summaries(self, path: str | Path) -> Path:
        """Write :meth:`summary_frame` (format from the suffix, CSV without one)."""
        from core.export import write_table

        return write_table(self.summary_frame(), path)

    def export_dialog(self) -> Path | None:
        """Ask for a file name and export the summaries; errors become a dialog."""
        from app.gui.dialogs import show_error
        from app.gui.export_actions import FILTERS

        path, _ = QFileDialog.getSaveFileName(self, "Export the summaries",
                                              "comparison.csv", FILTERS["tables"])
        if not path:
            return None
        try:
            return self.export_summaries(path)
        except Exception as exc:  # noqa: BLE001 - every error becomes a dialog
            show_error(self, exc)
            return None

    def _fill_table(self) -> None:
        sums = self.summaries()
        a, b = sums["a"], sums["b"]
        organs = list(dict.fromkeys([*(a["organ"] if a is not None else []),
                                     *(b["organ"] if b is not None else [])]))
        self.table.clear()
        self.table.setColumnCount(4)
        self.table.setHorizontalHeaderLabels(
            ["", _subject(self.a.data), _subject(self.b.data), "right − left"])
        rows = []
        for organ in organs:
            rows.append((organ_label(organ), None, None, None, organ))
            for col, label, nd in SUMMARY_LABELS:
                va = _value(a, organ, col)
                vb = _value(b, organ, col)
                rows.append((f"  {label}", va, vb, vb - va, nd))
            for col, label in SUMMARY_TEXT_LABELS:
                texts = (_text(a, organ, col), _text(b, organ, col))
                if any(texts):
                    rows.append((f"  {label}", *texts, "", None))
        self.table.setRowCount(len(rows))
        for r, (label, va, vb, diff, nd) in enumerate(rows):
            head = QTableWidgetItem(label)
            if va is None:  # an organ's heading row, in its colour
                i = organs.index(nd)
                head.setForeground(organ_qcolor(nd, i))
                self.table.setItem(r, 0, head)
                continue
            self.table.setItem(r, 0, head)
            if isinstance(va, str):  # a text row (the grade)
                for c, v in ((1, va), (2, vb)):
                    self.table.setItem(r, c, QTableWidgetItem(v or "–"))
                continue
            for c, v in ((1, va), (2, vb), (3, diff)):
                # round first so that a small negative difference prints 0.0, not -0.0
                item = QTableWidgetItem("–" if not np.isfinite(v) else
                                        f"{round(v, nd) + 0.0:.{nd}f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        """Stop playing when the window closes."""
        self.playback.stop()
        super().closeEvent(event)


def _value(table, organ: str, col: str) -> float:  # noqa: ANN001 - DataFrame or None
    if table is None:
        return float("nan")
    sub = table.loc[table["organ"] == organ, col]
    return float(sub.iloc[0]) if len(sub) else float("nan")


def _text(table, organ: str, col: str) -> str:  # noqa: ANN001 - DataFrame or None
    if table is None or col not in table:
        return ""
    sub = table.loc[table["organ"] == organ, col]
    return str(sub.iloc[0]) if len(sub) else ""
