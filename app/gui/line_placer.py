"""The lines and points the user places in the player: drawn over the image, placed
with clicks, moved by dragging.

:class:`PclPlacer` draws the loaded result's pubococcygeal line, anal canal line,
reference points (the anorectal junction found on each frame where none is marked),
HMO lines, anorectal angle and measurements by hand on the current frame.  It takes the
clicks that place a line (two: its ends), make a measurement (a distance: two; an
angle: three) or mark a reference point (one, on a tracked point), and puts handles on
the line ends and measured points that can be dragged.  What is done with them (undo,
measuring) is :class:`app.gui.reference.ReferenceActions`'.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor

from app.gui.state import AppState
from core.anorectal import angle_of_arms, frame_trace
from core.measurements import KINDS, MEASURE_RGB, measurements
from core.rectocele import anal_lines, extended
from core.reference import HIATUS_ORGAN, m_line, pcl_lines

#: Colour of the line and its ends.
PCL_COLOUR = QColor("#f5d90a")

#: What the status line asks for while placing each kind of line or measurement, one
#: prompt per click (two for a line or a distance, three for an angle).
PROMPTS = {
    "pcl": ("Click the inferior border of the pubic symphysis (Esc stops)",
            "Click the last coccygeal joint (Esc stops)"),
    "anal": ("Click the anterior wall of the anal canal, low (Esc stops)",
             "Click the anterior wall of the anal canal higher up, below the anorectal "
             "junction (Esc stops)"),
    "distance": ("Click where the distance starts (Esc stops)",
                 "Click where the distance ends (Esc stops)"),
    "angle": ("Click the end of the angle's first arm (Esc stops)",
              "Click the angle's vertex (Esc stops)",
              "Click the end of its second arm (Esc stops)"),
}

#: Colour of the distances and angles measured by hand.
MEASURE_COLOUR = QColor(*MEASURE_RGB)

#: ... and while marking a reference point.
PICK_PROMPT = ("Click a tracked point: the bladder base, the cervix or vaginal vault, or the "
               "anorectal junction (Esc stops)")


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


class _Handle(pg.TargetItem):
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


class PclPlacer(QObject):
    """Draws the loaded result's PCL (and anal canal line, reference points) on the
    current frame and takes the two clicks that place a new line.

    Signals:
        placed(object, object): the line's ends in mm once both are clicked ((pubis,
            coccyx) for the PCL, (lower, upper) for the anal canal: :attr:`kind`).
        measured(str, object): a measurement by hand's kind ("distance", "angle") and
            its points in mm once all are clicked.
        prompt(str): what to click next ("" when placing ends).
        moved(object, object): a handle was dragged: what it moves (``("pcl", end)``,
            ``("anal", end)`` or ``("measure", kind, number, point)``) and where to, mm.
        removed(object): a handle was right-clicked: what it belongs to (as ``moved``).
    """

    placed = Signal(object, object)
    measured = Signal(str, object)
    moved = Signal(object, object)
    removed = Signal(object)
    picked = Signal(str, int)
    prompt = Signal(str)

    def __init__(self, state: AppState, player: Any, parent: QObject | None = None,
                 movable: bool = True) -> None:
        super().__init__(parent)
        self.state = state
        self.player = player
        #: Whether the lines' ends and measured points get handles to drag.
        self.movable = movable
        self.overlay = PclOverlay(player.view)
        self.placing = False
        #: The line being placed: "pcl" or "anal".
        self.kind = "pcl"
        self.picking = False
        #: The frame being placed on, or None for every frame.
        self.target_frame: int | None = None
        #: The points clicked so far of the line or measurement being placed.
        self.clicks: list[np.ndarray] = []
        self._lines: np.ndarray | None = None
        self._anal: np.ndarray | None = None
        # per frame, once drawn: the anorectal junction and the angle's arms
        self._traced: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
        self._auto_junction = True
        self._refs: dict[str, np.ndarray] = {}
        self._measured: dict[int, list] = {}   # frame -> its measurements by hand
        self._blank = True  # the overlay shows nothing
        #: Handles on the current frame's line ends and measured points, dragged to move
        #: them (each has ``info``: what it moves, see :attr:`moved`).
        self.handles: list[_Handle] = []
        self._drag: tuple[tuple, tuple[float, float]] | None = None
        player.scene().sigMouseClicked.connect(self._on_click)
        state.result_changed.connect(self._on_result)
        state.marks_changed.connect(self._on_result)
        state.labels_changed.connect(self._on_labels)
        state.frame_changed.connect(self._draw)
        state.edit_changed.connect(self._draw)     # no handles while labels are painted

    @property
    def lines(self) -> np.ndarray | None:
        """The loaded result's PCL per frame, (T, 2, 2), or None."""
        return self._lines

    def _on_result(self) -> None:
        data = self.state.data
        marks = getattr(self.state.result, "landmarks", None)
        self._lines = None if data is None else pcl_lines(marks, data.n_frames)
        self._anal = None if data is None else anal_lines(marks, data.n_frames)
        self._traced = {}
        result = self.state.result
        # the points marked; the anorectal junction, unless marked, is found on each
        # frame with the angle (as the frame table finds it)
        self._refs = (result.reference_tracks(found=False)
                      if hasattr(result, "reference_tracks") else {})
        self._auto_junction = HIATUS_ORGAN not in self._refs
        self._measured = {}
        for m in measurements(marks):
            self._measured.setdefault(m.frame, []).append(m)
        if data is None or data.labels is None:
            self.stop()
        self._draw()

    def _on_labels(self, frame: int) -> None:
        """A corrected frame: its angle and junction are found again on the new outline."""
        self._traced.pop(int(frame), None)
        if int(frame) == self.state.frame:
            self._draw()

    def _draw(self, *_args: object) -> None:
        t = self.state.frame
        # while a line is placed the lines are hidden and the first click is shown; a
        # distance or angle is measured over them
        measuring = self.placing and self.kind in KINDS
        hide = self.placing and not measuring
        line = None if self._lines is None or hide else self._lines[t]
        anal = None if self._anal is None or hide else self._anal[t]
        pending = self.clicks[0] if hide and self.clicks else None
        clicked = self.clicks if measuring else []
        measured = self._measured.get(t, [])
        junction, arms = (None, None) if anal is None else self._trace(t, anal)
        shown = [(m.points, m.text) for m in measured]
        if self._drag is not None:          # a point being dragged is drawn where it is
            (what, *which), xy = self._drag
            if what == "pcl" and line is not None:
                line = line.copy()
                line[which[0]] = xy
            elif what == "anal" and anal is not None:
                anal = anal.copy()
                anal[which[0]] = xy
            elif what == "measure":
                shown = [(tuple(xy if (m.key, i) == tuple(which[1:]) else p
                                for i, p in enumerate(m.points)), m.text) for m in measured]
        marked = self._refs.get(HIATUS_ORGAN)
        arj = junction if self._auto_junction else None if marked is None else marked[t]
        at = [p[t] for o, p in self._refs.items() if o != HIATUS_ORGAN] + [arj]
        at = [p for p in at if p is not None and np.isfinite(p).all()]
        blank = (line is None and anal is None and pending is None and not at
                 and not measured and not clicked)
        if blank and self._blank:
            return  # nothing drawn, nothing to draw: no per-frame cost during playback
        self.overlay.show(line, pending)
        self.overlay.show_measurements(shown, clicked)
        self.overlay.show_anal(anal)
        self.overlay.show_angle(arms)
        self.overlay.refs.setData([p[0] for p in at], [p[1] for p in at])
        arj = None if line is None else arj
        self.overlay.show_hmo(None if arj is None or not np.isfinite(arj).all() else
                              np.stack([np.stack([line[0], arj]), m_line(line, arj)]))
        handles = []
        if self.movable and not (self.placing or self.picking or self.state.editing):
            for what, ends in (("pcl", line), ("anal", anal)):
                if ends is not None:
                    handles += [((what, i), ends[i]) for i in range(2)]
            handles += [(("measure", m.kind, m.key, i), p) for m in measured
                        for i, p in enumerate(m.points)]
        self._show_handles([(info, xy) for info, xy in handles if np.isfinite(xy).all()])
        self._blank = blank

    def _show_handles(self, handles: list) -> None:
        """Put a draggable handle on each ``(info, xy)``; hide the others."""
        while len(self.handles) < len(handles):
            handle = _Handle(lambda h: self.removed.emit(h.info), size=12, symbol="o",
                             pen=pg.mkPen(PCL_COLOUR, width=1), brush=QColor(0, 0, 0, 0),
                             hoverBrush=PCL_COLOUR)
            handle.setZValue(60)
            handle.setVisible(False)
            handle.info = None
            self.player.view.addItem(handle, ignoreBounds=True)
            handle.sigPositionChanged.connect(self._on_handle_drag)
            handle.sigPositionChangeFinished.connect(self._on_handle_moved)
            self.handles.append(handle)
        for i, handle in enumerate(self.handles):
            visible = i < len(handles)
            if visible:
                handle.info, xy = handles[i]
                if self._drag is None or self._drag[0] != handle.info:
                    handle.blockSignals(True)        # placed, not dragged
                    handle.setPos(QPointF(float(xy[0]), float(xy[1])))
                    handle.blockSignals(False)
            handle.setVisible(visible)

    def _on_handle_drag(self, handle: pg.TargetItem) -> None:
        pos = handle.pos()
        self._drag = (handle.info, (float(pos.x()), float(pos.y())))
        self._draw()

    def _on_handle_moved(self, handle: pg.TargetItem) -> None:
        pos = handle.pos()
        self._drag = None
        self.moved.emit(handle.info, (float(pos.x()), float(pos.y())))

    def redraw(self) -> None:
        """Draw the current frame again from the result (a move that was refused)."""
        self._drag = None
        self._blank = False
        self._draw()

    def _trace(self, frame: int, line: np.ndarray
               ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The anorectal junction and the angle's arms on ``frame`` (found once per
        frame and line, from the rectum's label outline as the frame table is)."""
        if frame not in self._traced:
            data = self.state.data
            self._traced[frame] = frame_trace(data.labels, data.organs,
                                              data.series.spacing_mm, frame, line)
        return self._traced[frame]

    def start(self, this_frame_only: bool = False, kind: str = "pcl") -> bool:
        """Take the next clicks as the ends of a line of ``kind`` ("pcl", "anal"), or
        the points of a measurement by hand ("distance": two, "angle": three); False when
        nothing is loaded.  ``this_frame_only``: for the current frame (a patient who
        moved; always for a measurement), else all."""
        if self.state.data is None or self.state.busy:
            return False
        self.stop()
        self.state.set_editing(False)  # a click must not paint
        self.placing, self.clicks, self.kind = True, [], kind
        self.target_frame = (self.state.frame if this_frame_only or kind in KINDS
                             else None)
        self.prompt.emit(PROMPTS[kind][0])
        self._draw()
        return True

    def start_picking(self) -> bool:
        """Take the next click on a tracked point as its organ's reference point."""
        if not self.state.has_result or self.state.busy:
            return False
        self.stop()
        self.state.set_editing(False)
        self.picking = True
        self.prompt.emit(PICK_PROMPT)
        return True

    def stop(self) -> None:
        """Stop placing or picking; the line and points stay as they were."""
        if self.placing or self.picking:
            self.placing, self.picking, self.clicks = False, False, []
            self.prompt.emit("")
            self._draw()

    def pick(self, x_mm: float, y_mm: float) -> bool:
        """One click of picking at (x, y) mm: True when it hit a tracked point."""
        if not self.picking:
            return False
        hit = self.player.point_at(x_mm, y_mm)
        if hit is None:
            self.prompt.emit("No tracked point there. " + PICK_PROMPT)
            return False
        self.picking = False
        self.prompt.emit("")
        self.picked.emit(hit[0], int(hit[1]))
        return True

    def click(self, x_mm: float, y_mm: float) -> None:
        """One click of placing, at (x, y) mm."""
        if not self.placing:
            return
        self.clicks.append(np.array([x_mm, y_mm], float))
        if len(self.clicks) < len(PROMPTS[self.kind]):
            self.prompt.emit(PROMPTS[self.kind][len(self.clicks)])
            self._draw()
            return
        clicks = [tuple(p) for p in self.clicks]
        self.placing, self.clicks = False, []
        self.prompt.emit("")
        self._draw()
        if self.kind in KINDS:
            self.measured.emit(self.kind, clicks)
        else:
            self.placed.emit(*clicks)

    def _on_click(self, ev) -> None:  # noqa: ANN001 - pyqtgraph MouseClickEvent
        if not (self.placing or self.picking) or ev.button() != Qt.MouseButton.LeftButton:
            return
        pos = ev.scenePos()
        if not self.player.view.sceneBoundingRect().contains(pos):
            return
        p: QPointF = self.player.view.mapSceneToView(pos)
        ev.accept()
        if self.picking:
            self.pick(float(p.x()), float(p.y()))
        else:
            self.click(float(p.x()), float(p.y()))
