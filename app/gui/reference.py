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
Where no junction is marked and the anal canal line is there, the junction is found on
each frame (:mod:`core.anorectal`).

Analysis ▸ Measure a distance (D) / an angle (G): two or three clicks on the current
frame (:mod:`core.measurements`).  The ends of the lines and the measured points can be
dragged (one undo step each).  Qt-free geometry is in :mod:`core.reference`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand
from PySide6.QtWidgets import QMenu

from app.gui import theme
from app.gui.line_placer import PclPlacer
from core.anorectal import angle_summary
from core.measurements import KINDS, on_frame
from core.rectocele import LINE_KINDS, anal_lines
from core.reference import REFERENCE_POINTS, check_inside, pcl_lines, reference_name
from core.summary import grades_of


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


def has_user_marks(result: Any) -> bool:
    """Whether a result carries a placed line or a marked reference point."""
    series = getattr(result, "series", None)
    if series is None:
        return False
    marks = getattr(result, "landmarks", None)
    return bool(has_pcl(result) or anal_lines(marks, series.n_frames) is not None
                or getattr(result, "reference_points", None))


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
            menu, "Place the pubococcygeal line on this frame only",
            lambda: self.pcl.start(True), "Shift+L")
        self.pcl_frame_action.setStatusTip("Where the patient moved: this frame gets its own "
                                           "line; frames without one use the nearest that has")
        self.remove_pcl_action = self._action(menu, "Remove the pubococcygeal line",
                                              self.remove_pcl)
        menu.addSeparator()
        self.anal_action = self._action(menu, "Place the &anal canal line",
                                        lambda: self.pcl.start(kind="anal"), Qt.Key.Key_A)
        self.anal_action.setStatusTip("Click the anterior wall of the anal canal low, then "
                                      "higher up: the rectal wall is measured for a "
                                      "rectocele in front of the line extended upwards")
        self.anal_frame_action = self._action(
            menu, "Place the anal canal line on this frame only",
            lambda: self.pcl.start(True, kind="anal"), "Shift+A")
        self.anal_frame_action.setStatusTip("Rectoceles are measured at the strain: this "
                                            "frame gets its own line; frames without one use "
                                            "the nearest that has")
        self.fit_anal_action = self._action(menu, "Fit the anal canal line to the rectum",
                                            self.fit_anal_line)
        self.fit_anal_action.setStatusTip("Each frame gets a line along the anterior edge of "
                                          "its rectum label's lowest 25 mm (check it; place "
                                          "it by hand where it is off)")
        self.remove_anal_action = self._action(menu, "Remove the anal canal line",
                                               self.remove_anal_line)
        menu.addSeparator()
        self.distance_action = self._action(menu, "Measure a &distance",
                                            lambda: self.pcl.start(kind="distance"),
                                            Qt.Key.Key_D)
        self.distance_action.setStatusTip("Click two points on this frame: the distance "
                                          "between them is drawn, saved with the project "
                                          "and exported with the tables")
        self.angle_action = self._action(menu, "Measure an an&gle",
                                         lambda: self.pcl.start(kind="angle"), Qt.Key.Key_G)
        self.angle_action.setStatusTip("Click an arm's end, the vertex and the other arm's "
                                       "end on this frame: the angle is drawn, saved with the "
                                       "project and exported with the tables")
        self.remove_measurements_action = self._action(
            menu, "Remove the measurements on this frame",
            lambda: self.remove_measurements(self.state.frame), "Shift+D")
        menu.addSeparator()
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
        self.pcl.placed.connect(self._on_placed)
        self.pcl.picked.connect(self.set_reference_point)
        self.pcl.prompt.connect(self._pcl_prompt)
        self.state.result_changed.connect(self._sync_pcl_actions)
        self.state.marks_changed.connect(self._sync_pcl_actions)
        self.pcl.measured.connect(self.measure)
        self.pcl.moved.connect(self.move_point)
        self.pcl.removed.connect(self._remove_by_handle)
        self.state.frame_changed.connect(self._sync_measure_actions)
        self._sync_pcl_actions()

    def _toggle_pcl(self, on: bool) -> None:
        if on and not (self.pcl.placing and self.pcl.kind == "pcl"):
            if not self.pcl.start():
                self.pcl_action.setChecked(False)
        elif not on:
            self.pcl.stop()

    def _pcl_prompt(self, text: str) -> None:
        if text:
            self.status_label.setText(text)
        self.pcl_action.blockSignals(True)
        self.pcl_action.setChecked(self.pcl.placing and self.pcl.kind == "pcl")
        self.pcl_action.blockSignals(False)
        self.stop_pcl_action.setEnabled(self.pcl.placing or self.pcl.picking)

    def _sync_pcl_actions(self) -> None:
        result = self.state.result
        can = result is not None and hasattr(result, "set_landmarks")
        self.pcl_action.setEnabled(can)
        self.pcl_frame_action.setEnabled(can)
        self.remove_pcl_action.setEnabled(can and has_pcl(result))
        self.anal_action.setEnabled(can)
        self.anal_frame_action.setEnabled(can)
        self.fit_anal_action.setEnabled(can and self.state.has_result)
        self.remove_anal_action.setEnabled(can and anal_lines(
            result.landmarks, result.series.n_frames) is not None)
        self._sync_measure_actions()
        self.pick_action.setEnabled(can and self.state.has_result)
        self.clear_refs_action.setEnabled(can and bool(getattr(result, "reference_points", {})))
        self.stop_pcl_action.setEnabled(self.pcl.placing or self.pcl.picking)

    def _sync_measure_actions(self, *_args: object) -> None:
        result = self.state.result
        can = result is not None and hasattr(result, "set_landmarks")
        self.distance_action.setEnabled(can)
        self.angle_action.setEnabled(can)
        self.remove_measurements_action.setEnabled(can and bool(on_frame(
            result.landmarks, self.state.frame)))

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
        return self._place_line("pcl", pubis, coccyx, frame)

    def place_anal_line(self, low: Any, high: Any, frame: int | None = None) -> bool:
        """Put the anal canal's line (lower end first) on every frame or on ``frame``
        (one undo step): the rectum is measured for a rectocele in front of it, and
        its anorectal angle."""
        return self._place_line("anal", low, high, frame)

    def _on_placed(self, first: Any, second: Any) -> None:
        self._place_line(self.pcl.kind, first, second, self.pcl.target_frame)

    def measure(self, kind: str, points: Any, frame: int | None = None) -> bool:
        """Measure a ``kind`` ("distance": its two ends; "angle": an arm's end, the
        vertex, the other arm's end; xy mm) on ``frame`` (None: the current one): drawn
        on that frame, saved and exported (one undo step)."""
        from core.measurements import measurements, with_measurement

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        frame = self.state.frame if frame is None else int(frame)
        try:
            after, key = with_measurement(result.landmarks, result.series.n_frames, frame,
                                          kind, points)
            check_inside(points, result.series.shape, result.series.spacing_mm,
                         names=[f"{kind}'s {name} point" for name in KINDS[kind]])
        except ValueError as exc:
            self.report_error(exc)
            return False
        self._push_references(after, result.reference_points,
                              f"Measure {kind} {key} on frame {frame + 1}")
        done = next(m for m in measurements(after) if m.key == key)
        self.status_label.setText(f"{kind.capitalize()} {key}: {done.text} on frame "
                                  f"{frame + 1}")
        return True

    def move_point(self, what: tuple, xy: Any) -> bool:
        """Move a line's end (``("pcl" | "anal", end)``: on the frames that share the
        point drawn on this one) or a measured point (``("measure", kind, number,
        point)``) to ``xy`` mm (one undo step).  A move the line or measurement cannot
        take is refused with the reason, and the point goes back."""
        from core.measurements import with_point_moved
        from core.rectocele import ANAL_LANDMARKS
        from core.reference import PCL_LANDMARKS, with_end_moved

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            self.pcl.redraw()
            return False
        t, n = self.state.frame, result.series.n_frames
        try:
            if what[0] == "measure":
                _what, kind, key, index = what
                after, m = with_point_moved(result.landmarks, kind, key, index, xy)
                check_inside([xy], result.series.shape, result.series.spacing_mm,
                             names=[f"{kind}'s {KINDS[kind][index]} point"])
                text, status = (f"Move a point of {kind} {key}",
                                f"{kind.capitalize()} {key}: {m.text} on frame {m.frame + 1}")
            else:
                kind, end = what
                names = PCL_LANDMARKS if kind == "pcl" else ANAL_LANDMARKS
                drawn = (pcl_lines if kind == "pcl" else anal_lines)(result.landmarks, n)[t]
                after = with_end_moved(result.landmarks, names[end], t, drawn[end], xy)
                moved = (pcl_lines if kind == "pcl" else anal_lines)(after, n)[t]
                check, place, name = LINE_KINDS[kind][:3]
                check(moved, result.series.shape, result.series.spacing_mm)
                place({}, 1, moved[0], moved[1])            # its length, as when placed
                text, status = f"Move an end of {name}", ""
        except ValueError as exc:
            self.report_error(exc)
            self.pcl.redraw()
            return False
        self._push_references(after, result.reference_points, text)
        if status:
            self.status_label.setText(status)
        return True

    def _remove_by_handle(self, what: tuple) -> None:
        if what[0] == "measure":                  # a line's end: nothing to remove alone
            self.remove_measurement(what[2])

    def remove_measurement(self, key: int) -> bool:
        """Take measurement number ``key`` off (one undo step)."""
        from core.measurements import measurements, without_measurement

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        found = [m for m in measurements(result.landmarks) if m.key == int(key)]
        if not found:
            return False
        m = found[0]
        self._push_references(without_measurement(result.landmarks, m.key),
                              result.reference_points, f"Remove {m.kind} {m.key}")
        self.status_label.setText(f"Removed {m.kind} {m.key} ({m.text}, frame {m.frame + 1}); "
                                  "Ctrl+Z brings it back")
        return True

    def remove_measurements(self, frame: int | None = None) -> bool:
        """Take the distances and angles measured on ``frame`` off (None: all; one undo
        step)."""
        from core.measurements import measurements, without_measurements

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        if not any(frame is None or m.frame == frame for m in measurements(result.landmarks)):
            return False
        where = "" if frame is None else f" on frame {frame + 1}"
        return self._push_references(without_measurements(result.landmarks, frame),
                                     result.reference_points,
                                     f"Remove the measurements{where}")

    def _place_line(self, kind: str, first: Any, second: Any, frame: int | None) -> bool:
        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        check, place, name = LINE_KINDS[kind][:3]
        try:
            check((first, second), result.series.shape, result.series.spacing_mm)
            after = place(result.landmarks, result.series.n_frames, first, second, frame=frame)
        except ValueError as exc:
            self.report_error(exc)
            return False
        where = "" if frame is None else f" on frame {frame + 1}"
        return self._push_references(after, result.reference_points, f"Place {name}{where}")

    def fit_anal_line(self) -> bool:
        """Fit the anal canal line to each frame's rectum (one undo step)."""
        from core.rectocele import fitted_to_result, unfitted_note

        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        try:
            after = fitted_to_result(result)
        except ValueError as exc:
            self.report_error(exc)
            return False
        self._push_references(after, result.reference_points,
                              "Fit the anal canal line to the rectum")
        note = unfitted_note(after)
        if note:
            self.status_label.setText(note[0].upper() + note[1:] + ".")
        return True

    def remove_pcl(self) -> bool:
        """Take the PCL off (one undo step)."""
        return self._remove_line("pcl")

    def remove_anal_line(self) -> bool:
        """Take the anal canal's line off (one undo step)."""
        return self._remove_line("anal")

    def _remove_line(self, kind: str) -> bool:
        result = self.state.result
        if result is None or not hasattr(result, "set_landmarks") or self.busy:
            return False
        _check, _place, name, remove = LINE_KINDS[kind]
        return self._push_references(remove(result.landmarks), result.reference_points,
                                     f"Remove {name}")

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
        measured = result.set_references({k: v.copy() for k, v in snapshot["landmarks"].items()},
                                         dict(snapshot["reference_points"]))
        self._autosave_timer.start()
        if not measured:                # only measurements by hand: nothing else to redraw
            self.state.refresh_marks()
            return
        self.state.refresh_result()
        table = summary_table(result.frames, int(result.settings.get("rest_frame", 0)))
        self.status_label.setText(pcl_report(table, result.junction_found)
                                  or "Nothing is measured against a placed line")


def pcl_report(table: Any, junction_found: bool = False) -> str:
    """One status line from a summary table: each organ's measure against the PCL
    (the reference point where one is marked or, for the anorectal junction, found
    — ``junction_found`` — else the lowest point) and its grade."""
    parts = []
    for _, row in table.iterrows():
        ref, low = row["max_ref_below_pcl_mm"], row["max_below_pcl_mm"]
        if ref == ref:
            text = f"{reference_name(row['organ'], junction_found)} {ref:+.1f} mm"
        elif low == low:
            text = f"{theme.organ_label(row['organ'])} lowest point {low:+.1f} mm"
        else:
            continue
        extra = grades_of(row, ("pcl_grade", "hmo_grade"))
        parts.append(text + (f" ({'; '.join(extra)})" if extra else ""))
    out = ("Below the PCL at most: " + ", ".join(parts)) if parts else ""
    for _, row in table.iterrows():
        depth = row.get("max_rectocele_depth_mm", float("nan"))
        if depth == depth:
            out += (("; " if out else "") + f"rectocele at most {depth:+.1f} mm "
                    f"({row['rectocele_grade']})")
        angle = angle_summary(row)
        if angle:
            out += ("; " if out else "") + angle
    return out
