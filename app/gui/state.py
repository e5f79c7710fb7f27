"""Application state: the one object the widgets observe.

The state owns the current :class:`~app.gui.model.ViewData` (series + analysis
result) and the view choices (current frame, visible organs, which per-point
index colours the contours, selected organ, display options) and tells the
widgets through signals.  Widgets call the setters; they never talk to each
other directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.gui.model import FRAME_INDICES, POINT_INDICES, ViewData, view_data_from_result
from core.edit import MAX_RADIUS_MM, MIN_RADIUS_MM

#: Brush radius (mm) of a first start.
DEFAULT_BRUSH_MM = 3.0


class AppState(QObject):
    """Observable state of the main window.

    Signals:
        series_changed: a new series (or result) replaced the data.
        result_changed: the analysis result changed (also emitted on a new series).
        frame_changed(int): the current frame index.
        organ_visibility_changed(str, bool): an organ's contour was shown/hidden.
        index_changed(str): the per-point index colouring contours (column name).
        frame_index_changed(str): the per-frame index plotted against time.
        selected_organ_changed(str): the organ of the kymograph.
        options_changed: display options (rest contour, vectors) changed.
        dirty_changed(bool): unsaved changes appeared or were saved.
        marks_changed: only the result's measurements by hand changed (nothing measured
            from them; :meth:`refresh_marks`).
        path_changed: the source or project path changed.
        labels_changed(int): one frame's labels were corrected (or a correction undone).
        edit_changed: label editing was turned on/off, or its organ, eraser or brush
            radius changed.
    """

    series_changed = Signal()
    result_changed = Signal()
    frame_changed = Signal(int)
    organ_visibility_changed = Signal(str, bool)
    index_changed = Signal(str)
    frame_index_changed = Signal(str)
    selected_organ_changed = Signal(str)
    options_changed = Signal()
    dirty_changed = Signal(bool)
    marks_changed = Signal()
    path_changed = Signal()
    labels_changed = Signal(int)
    edit_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data: ViewData | None = None
        self.frame = 0
        self.visible: dict[str, bool] = {}
        self.point_index = "curvature_per_mm"
        self.frame_index = "descent_mm"
        self.selected_organ = ""
        self.show_rest = False
        self.show_vectors = False
        self.dirty = False
        self.source_path: Path | None = None
        self.project_path: Path | None = None
        self.editing = False
        self.edit_organ = ""
        self.erasing = False
        self.brush_mm = DEFAULT_BRUSH_MM
        #: Long work (an analysis, a re-track) is running: labels must not change.
        self.busy = False

    # -- data ------------------------------------------------------------------
    @property
    def has_result(self) -> bool:
        """Whether an analysis result (tracks) is loaded."""
        return self.data is not None and bool(self.data.points)

    @property
    def result(self) -> Any:
        """The analysis result object behind the data, or None."""
        return None if self.data is None else self.data.result

    def set_data(self, data: ViewData, *, source: Path | None = None,
                 project: Path | None = None, dirty: bool = False,
                 keep_frame: bool = False) -> None:
        """Replace the displayed series/result.

        Args:
            data: the new view data.
            source: the file or folder it came from.
            project: the project file it was loaded from, if any.
            dirty: whether it has unsaved changes (a fresh analysis has).
            keep_frame: stay on the current frame (the same series tracked again).
        """
        self.data = data
        self.frame = min(self.frame, data.n_frames - 1) if keep_frame else 0
        self.visible = {o: self.visible.get(o, True) for o in data.organs}
        if self.selected_organ not in data.organs:
            self.selected_organ = data.organs[0] if data.organs else ""
        if self.edit_organ not in data.organs:
            self.edit_organ = data.organs[0] if data.organs else ""
        if self.editing and not self.can_edit:
            self.editing = False
        self.edit_changed.emit()
        self.source_path = source
        self.project_path = project
        self.series_changed.emit()
        self.result_changed.emit()
        self.frame_changed.emit(self.frame)
        self.path_changed.emit()
        self.set_dirty(dirty)

    def set_result(self, result: Any, *, source: Path | None = None,
                   project: Path | None = None, dirty: bool = True) -> None:
        """Replace the data with an ``AnalysisResult``-like object (see :mod:`app.gui.model`)."""
        self.set_data(view_data_from_result(result), source=source, project=project, dirty=dirty)

    def refresh_marks(self, *, dirty: bool = True) -> None:
        """The loaded result's measurements by hand changed in place, and nothing else
        (nothing is measured from them): only what draws them is told."""
        if self.data is None or self.result is None:
            return
        self.marks_changed.emit()
        self.set_dirty(dirty)

    def refresh_result(self, *, dirty: bool = True) -> None:
        """Rebuild the views' data after the loaded result changed in place (its
        landmarks, say): same series, same frame, no new series signal."""
        if self.data is None or self.result is None:
            return
        self.data = view_data_from_result(self.result)
        self.result_changed.emit()
        self.frame_changed.emit(self.frame)
        self.set_dirty(dirty)

    # -- label correction ------------------------------------------------------
    @property
    def can_edit(self) -> bool:
        """Whether the loaded result has labels that can be corrected by hand."""
        r = self.result
        return (not self.busy and self.data is not None and self.data.labels is not None
                and r is not None and hasattr(r, "set_manual_labels") and bool(self.data.organs))

    def set_busy(self, busy: bool) -> None:
        """Long work started or ended; editing stops while it runs."""
        self.busy = bool(busy)
        if self.busy:
            self.editing = False
        self.edit_changed.emit()

    def set_editing(self, on: bool) -> None:
        """Turn label editing on or off (off when there is nothing to edit)."""
        wanted = bool(on)
        on = wanted and self.can_edit
        if on != self.editing or on != wanted:  # a refusal also resyncs the toggles
            self.editing = on
            self.edit_changed.emit()

    def set_edit_organ(self, organ: str) -> None:
        """Choose the organ the brush paints (or erases)."""
        if self.data is None or organ not in self.data.organs:
            raise ValueError(f"unknown organ {organ!r}")
        if organ != self.edit_organ:
            self.edit_organ = organ
            self.edit_changed.emit()

    def set_erasing(self, on: bool) -> None:
        """Whether the brush erases the chosen organ instead of painting it."""
        if bool(on) != self.erasing:
            self.erasing = bool(on)
            self.edit_changed.emit()

    def set_brush_mm(self, radius: float) -> None:
        """Brush radius in mm (clamped to the editor's limits)."""
        radius = float(min(MAX_RADIUS_MM, max(MIN_RADIUS_MM, float(radius))))
        if radius != self.brush_mm:
            self.brush_mm = radius
            self.edit_changed.emit()

    def frame_labels(self, frame: int) -> np.ndarray:
        """A copy of one frame's labels (H, W) uint8."""
        return np.array(self.data.labels[frame], dtype=np.uint8)

    def frame_record(self, frame: int) -> dict[str, Any] | None:
        """A copy of one frame's provenance record (None when the result keeps none)."""
        r = self.result
        if getattr(r, "provenance", None) is None and hasattr(r, "to_project"):
            r.provenance = r.to_project().provenance  # a fresh analysis: every frame "auto"
        prov = getattr(r, "provenance", None)
        return None if prov is None else dict(prov[frame])

    def apply_labels(self, frame: int, labels_hw: np.ndarray,
                     record: dict[str, Any] | None = None) -> None:
        """Store one frame's labels: a hand correction, or (with ``record``) a restore.

        Without ``record`` the frame becomes "manual" in the result's provenance;
        with one (an undo) that record is put back.  Marks unsaved changes.
        """
        r = self.result
        r.set_manual_labels(int(frame), labels_hw)
        if record is not None:
            r.provenance[int(frame)] = dict(record)
        self.data.labels = r.labels
        self.labels_changed.emit(int(frame))
        self.set_dirty(True)

    @property
    def manual_frames(self) -> list[int]:
        """Frames corrected by hand in the loaded result."""
        return list(getattr(self.result, "manual_frames", []) or [])

    def frame_marks(self, frame: int) -> tuple[bool, list[str]]:
        """(corrected by hand?, organs the tracker flagged) of one frame."""
        r = self.result
        prov = getattr(r, "provenance", None)
        manual = bool(prov) and prov[frame].get("source") == "manual"
        flagged = (getattr(r, "settings", None) or {}).get("flagged_frames") or {}
        return manual, [o for o, ts in flagged.items() if frame in ts]

    def frames_to_check(self) -> list[int]:
        """Frames the tracker flagged (segmentation disagrees with the image motion)."""
        settings = getattr(self.result, "settings", None) or {}
        flagged = settings.get("flagged_frames") or {}
        return sorted({int(t) for ts in flagged.values() for t in ts})

    # -- view choices ----------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        """Go to a frame (clamped to the series)."""
        if self.data is None:
            return
        frame = max(0, min(int(frame), self.data.n_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frame_changed.emit(frame)

    def step(self, delta: int, *, loop: bool = False) -> None:
        """Move ``delta`` frames, wrapping around when ``loop``."""
        if self.data is None:
            return
        n = self.data.n_frames
        target = self.frame + delta
        self.set_frame(target % n if loop else target)

    def set_organ_visible(self, organ: str, visible: bool) -> None:
        """Show or hide one organ's contour, points and curves."""
        if self.visible.get(organ) != visible:
            self.visible[organ] = bool(visible)
            self.organ_visibility_changed.emit(organ, bool(visible))

    def set_point_index(self, column: str) -> None:
        """Choose the per-point index colouring points, profile and kymograph."""
        if column not in POINT_INDICES:
            raise ValueError(
                f"unknown point index {column!r}; expected one of {list(POINT_INDICES)}")
        if column != self.point_index:
            self.point_index = column
            self.index_changed.emit(column)

    def set_frame_index(self, column: str) -> None:
        """Choose the per-frame index plotted against time."""
        if column not in FRAME_INDICES:
            raise ValueError(
                f"unknown frame index {column!r}; expected one of {list(FRAME_INDICES)}")
        if column != self.frame_index:
            self.frame_index = column
            self.frame_index_changed.emit(column)

    def set_selected_organ(self, organ: str) -> None:
        """Choose the organ of the kymograph."""
        if organ != self.selected_organ:
            self.selected_organ = organ
            self.selected_organ_changed.emit(organ)

    def set_options(self, *, show_rest: bool | None = None,
                    show_vectors: bool | None = None) -> None:
        """Toggle the dashed rest contour and the displacement vectors from rest."""
        changed = False
        if show_rest is not None and show_rest != self.show_rest:
            self.show_rest, changed = bool(show_rest), True
        if show_vectors is not None and show_vectors != self.show_vectors:
            self.show_vectors, changed = bool(show_vectors), True
        if changed:
            self.options_changed.emit()

    def set_dirty(self, dirty: bool) -> None:
        """Mark unsaved changes (or their absence)."""
        if dirty != self.dirty:
            self.dirty = bool(dirty)
            self.dirty_changed.emit(self.dirty)

    def title(self) -> str:
        """Window title: subject, description, unsaved marker."""
        if self.data is None:
            return "PelviTrack"
        s = self.data.series
        desc = s.meta.get("series_description") or ""
        name = self.project_path.name if self.project_path else (
            self.source_path.name if self.source_path else s.subject)
        parts = [name] + ([desc] if desc else [])
        return f"{' — '.join(parts)}{' *' if self.dirty else ''} · PelviTrack"
