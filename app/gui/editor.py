"""Label correction in the player: a brush on a label layer, undo/redo, re-tracking.

- :class:`LabelLayer` draws the current frame's labels as a translucent colour
  image over the video and, while editing, turns left-button drags into brush
  strokes (middle drag still pans, the wheel still zooms).
- :class:`LabelEditor` owns the undo stack: each finished stroke is one
  :class:`FrameEdit` (the frame's labels and provenance before and after).
- :class:`EditPanel` holds the controls (organ, paint/erase, brush radius,
  corrected-frame count, re-track).

The brush itself is :mod:`core.edit` (Qt-free); the state stores corrections
through :meth:`app.gui.state.AppState.apply_labels`, which marks the frame
"manual" so that a saved project carries it to ``pelvitrack train --project``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGraphicsEllipseItem,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.state import AppState
from app.gui.theme import organ_label, organ_rgb
from core.edit import MAX_RADIUS_MM, MIN_RADIUS_MM, copy_organ, fill_organ, paint, stroke_mask

#: Opacity (0–255) of the label layer.
LABEL_ALPHA = 95


def label_rgba(labels_hw: np.ndarray, organs: tuple[str, ...],
               hidden: frozenset[str] = frozenset()) -> np.ndarray:
    """A translucent RGBA picture (H, W, 4) uint8 of one frame's labels (``hidden``
    organs transparent)."""
    lut = np.zeros((256, 4), np.uint8)
    for i, organ in enumerate(organs):
        lut[i + 1, :3] = organ_rgb(organ, i)
        lut[i + 1, 3] = 0 if organ in hidden else LABEL_ALPHA
    return lut[np.asarray(labels_hw, np.uint8)]


class FrameEdit(QUndoCommand):
    """One stroke on one frame: labels and provenance record before and after."""

    def __init__(self, state: AppState, frame: int, before: np.ndarray,
                 before_record: dict[str, Any] | None, after: np.ndarray, text: str) -> None:
        super().__init__(text)
        self.state = state
        self.frame = frame
        self.before, self.after = before, after
        self.before_record = before_record
        self.after_record: dict[str, Any] | None = None

    def redo(self) -> None:  # noqa: D102 - QUndoCommand API
        self.state.apply_labels(self.frame, self.after, self.after_record)
        self.after_record = self.state.frame_record(self.frame)  # keep the first edit's time
        self.state.set_frame(self.frame)

    def undo(self) -> None:  # noqa: D102 - QUndoCommand API
        self.state.apply_labels(self.frame, self.before, self.before_record)
        self.state.set_frame(self.frame)


class LabelLayer(pg.ImageItem):
    """The current frame's labels over the video; brush strokes while editing.

    Item coordinates are pixels (the item is placed on the mm rectangle of the
    image), so pixel (row r, column c) has its centre at (c + 0.5, r + 0.5).

    Signals:
        stroke_finished(int, object): frame and the (H, W) labels after a stroke.
    """

    stroke_finished = Signal(int, object)

    def __init__(self, state: AppState) -> None:
        super().__init__(axisOrder="row-major")
        self.state = state
        self.setZValue(5)
        self._work: np.ndarray | None = None   # labels being painted by a stroke
        self._last: tuple[float, float] | None = None
        self._frame = -1
        self.cursor = QGraphicsEllipseItem()
        self.cursor.setPen(QPen(Qt.GlobalColor.white, 0, Qt.PenStyle.DashLine))
        self.cursor.setZValue(20)
        self.cursor.setVisible(False)
        self.setAcceptHoverEvents(True)

    # -- drawing -----------------------------------------------------------------
    def show_labels(self, labels_hw: np.ndarray | None) -> None:
        """Draw one frame's labels (or nothing)."""
        data = self.state.data
        if labels_hw is None or data is None:
            self.clear()
            return
        hidden = frozenset(o for o, on in self.state.visible.items() if not on)
        self.setImage(label_rgba(labels_hw, data.organs, hidden), autoLevels=False,
                      levels=(0, 255))
        s = data.series
        h, w = s.shape
        sr, sc = s.spacing_mm
        self.setRect(QRectF(-sc / 2, -sr / 2, w * sc, h * sr))

    def refresh(self) -> None:
        """Redraw the current frame's labels (the stroke in progress if any)."""
        data = self.state.data
        if data is None or data.labels is None:
            self.show_labels(None)
            return
        self.show_labels(self._work if self._work is not None else data.labels[self.state.frame])

    # -- brush -------------------------------------------------------------------
    def _rc(self, pos: QPointF) -> tuple[float, float]:
        return float(pos.y()) - 0.5, float(pos.x()) - 0.5

    def _dab(self, to: tuple[float, float]) -> None:
        s = self.state
        pts = [to] if self._last is None else [self._last, to]
        mask = stroke_mask(s.data.series.shape, s.data.series.spacing_mm, pts, s.brush_mm)
        value = s.data.organs.index(s.edit_organ) + 1
        self._work = (paint(self._work, mask, 0, only=value) if s.erasing
                      else paint(self._work, mask, value))
        self._last = to
        self.refresh()

    def begin_stroke(self, rc: tuple[float, float]) -> None:
        """Start a stroke at pixel position ``rc`` (row, column)."""
        self._frame = self.state.frame
        self._work = self.state.frame_labels(self._frame)
        self._last = None
        self._dab(rc)

    def continue_stroke(self, rc: tuple[float, float]) -> None:
        """Extend the stroke to ``rc``."""
        if self._work is not None:
            self._dab(rc)

    def end_stroke(self) -> None:
        """Finish the stroke and hand its result on (one undo step)."""
        work, frame = self._work, self._frame
        self._work, self._last = None, None
        if work is not None:
            self.stroke_finished.emit(frame, work)
        self.refresh()

    def _editing(self) -> bool:
        return self.state.editing and self.state.data is not None

    def mouseDragEvent(self, ev) -> None:  # noqa: ANN001, N802 - pyqtgraph API
        """Left drag paints while editing; anything else goes to the view (pan, zoom)."""
        if not self._editing() or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        rc = self._rc(ev.pos())
        if ev.isStart():
            self.begin_stroke(self._rc(ev.buttonDownPos()))
        self.continue_stroke(rc)
        self._move_cursor(ev.pos())
        if ev.isFinish():
            self.end_stroke()

    def mouseClickEvent(self, ev) -> None:  # noqa: ANN001, N802 - pyqtgraph API
        """A left click paints one dab while editing."""
        if not self._editing() or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        self.begin_stroke(self._rc(ev.pos()))
        self.end_stroke()

    def hoverEvent(self, ev) -> None:  # noqa: ANN001, N802 - pyqtgraph API
        """The brush outline follows the pointer while editing."""
        if ev.isExit() or not self._editing():
            self.cursor.setVisible(False)
            return
        self._move_cursor(ev.pos())

    def _move_cursor(self, pos: QPointF) -> None:
        s = self.state
        sr, sc = s.data.series.spacing_mm
        r = s.brush_mm
        rx, ry = r / sc, r / sr  # radius in pixels (item coordinates)
        self.cursor.setParentItem(self)
        self.cursor.setRect(QRectF(pos.x() - rx, pos.y() - ry, 2 * rx, 2 * ry))
        self.cursor.setVisible(True)


