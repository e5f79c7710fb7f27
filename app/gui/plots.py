"""Plots in sync with the player: indices over time, contour profile, kymograph.

Each plot observes :class:`AppState`; the time plot and the kymograph also
write to it (click or drag to seek).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.gui.model import FRAME_INDICES, POINT_INDICES, SIGNED_INDICES
from app.gui.state import AppState
from app.gui.theme import ACCENT, MUTED, colour_map, configure_pyqtgraph, organ_label, organ_qcolor

CURSOR_PEN = pg.mkPen(ACCENT, width=2)


def _combo(items: dict[str, str], parent: QWidget) -> QComboBox:
    box = QComboBox(parent)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(10)
    for key, label in items.items():
        box.addItem(label, key)
    return box


def _plot(parent: QWidget, left: str, bottom: str) -> pg.PlotWidget:
    configure_pyqtgraph()
    w = pg.PlotWidget(parent)
    w.setMenuEnabled(False)
    w.showGrid(x=True, y=True, alpha=0.15)
    w.setLabel("left", left, color=MUTED)
    w.setLabel("bottom", bottom, color=MUTED)
    for name in ("left", "bottom", "top", "right"):
        w.getAxis(name).enableAutoSIPrefix(False)
        _cache(w.getAxis(name))  # axes + grid are replayed from a QPicture on every repaint
    return w


def _cache(*items: QGraphicsItem) -> None:
    """Render static items once into a pixmap (cursor moves then only blit them)."""
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class _Panel(QWidget):
    """A header row (label + combo boxes) above a plot."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 2, 4, 2)
        self.header = QHBoxLayout()
        self.layout_.addLayout(self.header)


class TimePlot(_Panel):
    """Per-frame indices against time, one curve per organ, with a seek cursor."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.header.addWidget(QLabel("Index", self))
        self.combo = _combo(FRAME_INDICES, self)
        self.combo.setCurrentIndex(list(FRAME_INDICES).index(state.frame_index))
        self.combo.currentIndexChanged.connect(
            lambda _i: state.set_frame_index(self.combo.currentData()))
        self.header.addWidget(self.combo, 1)
        self.legend = QLabel("", self)  # organ colours, outside the plot so no curve is hidden
        self.header.addWidget(self.legend)
        self.plot = _plot(self, FRAME_INDICES[state.frame_index], "Time (s)")
        self.layout_.addWidget(self.plot, 1)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=CURSOR_PEN,
                                      hoverPen=pg.mkPen("w", width=3))
        self.cursor.setZValue(100)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigDragged.connect(lambda line: self.seek_time(line.value()))
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.curves: dict[str, pg.PlotDataItem] = {}
        state.result_changed.connect(self.rebuild)
        state.frame_index_changed.connect(lambda *_: self.rebuild())
        state.organ_visibility_changed.connect(self._on_visibility)
        state.frame_changed.connect(self.move_cursor)

    def rebuild(self) -> None:
        """Redraw every curve (new result or new index)."""
        self.plot.clear()
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.curves = {}
        data = self.state.data
        col = self.state.frame_index
        self.plot.setLabel("left", FRAME_INDICES[col], color=MUTED)
        idx = list(FRAME_INDICES).index(col)
        if self.combo.currentIndex() != idx:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(idx)
            self.combo.blockSignals(False)
        if data is None:
            return
        t = data.times_s
        self.legend.setText("  ".join(
            f"<span style='color:{organ_qcolor(o, i).name()}'>■ {organ_label(o).split(' ')[0]}"
            "</span>" for i, o in enumerate(data.organs)))
        for i, organ in enumerate(data.organs):
            y = data.frame_values.get(col, {}).get(organ)
            if y is None or not np.isfinite(y).any():
                continue  # absent from every frame (no uterus, say): nothing to draw
            colour = organ_qcolor(organ, i)
            c = self.plot.plot(t, y, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4,
                               symbolBrush=colour, symbolPen=None, name=organ_label(organ),
                               connect="finite")
            c.setVisible(self.state.visible.get(organ, True))
            _cache(c.curve, c.scatter)  # static: the moving cursor only blits them
            self.curves[organ] = c
        self.plot.setXRange(float(t[0]), float(t[-1]), padding=0.02)
        self.move_cursor(self.state.frame)

    def _on_visibility(self, organ: str, visible: bool) -> None:
        if organ in self.curves:
            self.curves[organ].setVisible(visible)

    def move_cursor(self, frame: int) -> None:
        """Put the cursor at the time of ``frame``."""
        data = self.state.data
        if data is not None:
            self.cursor.setValue(float(data.times_s[frame]))

    def seek_time(self, time_s: float) -> None:
        """Go to the frame nearest ``time_s``."""
        data = self.state.data
        if data is not None:
            self.state.set_frame(int(np.argmin(np.abs(data.times_s - time_s))))

    def _on_click(self, event) -> None:  # noqa: ANN001 - pyqtgraph MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getViewBox()
        if vb.sceneBoundingRect().contains(event.scenePos()):
            self.seek_time(vb.mapSceneToView(event.scenePos()).x())


class ProfilePlot(_Panel):
    """The chosen per-point index along each contour (point index) for the current frame."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.header.addWidget(QLabel("Along the contour, current frame", self))
        self.header.addStretch(1)
        self.plot = _plot(self, POINT_INDICES[state.point_index], "Point index")
        self.layout_.addWidget(self.plot, 1)
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(MUTED, width=1,
                                                                 style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.zero, ignoreBounds=True)
        self.curves: dict[str, pg.PlotDataItem] = {}
        state.result_changed.connect(self.rebuild)
        state.index_changed.connect(lambda *_: self.rebuild())
        state.organ_visibility_changed.connect(lambda *_: self.rebuild())
        state.frame_changed.connect(self.show_frame)

    def rebuild(self) -> None:
        """Re-create curves and fix the y range over all frames (stable during playback)."""
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.curves = {}
        data = self.state.data
        col = self.state.point_index
        self.plot.setLabel("left", POINT_INDICES[col], color=MUTED)
        if data is None or not data.points:
            return
        for i, organ in enumerate(data.organs):
            if organ in data.points and self.state.visible.get(organ, True):
                self.curves[organ] = self.plot.plot(
                    pen=pg.mkPen(organ_qcolor(organ, i), width=2), name=organ_label(organ),
                    antialias=False)  # redrawn every frame: keep it cheap
        lo, hi = data.index_range(col)
        self.plot.setYRange(lo, hi, padding=0.05)
        n = max(a.shape[1] for a in data.points.values())
        self.plot.setXRange(0, n - 1, padding=0.01)
        self.show_frame(self.state.frame)

    def show_frame(self, frame: int) -> None:
        """Draw the profiles of ``frame``."""
        data = self.state.data
        if data is None:
            return
        col = self.state.point_index
        for organ, c in self.curves.items():
            y = data.point_values[col][organ][frame]
            c.setData(np.arange(y.size), y, connect="finite")


