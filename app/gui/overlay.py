"""Contour overlay of one organ: line, coloured points, rest contour, vectors.

All items draw in mm (x to the right, y down), the same coordinates as the
tracked points, because the image item is placed on a mm rectangle.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem

from app.gui.theme import organ_qcolor


class BrushLut:
    """Map values to one of 256 pre-built brushes of a colour map (fast per frame)."""

    def __init__(self, cmap: pg.ColorMap, levels: tuple[float, float]) -> None:
        table = cmap.getLookupTable(0.0, 1.0, 256, alpha=False)
        self.brushes = [QBrush(QColor(int(r), int(g), int(b))) for r, g, b in table]
        self.nan_brush = QBrush(QColor(128, 128, 128))
        self.levels = levels

    def __call__(self, values: np.ndarray) -> list[QBrush]:
        """Brushes for ``values`` (N,); NaN → grey."""
        lo, hi = self.levels
        v = np.asarray(values, dtype=float)
        idx = np.clip(((v - lo) / (hi - lo) * 255.0), 0, 255)
        idx = np.where(np.isfinite(idx), idx, -1).astype(int)
        b = self.brushes
        return [b[i] if i >= 0 else self.nan_brush for i in idx]


class OrganOverlay:
    """The graphics items of one organ inside a view box.

    Args:
        view: the pyqtgraph ViewBox (mm coordinates).
        organ: organ name (for its fixed colour).
        index: organ position (palette fallback colour).
    """

    def __init__(self, view: pg.ViewBox, organ: str, index: int) -> None:
        self.organ = organ
        colour = organ_qcolor(organ, index)
        self.line = pg.PlotCurveItem(pen=pg.mkPen(colour, width=2.5))
        rest_colour = QColor(colour)
        rest_colour.setAlpha(200)
        # static during playback: rendered once into a pixmap, then blitted
        self.rest = pg.PlotCurveItem(
            pen=pg.mkPen(rest_colour, width=1.4, style=Qt.PenStyle.DashLine))
        self.rest.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.vectors = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(235, 235, 235, 170), width=1.0), connect="pairs",
            antialias=False)
        self.points = pg.ScatterPlotItem(size=4.5, pen=None, pxMode=True)
        for z, item in enumerate((self.rest, self.vectors, self.line, self.points)):
            item.setZValue(10 + z)
            view.addItem(item)
        self._visible = True
        self._rest_drawn: np.ndarray | None = None

    def set_visible(self, visible: bool, *, rest: bool, vectors: bool) -> None:
        """Show or hide the organ; rest contour and vectors follow their options."""
        self._visible = visible
        self.line.setVisible(visible)
        self.points.setVisible(visible)
        self.rest.setVisible(visible and rest)
        self.vectors.setVisible(visible and vectors)

    def update(self, pts: np.ndarray, valid: np.ndarray, rest_pts: np.ndarray,
               brushes: list[QBrush], *, rest: bool, vectors: bool) -> None:
        """Draw one frame.

        Args:
            pts: (N,2) tracked points of this frame, xy mm.
            valid: (N,) bool, trusted points.
            rest_pts: (N,2) points of the rest frame, xy mm.
            brushes: (N,) point brushes (colour by index).
            rest: draw the dashed rest contour.
            vectors: draw displacement vectors rest → current.
        """
        if not self._visible:
            return
        closed = np.vstack([pts, pts[:1]])
        self.line.setData(closed[:, 0], closed[:, 1])
        ok = np.asarray(valid, bool)
        if ok.all():
            self.points.setData(pos=pts, brush=brushes)
        else:
            kept = [b for b, k in zip(brushes, ok, strict=True) if k]
            self.points.setData(pos=pts[ok], brush=kept)
        if rest and self._rest_drawn is not rest_pts:
            rc = np.vstack([rest_pts, rest_pts[:1]])
            self.rest.setData(rc[:, 0], rc[:, 1])
            self._rest_drawn = rest_pts
        if vectors:
            seg = np.empty((2 * len(pts), 2))
            seg[0::2] = rest_pts
            seg[1::2] = pts
            self.vectors.setData(seg[:, 0], seg[:, 1])

    def clear(self) -> None:
        """Remove everything drawn."""
        for item in (self.line, self.rest, self.vectors):
            item.setData([], [])
        self._rest_drawn = None
        self.points.setData([])

    def remove(self, view: pg.ViewBox) -> None:
        """Take the items out of the view."""
        for item in (self.line, self.rest, self.vectors, self.points):
            view.removeItem(item)