class LabelEditor(QObject):
    """Connects the label layer, the state and an undo stack.

    Args:
        state: the application state.
        layer: the player's label layer.
    """

    def __init__(self, state: AppState, layer: LabelLayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layer = layer
        self.undo_stack = QUndoStack(self)
        self._series = None
        layer.stroke_finished.connect(self.commit)
        state.series_changed.connect(self._on_series)
        state.frame_changed.connect(lambda *_: self._redraw())
        state.labels_changed.connect(lambda *_: self._redraw())
        state.organ_visibility_changed.connect(lambda *_: self._redraw())
        state.result_changed.connect(self._on_result)
        state.edit_changed.connect(self._on_edit)

    def _on_series(self) -> None:
        data = self.state.data
        series = None if data is None else data.series
        if series is not self._series:  # a different series: old edits do not apply
            self.undo_stack.clear()
        self._series = series

    def _redraw(self) -> None:
        if self.state.editing:  # hidden while playing back: no per-frame cost
            self.layer.refresh()

    def _on_result(self) -> None:
        self._on_edit()

    def _on_edit(self) -> None:
        self.layer.setVisible(self.state.editing)
        if self.state.editing:
            self.layer.refresh()
        else:
            self.layer.cursor.setVisible(False)

    def commit(self, frame: int, labels_hw: np.ndarray, text: str | None = None) -> bool:
        """Store a finished edit as one undoable step; whether anything changed."""
        before = self.state.frame_labels(frame)
        if np.array_equal(before, labels_hw):
            return False
        s = self.state
        if text is None:
            verb = "Erase" if s.erasing else "Paint"
            text = f"{verb} {organ_label(s.edit_organ).lower()} on frame {frame + 1}"
        self.undo_stack.push(FrameEdit(s, frame, before, s.frame_record(frame),
                                       np.asarray(labels_hw, np.uint8), text))
        return True

    def fill_current(self) -> str:
        """Give the chosen organ everything its outline encloses in the current frame.

        One undo step.  Returns a one-line report for the status bar.
        """
        s = self.state
        if not s.editing:
            return "Turn on Edit labels (E) first"
        frame, name = s.frame, organ_label(s.edit_organ).lower()
        new = fill_organ(s.data.labels[frame], s.data.organs.index(s.edit_organ) + 1)
        if not self.commit(frame, new, f"Fill {name} on frame {frame + 1}"):
            return f"Nothing to fill: the {name} of frame {frame + 1} encloses no other pixel"
        return f"Filled the {name} outline on frame {frame + 1}"

    def copy_from_neighbour(self, step: int) -> str:
        """Replace the chosen organ in the current frame by the one of frame +``step``.

        One undo step.  Returns a one-line report for the status bar.
        """
        s = self.state
        if not s.editing:
            return "Turn on Edit labels (E) first"
        frame, source = s.frame, s.frame + step
        if not 0 <= source < s.data.n_frames:
            end = "first" if step < 0 else "last"
            return f"No frame {source + 1}: frame {frame + 1} is the {end}"
        value = s.data.organs.index(s.edit_organ) + 1
        new = copy_organ(s.data.labels[source], s.data.labels[frame], value)
        name = organ_label(s.edit_organ).lower()
        if not self.commit(frame, new, f"Copy {name} from frame {source + 1} to {frame + 1}"):
            return f"Frame {frame + 1} already has frame {source + 1}'s {name}"
        return f"Copied the {name} of frame {source + 1} to frame {frame + 1}"


class EditPanel(QWidget):
    """Controls of the label editor.

    Signals:
        retrack_requested: the user asked to track again from the corrected labels.
    """

    retrack_requested = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        form = QFormLayout()
        self.edit_box = QCheckBox("Edit labels (E)", self)
        self.edit_box.setToolTip("Left-drag on the image paints; middle-drag pans, the wheel "
                                 "zooms. Ctrl+Z undoes a stroke.")
        self.edit_box.toggled.connect(state.set_editing)
        form.addRow(self.edit_box)
        self.organ_combo = QComboBox(self)
        self.organ_combo.setToolTip("Keys 1, 2, 3 choose the organ")
        self.organ_combo.currentIndexChanged.connect(self._organ_chosen)
        form.addRow("Organ", self.organ_combo)
        self.erase_box = QCheckBox("Erase (X)", self)
        self.erase_box.setToolTip("The brush removes the chosen organ (its neighbours stay)")
        self.erase_box.toggled.connect(state.set_erasing)
        form.addRow(self.erase_box)
        self.brush_spin = QDoubleSpinBox(self)
        self.brush_spin.setRange(MIN_RADIUS_MM, MAX_RADIUS_MM)
        self.brush_spin.setDecimals(1)
        self.brush_spin.setSingleStep(0.5)
        self.brush_spin.setSuffix(" mm")
        self.brush_spin.setToolTip("Brush radius; [ and ] change it")
        self.brush_spin.valueChanged.connect(state.set_brush_mm)
        form.addRow("Brush radius", self.brush_spin)
        lay.addLayout(form)
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("muted")
        self.count_label.setWordWrap(True)
        lay.addWidget(self.count_label)
        self.retrack_button = QPushButton("Re-track from these labels", self)
        self.retrack_button.setToolTip("Track and measure again from the corrected labels "
                                       "(Ctrl+R)")
        self.retrack_button.clicked.connect(self.retrack_requested.emit)
        lay.addWidget(self.retrack_button)
        lay.addStretch(1)
        state.edit_changed.connect(self._sync)
        state.result_changed.connect(self._on_result)
        state.labels_changed.connect(lambda *_: self._count())
        self._on_result()

    def _organ_chosen(self, index: int) -> None:
        organ = self.organ_combo.itemData(index)
        if organ and self.state.data is not None and organ in self.state.data.organs:
            self.state.set_edit_organ(organ)

    def _on_result(self) -> None:
        self.organ_combo.blockSignals(True)
        self.organ_combo.clear()
        data = self.state.data
        for organ in (data.organs if data is not None else ()):
            self.organ_combo.addItem(organ_label(organ), organ)
        self.organ_combo.blockSignals(False)
        self._sync()
        self._count()

    def _sync(self) -> None:
        s = self.state
        for w, v in ((self.edit_box, s.editing), (self.erase_box, s.erasing)):
            if w.isChecked() != v:
                w.blockSignals(True)
                w.setChecked(v)
                w.blockSignals(False)
        i = self.organ_combo.findData(s.edit_organ)
        if i >= 0 and i != self.organ_combo.currentIndex():
            self.organ_combo.blockSignals(True)
            self.organ_combo.setCurrentIndex(i)
            self.organ_combo.blockSignals(False)
        if self.brush_spin.value() != s.brush_mm:
            self.brush_spin.blockSignals(True)
            self.brush_spin.setValue(s.brush_mm)
            self.brush_spin.blockSignals(False)
        can = s.can_edit
        for w in (self.edit_box, self.organ_combo, self.erase_box, self.brush_spin):
            w.setEnabled(can)

    def _count(self) -> None:
        s = self.state
        manual = s.manual_frames if s.can_edit else []
        self.retrack_button.setEnabled(bool(manual))
        if not s.can_edit:
            self.count_label.setText("Analyse a series to correct its labels.")
            self.count_label.setToolTip("")
        elif not manual:
            self.count_label.setText("No frame corrected · N: next flagged frame")
            self.count_label.setToolTip("N / Shift+N go to the next / previous frame whose "
                                        "segmentation disagrees with the image motion")
        else:
            self.count_label.setText(f"{len(manual)} frame{'s' if len(manual) > 1 else ''} "
                                     "corrected by hand")
            self.count_label.setToolTip(
                "Re-track (Ctrl+R) to update contours and indices; save the project, then "
                "pelvitrack train --project FILE.pvt fine-tunes the model on these frames")
