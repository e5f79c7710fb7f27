"""The cine player view: image, window/level, tracked contours, colour bar, hover read-out.

The image item is placed on the rectangle the pixels cover in mm (pixel
centres at x = col × col spacing, y = row × row spacing), so the tracked points
(xy mm) draw directly and anisotropic pixels keep the right aspect.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import QGraphicsItem, QToolTip

from app.gui.editor import LabelLayer
from app.gui.model import POINT_INDICES, SIGNED_INDICES, auto_levels
from app.gui.overlay import BrushLut, OrganOverlay
from app.gui.state import AppState
from app.gui.theme import FOREGROUND, MUTED, colour_map, configure_pyqtgraph, organ_label

#: Radius (mm) within which hovering reports the nearest tracked point.
HOVER_RADIUS_MM = 4.0

#: Longest series title shown above the image (characters); longer ones end in "…".
TITLE_CHARS = 60


class StackHistogram(pg.HistogramLUTItem):
    """Levels widget whose histogram is computed once per stack, not every frame."""

    def imageChanged(self, autoLevel: bool = False, autoRange: bool = False) -> None:  # noqa: N802
        """Ignore per-frame image changes (the stack histogram is set by :meth:`set_stack`)."""

    def set_stack(self, frames: np.ndarray, levels: tuple[float, float]) -> None:
        """Show the histogram of a (T,H,W) stack and set the window."""
        sample = frames.ravel()[:: max(1, frames.size // 400_000)]
        hist, edges = np.histogram(sample, bins=128)
        self.plot.setData(0.5 * (edges[:-1] + edges[1:]), hist.astype(float))
        self.region.setRegion(levels)


class PlayerView(pg.GraphicsLayoutWidget):
    """Image + contours of the current frame, observing an :class:`AppState`.

    Signals:
        hovered(str): read-out of the tracked point under the mouse, else of the
            pointer's position in mm ("" outside the image).
    """

    hovered = Signal(str)

    def __init__(self, state: AppState, parent=None) -> None:  # noqa: ANN001
        configure_pyqtgraph()
        super().__init__(parent)
        self.state = state
        self.ci.setContentsMargins(4, 4, 4, 4)
        # The read-out spans the three columns: as wide as its text, it would
        # otherwise set the image column's minimum and push the levels off the view.
        self.info = self.addLabel("", row=0, col=0, colspan=3, justify="left",
                                  color=FOREGROUND, size="10pt")
        self.view = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True,
                                    enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.cbar = pg.ColorBarItem(values=(-1, 1), colorMap=colour_map(True), width=14,
                                    interactive=False, label="", colorMapMenu=False)
        self.cbar.axis.enableAutoSIPrefix(False)
        for item in (self.cbar.axis, self.cbar.bar):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.addItem(self.cbar, row=1, col=1)
        self.hist = StackHistogram(image=self.image, orientation="vertical",
                                   gradientPosition="right")
        self.hist.gradient.hide()
        self.hist.axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.hist.setFixedWidth(100)
        self.hist.plot.setBrush(pg.mkBrush(120, 128, 145, 140))
        self.hist.plot.setPen(pg.mkPen(170, 176, 190, 200))
        self.hist.region.setBrush(pg.mkBrush(61, 139, 253, 45))
        self.addItem(self.hist, row=1, col=2)
        self.scale = pg.ScaleBar(size=20, suffix="mm", width=4)
        self.scale.setParentItem(self.view)
        self.scale.anchor((1, 1), (1, 1), offset=(-14, -14))
        self.labels_layer = LabelLayer(state)
        self.labels_layer.setVisible(False)
        self.view.addItem(self.labels_layer)
        self.overlays: dict[str, OrganOverlay] = {}
        self._lut: BrushLut | None = None
        self._deferred = False
        self.cbar.setVisible(False)
        self.hist.setVisible(False)
        self.scale.setVisible(False)
        self.info.setText("No series loaded — File ▸ Open, drop a DICOM folder, NIfTI file or "
                          "project here, or run <i>pelvitrack demo</i>")
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.series_changed.connect(self._on_series)
        state.result_changed.connect(self._on_result)
        state.frame_changed.connect(self.show_frame)
        state.organ_visibility_changed.connect(lambda *_: self._apply_visibility())
        state.options_changed.connect(self._on_options)
        state.index_changed.connect(lambda *_: self._on_index())
        state.labels_changed.connect(self.show_frame)

    # -- state → view ----------------------------------------------------------
    def _on_series(self) -> None:
        data = self.state.data
        if data is None:
            return
        s = data.series
        h, w = s.shape
        sr, sc = s.spacing_mm
        levels = auto_levels(s.frames)
        self.image.setImage(s.frames[0], autoLevels=False, levels=levels)
        self.image.setRect(QRectF(-sc / 2, -sr / 2, w * sc, h * sr))
        self.hist.set_stack(s.frames, levels)
        self.hist.setVisible(True)
        self.scale.setVisible(True)
        self.view.autoRange(padding=0.02)

    def _on_result(self) -> None:
        for ov in self.overlays.values():
            ov.remove(self.view)
        self.overlays = {}
        data = self.state.data
        if data is None:
            return
        for i, organ in enumerate(data.organs):
            if organ in data.points:
                self.overlays[organ] = OrganOverlay(self.view, organ, i)
        self._deferred = True  # the frame is drawn once, by the frame_changed that follows
        try:
            self._on_index()
            self._apply_visibility()
        finally:
            self._deferred = False

    def _on_index(self) -> None:
        data = self.state.data
        col = self.state.point_index
        signed = col in SIGNED_INDICES
        levels = data.index_range(col) if data is not None else (0.0, 1.0)
        cmap = colour_map(signed)
        self._lut = BrushLut(cmap, levels)
        self.cbar.setColorMap(cmap)
        self.cbar.setLevels(levels)
        self.cbar.axis.setLabel(POINT_INDICES[col], color=MUTED)
        self.cbar.setVisible(bool(self.overlays))
        self.show_frame(self.state.frame)

    def _on_options(self) -> None:
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        for organ, ov in self.overlays.items():
            ov.set_visible(self.state.visible.get(organ, True), rest=self.state.show_rest,
                           vectors=self.state.show_vectors)
        self.show_frame(self.state.frame)

    def show_frame(self, frame: int) -> None:
        """Draw frame ``frame``: image, contours, points, info line."""
        data = self.state.data
        if data is None or self._deferred:
            return
        s = data.series
        self.image.setImage(s.frames[frame], autoLevels=False)
        col = self.state.point_index
        for organ, ov in self.overlays.items():
            if not self.state.visible.get(organ, True):
                continue
            values = data.point_values[col][organ][frame]
            ov.update(data.points[organ][frame], data.valid[organ][frame],
                      data.points[organ][data.rest_frame], self._lut(values),
                      rest=self.state.show_rest, vectors=self.state.show_vectors)
        desc = s.meta.get("series_description") or s.subject
        manual, flagged = self.state.frame_marks(frame)
        marks = (" &nbsp; <span style='color:#7ee787'>✎ corrected</span>" if manual else "") + (
            f" &nbsp; <span style='color:#f0b429'>⚑ check {', '.join(flagged)}</span>"
            if flagged else "")
        if len(desc) > TITLE_CHARS:
            desc = desc[: TITLE_CHARS - 1].rstrip() + "…"
        self.info.setText(
            f"<b>{desc}</b> &nbsp; frame {frame + 1}/{s.n_frames} &nbsp; "
            f"t = {s.times_s[frame]:.2f} s{marks}"
        )
        self.info.setMinimumWidth(0)  # clipped at the view's edge, never widening it

    # -- hover -----------------------------------------------------------------
    def point_at(self, x_mm: float, y_mm: float) -> tuple[str, int] | None:
        """Nearest visible tracked point of the current frame within HOVER_RADIUS_MM.

        Returns:
            (organ, point index) or None.
        """
        data = self.state.data
        if data is None:
            return None
        best: tuple[float, str, int] | None = None
        for organ in self.overlays:
            if not self.state.visible.get(organ, True):
                continue
            pts = data.points[organ][self.state.frame]
            d = np.hypot(pts[:, 0] - x_mm, pts[:, 1] - y_mm)
            i = int(np.nanargmin(d)) if np.isfinite(d).any() else -1
            if i >= 0 and d[i] <= HOVER_RADIUS_MM and (best is None or d[i] < best[0]):
                best = (float(d[i]), organ, i)
        return None if best is None else (best[1], best[2])

    def describe_point(self, organ: str, point: int) -> str:
        """One-line read-out: organ, point id, curvature, displacement."""
        data = self.state.data
        t = self.state.frame
        k = data.point_values["curvature_per_mm"][organ][t, point]
        d = data.point_values["displacement_mm"][organ][t, point]
        return (f"{organ_label(organ)} · point {point} · curvature {k:+.4f} /mm · "
                f"displacement {d:.2f} mm")

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self.state.data is None or not self.view.sceneBoundingRect().contains(pos):
            self.hovered.emit("")
            return
        p = self.view.mapSceneToView(pos)
        hit = self.point_at(p.x(), p.y())
        text = self.describe_point(*hit) if hit else ""
        # where the pointer is, in the coordinates of the tables and of `analyze --pcl`
        self.hovered.emit(text or f"x {p.x():.1f} mm · y {p.y():.1f} mm")
        if text:
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(pos)), text, self)
        else:
            QToolTip.hideText()
