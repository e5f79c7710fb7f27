"""The pubococcygeal line in the player: drawn over the image, placed with two clicks.

Analysis ▸ Place the pubococcygeal line (L): the next left click in the player
sets the inferior pubic point, the one after it the last coccygeal joint; the
line then holds for every frame (:func:`core.reference.with_pcl`), the frame
table's ``below_pcl_mm`` is measured against it, and the change is one undo
step (Ctrl+Z).  Esc or L again stops placing.

Analysis ▸ Mark a reference point (P): the next click on a tracked point makes
it its organ's reference point (bladder base, cervix, anorectal junction): it
moves with the organ, is measured against the line and graded (the anorectal
junction also gives the H- and M-lines, drawn dotted, and the other organs' O).
Qt-free geometry is in :mod:`core.reference`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QUndoCommand
from PySide6.QtWidgets import QMenu

from app.gui import theme
from app.gui.state import AppState
from core.reference import HIATUS_ORGAN, REFERENCE_POINTS, m_line, pcl_lines

#: Colour of the line and its ends.
PCL_COLOUR = QColor("#f5d90a")

#: What the status line asks for while placing: (first click, second click).
PROMPTS = ("Click the inferior border of the pubic symphysis (Esc stops)",
           "Click the last coccygeal joint (Esc stops)")

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
        for z, item in enumerate((self.line, self.ends, self.text, self.refs, self.hmo,
                                  *self.hmo_text)):
            item.setZValue(30 + z)
            view.addItem(item, ignoreBounds=True)
        self.shown: np.ndarray | None = None
        self.show(None)
        self.show_hmo(None)

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


class PclPlacer(QObject):
    """Draws the loaded result's PCL on the current frame and takes the two clicks
    that place a new one.

    Signals:
        placed(object, object): (pubis xy, coccyx xy) in mm, once both are clicked.
        prompt(str): what to click next ("" when placing ends).
    """

    placed = Signal(object, object)
    picked = Signal(str, int)
    prompt = Signal(str)

    def __init__(self, state: AppState, player: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.player = player
        self.overlay = PclOverlay(player.view)
        self.placing = False
        self.picking = False
        #: The frame being placed on, or None for every frame.
        self.target_frame: int | None = None
        self.first: np.ndarray | None = None
        self._lines: np.ndarray | None = None
        self._refs: dict[str, np.ndarray] = {}
        self._blank = True  # the overlay shows nothing
        player.scene().sigMouseClicked.connect(self._on_click)
        state.result_changed.connect(self._on_result)
        state.frame_changed.connect(self._draw)

    @property
    def lines(self) -> np.ndarray | None:
        """The loaded result's PCL per frame, (T, 2, 2), or None."""
        return self._lines

    def _on_result(self) -> None:
        data = self.state.data
        marks = getattr(self.state.result, "landmarks", None)
        self._lines = None if data is None else pcl_lines(marks, data.n_frames)
        result = self.state.result
        self._refs = (result.reference_tracks() if hasattr(result, "reference_tracks")
                      else {})
        if data is None or data.labels is None:
            self.stop()
        self._draw()

    def _draw(self, *_args: object) -> None:
        lines = self._lines
        line = None if lines is None or self.placing else lines[self.state.frame]
        pending = self.first if self.placing else None
        at = [p[self.state.frame] for p in self._refs.values()]
        at = [p for p in at if np.isfinite(p).all()]
        if line is None and pending is None and not at and self._blank:
            return  # nothing drawn, nothing to draw: no per-frame cost during playback
        self.overlay.show(line, pending)
        self.overlay.refs.setData([p[0] for p in at], [p[1] for p in at])
        arj = self._refs.get(HIATUS_ORGAN)
        arj = None if arj is None or line is None else arj[self.state.frame]
        self.overlay.show_hmo(None if arj is None or not np.isfinite(arj).all() else
                              np.stack([np.stack([line[0], arj]), m_line(line, arj)]))
        self._blank = line is None and pending is None and not at

    def start(self, this_frame_only: bool = False) -> bool:
        """Take the next two clicks as the line's ends (False when nothing is loaded);
        ``this_frame_only``: for the current frame (a patient who moved), else all."""
        if self.state.data is None or self.state.busy:
            return False
        self.state.set_editing(False)  # a click must not paint
        self.placing, self.first = True, None
        self.target_frame = self.state.frame if this_frame_only else None
        self.prompt.emit(PROMPTS[0])
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
            self.placing, self.picking, self.first = False, False, None
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
        point = np.array([x_mm, y_mm], float)
        if self.first is None:
            self.first = point
            self.prompt.emit(PROMPTS[1])
            self._draw()
            return
        first = self.first
        self.placing, self.first = False, None
        self.prompt.emit("")
        self._draw()
        self.placed.emit(tuple(first), tuple(point))

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


