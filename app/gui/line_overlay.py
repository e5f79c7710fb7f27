"""What the line placer draws in the player: the pubococcygeal line, the anal canal
line, the reference points and HMO lines, the anorectal angle's arms, the measurements
by hand, and the handles that drag their points (:mod:`app.gui.line_placer` decides
what, this module how)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from core.anorectal import angle_of_arms
from core.measurements import MEASURE_RGB
from core.rectocele import extended

#: Colour of the line and its ends.
PCL_COLOUR = QColor("#f5d90a")

#: Colour of the distances and angles measured by hand.
MEASURE_COLOUR = QColor(*MEASURE_RGB)

class PclOverlay:
    """The line, its two ends and its name inside a view box (mm coordinates)."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.line = pg.PlotCurveItem(pen=pg.mkPen(PCL_COLOUR, width=2,
                                                  style=Qt.PenStyle.DashLine))
        self.ends = pg.ScatterPlotItem(size=9, symbol="+", pen=pg.mkPen(PCL_COLOUR, width=2),
                                       brush=None, pxMode=True)
        self.text = pg.TextItem("PCL", color=PCL_COLOUR, anchor=(0.5, 1.2))
        self.refs = pg.ScatterPlotItem(size=15, symbol="star", pen=pg.mkPen("k", width=1),
                                       brush=pg.mkBrush(PCL_COLOUR), pxMode=True)
        # the H-line (pubis to anorectal junction) and M-line (junction to the PCL)
        self.hmo = pg.PlotCurveItem(pen=pg.mkPen(PCL_COLOUR, width=1,
                                                 style=Qt.PenStyle.DotLine), connect="pairs")
        self.hmo_text = [pg.TextItem(name, color=PCL_COLOUR, anchor=(0.5, 0.5))
                         for name in ("H", "M")]
        # the anal canal's anterior wall, extended upwards (a rectocele bulges beyond it)
        self.anal = pg.PlotCurveItem(pen=pg.mkPen(PCL_COLOUR, width=2,
                                                  style=Qt.PenStyle.DashDotLine))
        self.anal_text = pg.TextItem("anal canal", color=PCL_COLOUR, anchor=(1.05, 0.5))
        # the anorectal angle's arms: down the canal's axis, along the posterior wall
        self.ara = pg.PlotCurveItem(pen=pg.mkPen(PCL_COLOUR, width=1))
        self.ara_text = pg.TextItem("", color=PCL_COLOUR, anchor=(-0.1, 0.5))
        # the distances and angles measured by hand on this frame: their segments, the
        # points clicked and their values
        self.rulers = pg.PlotCurveItem(pen=pg.mkPen(MEASURE_COLOUR, width=2), connect="pairs")
        self.ruler_ends = pg.ScatterPlotItem(size=9, symbol="+", brush=None, pxMode=True,
                                             pen=pg.mkPen(MEASURE_COLOUR, width=2))
        self.ruler_text: list[pg.TextItem] = []
        self._measuring = True          # until the first show_measurements clears it
        self._view = view
        for z, item in enumerate((self.line, self.ends, self.text, self.refs, self.hmo,
                                  *self.hmo_text, self.anal, self.anal_text, self.ara,
                                  self.ara_text, self.rulers, self.ruler_ends)):
            item.setZValue(30 + z)
            view.addItem(item, ignoreBounds=True)
        self.shown: np.ndarray | None = None
        self.show(None)
        self.show_hmo(None)
        self.show_anal(None)
        self.show_angle(None)
        self.show_measurements([])

    def show_angle(self, arms: np.ndarray | None) -> None:
        """Draw the anorectal angle's arms ((3, 2) xy mm: canal end, vertex, wall end;
        :func:`core.anorectal.anorectal_arms`) and its value by the wall arm's end, or
        nothing."""
        self.ara.setVisible(arms is not None)
        self.ara_text.setVisible(arms is not None)
        if arms is None:
            self.ara.setData([], [])
            return
        self.ara.setData(arms[:, 0], arms[:, 1])
        self.ara_text.setText(f"{angle_of_arms(arms):.0f}°")
        self.ara_text.setPos(float(arms[2, 0]), float(arms[2, 1]))   # clear of the junction

    def show_measurements(self, shown: list, pending: list | None = None) -> None:
        """Draw the measurements made on this frame (``(points, text)`` each: a
        distance's two ends or an angle's arm end, vertex and arm end, xy mm; and its
        value, written beside its last point) and ``pending``, the points clicked so far
        of one being made."""
        if not shown and not pending and not self._measuring:
            return                      # nothing drawn, nothing to draw (playback)
        self._measuring = bool(shown or pending)
        clicked = [np.asarray(p, float) for p in (pending or [])]
        polylines = [np.asarray(pts, float) for pts, _text in shown] + (
            [np.asarray(clicked)] if len(clicked) > 1 else [])
        # each polyline's segments as pairs of points (drawn with connect="pairs")
        flat = np.asarray([q for pl in polylines for q in np.repeat(pl, 2, axis=0)[1:-1]],
                          float).reshape(-1, 2)
        self.rulers.setData(flat[:, 0], flat[:, 1])
        ends = np.asarray([p for pts, _text in shown for p in pts] + clicked,
                          float).reshape(-1, 2)
        self.ruler_ends.setData(ends[:, 0], ends[:, 1])
        while len(self.ruler_text) < len(shown):
            text = pg.TextItem("", color=MEASURE_COLOUR, anchor=(-0.1, 0.5))
            text.setZValue(50)
            self._view.addItem(text, ignoreBounds=True)
            self.ruler_text.append(text)
        for i, text in enumerate(self.ruler_text):
            text.setVisible(i < len(shown))
            if i < len(shown):
                pts, value = shown[i]
                text.setText(value)
                text.setPos(float(pts[-1][0]), float(pts[-1][1]))   # beside its last point
        self.rulers.setVisible(len(flat) > 0)
        self.ruler_ends.setVisible(len(ends) > 0)

    def show_anal(self, line: np.ndarray | None) -> None:
        """Draw the anal canal line ((2, 2) ends, lower first, xy mm) extended upwards
        by its own length, or nothing."""
        self.anal.setVisible(line is not None)
        self.anal_text.setVisible(line is not None)
        if line is None:
            self.anal.setData([], [])
            return
        drawn = extended(line)
        self.anal.setData(drawn[:, 0], drawn[:, 1])
        self.anal_text.setPos(float(drawn[0, 0]), float(drawn[0, 1]))

    def show_hmo(self, segments: np.ndarray | None) -> None:
        """Draw the H- and M-lines ((2, 2, 2): two segments of two xy mm ends) or
        nothing."""
        self.hmo.setVisible(segments is not None)
        for text in self.hmo_text:
            text.setVisible(segments is not None)
        if segments is None:
            self.hmo.setData([], [])
            return
        flat = np.asarray(segments, float).reshape(-1, 2)
        self.hmo.setData(flat[:, 0], flat[:, 1])
        for text, seg in zip(self.hmo_text, segments, strict=True):
            mid = np.mean(seg, axis=0)
            text.setPos(float(mid[0]), float(mid[1]))

    def show(self, line: np.ndarray | None, pending: np.ndarray | None = None) -> None:
        """Draw ``line`` ((2, 2) ends, xy mm) or nothing; ``pending``: the first end
        clicked while placing (drawn alone)."""
        self.shown = None if line is None else np.asarray(line, float)
        if line is not None:
            self.line.setData(self.shown[:, 0], self.shown[:, 1])
            self.ends.setData(self.shown[:, 0], self.shown[:, 1])
            mid = self.shown.mean(axis=0)
            self.text.setPos(float(mid[0]), float(mid[1]))
        elif pending is not None:
            self.line.setData([], [])
            self.ends.setData([float(pending[0])], [float(pending[1])])
        else:
            self.line.setData([], [])
            self.ends.setData([], [])
        self.line.setVisible(line is not None)
        self.text.setVisible(line is not None)
        self.ends.setVisible(line is not None or pending is not None)


class Handle(pg.TargetItem):
    """A handle that is dragged to move its point; a right click on it asks to remove
    what it belongs to (``on_remove(handle)``)."""

    def __init__(self, on_remove: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_remove = on_remove

    def mouseClickEvent(self, ev) -> None:  # noqa: ANN001, N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self._on_remove(self)
        else:
            ev.ignore()
