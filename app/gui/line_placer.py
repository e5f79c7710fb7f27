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

from app.gui.line_overlay import PCL_COLOUR, Handle, PclOverlay
from app.gui.state import AppState
from core.anorectal import frame_trace
from core.measurements import KINDS, measurements
from core.rectocele import anal_lines
from core.reference import HIATUS_ORGAN, m_line, pcl_lines

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

#: ... and while marking a reference point.
PICK_PROMPT = ("Click a tracked point: the bladder base, the cervix or vaginal vault, or the "
               "anorectal junction (Esc stops)")


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
        self.handles: list[Handle] = []
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
            handle = Handle(lambda h: self.removed.emit(h.info), size=12, symbol="o",
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