class LandmarkEdit(QUndoCommand):
    """One change of the measuring references (the PCL, the reference points), undoable.

    ``apply(snapshot)`` puts a ``{"landmarks": …, "reference_points": …}`` snapshot on
    the result and refreshes the views.
    """

    def __init__(self, apply: Any, before: dict, after: dict, text: str) -> None:
        super().__init__(text)
        self.apply, self.before, self.after = apply, before, after

    def redo(self) -> None:  # noqa: D102 - QUndoCommand API
        self.apply(self.after)

    def undo(self) -> None:  # noqa: D102 - QUndoCommand API
        self.apply(self.before)


def has_pcl(result: Any) -> bool:
    """Whether a result carries a placed PCL."""
    series = getattr(result, "series", None)
    return series is not None and pcl_lines(getattr(result, "landmarks", None),
                                            series.n_frames) is not None


class ReferenceActions:
    """Analysis ▸ Place / Remove the pubococcygeal line, Mark / Clear reference points
    (a mixin of :class:`app.gui.main_window.MainWindow`: it uses the window's ``state``,
    ``player``, ``editor``, ``status_label``, ``busy``, ``report_error``, ``_action``
    and ``_autosave_timer``)."""

    def _build_pcl_actions(self, menu: QMenu) -> None:
        """Place / remove the PCL (L, Esc stops placing)."""
        self.pcl = PclPlacer(self.state, self.player, self)
        self.pcl_action = QAction("Place the &pubococcygeal line", self)
        self.pcl_action.setCheckable(True)
        self.pcl_action.setShortcut(QKeySequence(Qt.Key.Key_L))
        self.pcl_action.setStatusTip("Click the inferior pubic point, then the last coccygeal "
                                     "joint: each organ's lowest point is measured against "
                                     "the line (rule of three)")
        self.pcl_action.toggled.connect(self._toggle_pcl)
        menu.addAction(self.pcl_action)
        self.pcl_frame_action = self._action(
            menu, "Place the line on this frame only", lambda: self.pcl.start(True), "Shift+L")
        self.pcl_frame_action.setStatusTip("Where the patient moved: this frame gets its own "
                                           "line; frames without one use the nearest that has")
        self.remove_pcl_action = self._action(menu, "Remove the pubococcygeal line",
                                              self.remove_pcl)
        self.pick_action = self._action(menu, "Mark an organ's reference &point",
                                        self._start_picking, Qt.Key.Key_P)
        self.pick_action.setStatusTip("Click a tracked point: the bladder base, the cervix or "
                                      "the anorectal junction; it moves with the organ and is "
                                      "measured against the line")
        self.clear_refs_action = self._action(menu, "Clear the reference points",
                                              lambda: self.set_reference_point(None, None))
        self.stop_pcl_action = QAction("Stop placing the line or marking a point", self)
        self.stop_pcl_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.stop_pcl_action.triggered.connect(self.pcl.stop)
        self.addAction(self.stop_pcl_action)
        self.pcl.placed.connect(lambda a, b: self.place_pcl(a, b, self.pcl.target_frame))
        self.pcl.picked.connect(self.set_reference_point)
        self.pcl.prompt.connect(self._pcl_prompt)
        self.state.result_changed.connect(self._sync_pcl_actions)
        self._sync_pcl_actions()

    def _toggle_pcl(self, on: bool) -> None:
        if on and not self.pcl.placing:
            if not self.pcl.start():
                self.pcl_action.setChecked(False)
        elif not on:
            self.pcl.stop()

    def _pcl_prompt(self, text: str) -> None:
        if text:
            self.status_label.setText(text)
        self.pcl_action.blockSignals(True)
        self.pcl_action.setChecked(self.pcl.placing)
        self.pcl_action.blockSignals(False)
        self.stop_pcl_action.setEnabled(self.pcl.placing or self.pcl.picking)

    def _sync_pcl_actions(self) -> None:
        result = self.state.result
        can = result is not None and hasattr(result, "set_landmarks")
        self.pcl_action.setEnabled(can)
        self.pcl_frame_action.setEnabled(can)
        self.remove_pcl_action.setEnabled(can and has_pcl(result))
        self.pick_action.setEnabled(can and self.state.has_result)
        self.clear_refs_action.setEnabled(can and bool(getattr(result, "reference_points", {})))
        self.stop_pcl_action.setEnabled(self.pcl.placing or self.pcl.picking)

    def _start_picking(self) -> None:
        self.pcl.start_picking()

    def set_reference_point(self, organ: str | None, index: int | None) -> bool:
        """Make tracked point ``index`` the reference point of ``organ`` (one undo
        step); ``organ`` None clears them all."""
        result = self.state.result
        if result is None or not hasattr(result, "set_reference_points") or self.busy:
            return False
        chosen = dict(result.reference_points)
        if organ is None:
            chosen = {}
        else:
            chosen[organ] = int(index)
        text = ("Clear the reference points" if organ is None
                else f"Mark the {REFERENCE_POINTS.get(organ, organ)}")
        return self._push_references(result.landmarks, chosen, text)

    def place_pcl(self, pubis: Any, coccyx: Any, frame: int | None = None) -> bool:
        """Put the PCL on every frame, or on ``frame`` only (one undo step), and measure
        against it.  Placed by clicks, the frame is the one the placing started on."""
        from core.reference import check_inside, with_pcl

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        try:
            check_inside((pubis, coccyx), result.series.shape, result.series.spacing_mm)
            after = with_pcl(result.landmarks, result.series.n_frames, pubis, coccyx,
                             frame=frame)
        except ValueError as exc:
            self.report_error(exc)
            return False
        where = "" if frame is None else f" on frame {frame + 1}"
        return self._push_references(after, result.reference_points,
                                     f"Place the pubococcygeal line{where}")

    def remove_pcl(self) -> bool:
        """Take the PCL off (one undo step)."""
        from core.reference import without_pcl

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        return self._push_references(without_pcl(result.landmarks), result.reference_points,
                                     "Remove the pubococcygeal line")

    def _push_references(self, landmarks: dict, chosen: dict, text: str) -> bool:
        result = self.state.result
        before = {"landmarks": {k: v.copy() for k, v in result.landmarks.items()},
                  "reference_points": dict(result.reference_points)}
        after = {"landmarks": {k: v.copy() for k, v in landmarks.items()},
                 "reference_points": dict(chosen)}
        self.editor.undo_stack.push(LandmarkEdit(self._apply_references, before, after, text))
        return True

    def _apply_references(self, snapshot: dict) -> None:
        from core.indices import summary_table

        result = self.state.result
        result.set_references({k: v.copy() for k, v in snapshot["landmarks"].items()},
                              dict(snapshot["reference_points"]))
        self.state.refresh_result()
        self._autosave_timer.start()
        table = summary_table(result.frames, int(result.settings.get("rest_frame", 0)))
        self.status_label.setText(pcl_report(table) or "Nothing is measured against a "
                                  "pubococcygeal line")


def pcl_report(table: Any) -> str:
    """One status line from a summary table: each organ's measure against the PCL
    (the reference point where one is marked, else the lowest point) and its grade."""
    parts = []
    for _, row in table.iterrows():
        ref, low = row["max_ref_below_pcl_mm"], row["max_below_pcl_mm"]
        if ref == ref:
            text = f"{REFERENCE_POINTS.get(row['organ'], row['organ'])} {ref:+.1f} mm"
        elif low == low:
            text = f"{theme.organ_label(row['organ'])} lowest point {low:+.1f} mm"
        else:
            continue
        extra = [g for g in (row["pcl_grade"], row["hmo_grade"]) if g]
        parts.append(text + (f" ({'; '.join(extra)})" if extra else ""))
    return ("Below the PCL at most: " + ", ".join(parts)) if parts else ""