class Kymograph(_Panel):
    """Point × time heat map of the chosen per-point index for one organ.

    Args:
        state: the analysis shown (its selected organ, point index and frame).
        parent: the parent widget.
        organ_picker: show the organ combo box (the compare window has one for both).
    """

    def __init__(self, state: AppState, parent: QWidget | None = None, *,
                 organ_picker: bool = True) -> None:
        super().__init__(state, parent)
        self.organ_combo = _combo({}, self)
        self.organ_combo.currentIndexChanged.connect(self._on_organ_combo)
        if organ_picker:
            self.header.addWidget(QLabel("Organ", self))
            self.header.addWidget(self.organ_combo, 1)
        else:
            self.organ_combo.hide()
        self.plot = _plot(self, "Point index", "Time (s)")
        self.layout_.addWidget(self.plot, 1)
        self.image = pg.ImageItem(axisOrder="row-major")
        _cache(self.image)
        self.plot.addItem(self.image)
        self.cbar = pg.ColorBarItem(values=(0, 1), colorMap=colour_map(True), width=10,
                                    interactive=False, colorMapMenu=False)
        self.cbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.cbar.axis.enableAutoSIPrefix(False)
        _cache(self.cbar.axis, self.cbar.bar)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=CURSOR_PEN)
        self.cursor.setZValue(100)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigDragged.connect(self._on_drag)
        state.result_changed.connect(self._on_result)
        state.index_changed.connect(lambda *_: self.rebuild())
        state.selected_organ_changed.connect(lambda *_: self.rebuild())
        state.frame_changed.connect(self.move_cursor)

    def _on_result(self) -> None:
        data = self.state.data
        self.organ_combo.blockSignals(True)
        self.organ_combo.clear()
        for organ in (data.points if data is not None else {}):
            self.organ_combo.addItem(organ_label(organ), organ)
        i = self.organ_combo.findData(self.state.selected_organ)
        self.organ_combo.setCurrentIndex(max(i, 0))
        self.organ_combo.blockSignals(False)
        self.rebuild()

    def _on_organ_combo(self, _i: int) -> None:
        organ = self.organ_combo.currentData()
        if organ:
            self.state.set_selected_organ(organ)

    def rebuild(self) -> None:
        """Redraw the heat map for the selected organ and index."""
        data = self.state.data
        organ = self.state.selected_organ
        col = self.state.point_index
        if data is None or organ not in data.points:
            self.image.clear()
            return
        i = self.organ_combo.findData(organ)
        if i >= 0 and i != self.organ_combo.currentIndex():
            self.organ_combo.blockSignals(True)
            self.organ_combo.setCurrentIndex(i)
            self.organ_combo.blockSignals(False)
        values = data.point_values[col][organ]  # (T, N)
        t = data.times_s
        n = values.shape[1]
        dt = float(np.median(np.diff(t)))
        self.image.setImage(np.nan_to_num(values.T, nan=0.0), autoLevels=False)
        from PySide6.QtCore import QRectF

        self.image.setRect(QRectF(t[0] - dt / 2, -0.5, dt * len(t), n))
        self.cbar.setColorMap(colour_map(col in SIGNED_INDICES))
        self.cbar.setLevels(data.index_range(col))
        self.plot.setTitle(f"{organ_label(organ)} — {POINT_INDICES[col]}", color=MUTED, size="9pt")
        self.plot.setXRange(t[0] - dt / 2, t[-1] + dt / 2, padding=0)
        self.plot.setYRange(-0.5, n - 0.5, padding=0)
        self.move_cursor(self.state.frame)

    def move_cursor(self, frame: int) -> None:
        """Mark the current frame."""
        data = self.state.data
        if data is not None:
            self.cursor.setValue(float(data.times_s[frame]))

    def _on_drag(self, line: pg.InfiniteLine) -> None:
        data = self.state.data
        if data is not None:
            self.state.set_frame(int(np.argmin(np.abs(data.times_s - line.value()))))
