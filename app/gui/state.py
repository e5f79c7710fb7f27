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

from PySide6.QtCore import QObject, Signal

from app.gui.model import FRAME_INDICES, POINT_INDICES, ViewData, view_data_from_result


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
        path_changed: the source or project path changed.
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
    path_changed = Signal()

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
                 project: Path | None = None, dirty: bool = False) -> None:
        """Replace the displayed series/result.

        Args:
            data: the new view data.
            source: the file or folder it came from.
            project: the project file it was loaded from, if any.
            dirty: whether it has unsaved changes (a fresh analysis has).
        """
        self.data = data
        self.frame = 0
        self.visible = {o: self.visible.get(o, True) for o in data.organs}
        if self.selected_organ not in data.organs:
            self.selected_organ = data.organs[0] if data.organs else ""
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
