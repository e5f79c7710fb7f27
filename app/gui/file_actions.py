"""File actions of the main window: open (dialogs, folders with several series), save, export.

A mixin of :class:`app.gui.main_window.MainWindow`; it uses the window's
``state``, ``settings``, ``playback``, ``player``, ``status_label``,
``start_job`` and ``report_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from app.gui import export_actions as ex
from app.gui.workers import load_project_job, read_and_analyze
from core.io.listing import list_series, slice_count

#: Recent files kept in the File menu.
MAX_RECENT = 8

SERIES_FILTER = ("Cine series (*.dcm *.nii *.nii.gz *.tif *.tiff *.png *.pvt);;"
                 "PelviTrack project (*.pvt);;All files (*)")


class FileActions:
    """Open, save and export actions (mixed into the main window)."""

    def _last_folder(self) -> str:
        return str(self.settings.value("files/last_folder", str(Path.home())))

    # -- recent files ------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Recently opened paths, newest first."""
        value = self.settings.value("files/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        items = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("files/recent", items[:MAX_RECENT])
        self.settings.setValue("files/last_folder", str(path.parent if path.is_file() else path))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda *_, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # -- opening ---------------------------------------------------------------
    def open_series_dialog(self) -> None:
        """Ask for a series file (or project) and open it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open series", self._last_folder(),
                                              SERIES_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        """Ask for a DICOM / image-stack folder and open it."""
        path = QFileDialog.getExistingDirectory(self, "Open series folder", self._last_folder())
        if path:
            self.open_path(path)

    def open_project_dialog(self) -> None:
        """Ask for a project file and open it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._last_folder(),
                                              ex.FILTERS["project"])
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path, series_uid: str | None = None,
                  slice_index: int | None = None) -> bool:
        """Open a series or project and analyse it off the GUI thread.

        A folder holding several DICOM series, or a multi-slice cine, asks which
        series / slice.  Returns whether work was started.
        """
        p = Path(path)
        if not p.exists():
            from core.errors import ReaderError

            self.report_error(ReaderError(p, "no such file or folder"))
            return False
        if p.suffix.lower() == ".pvt":
            return self.start_job(lambda: load_project_job(p), p, project=p, dirty=False)
        if p.is_dir() and series_uid is None and slice_index is None:
            entries = list_series(p)
            if len(entries) > 1:
                from app.gui import main_window

                entry = main_window.choose_series(entries, str(p), self)
                if entry is None:
                    return False
                series_uid, slice_index = entry.series_uid, entry.slice_index
        elif p.is_file() and slice_index is None:
            n_slices = slice_count(p)
            if n_slices > 1:
                from app.gui import main_window

                slice_index = main_window.choose_slice(n_slices, str(p), self)
                if slice_index is None:
                    return False
        uid, index = series_uid, slice_index
        return self.start_job(
            lambda: read_and_analyze(p, series_uid=uid, slice_index=index,
                                     analyze=self.analyze, **self.analyze_options), p)

    def open_series(self, series: Any, source: Path | None = None) -> bool:
        """Analyse an in-memory CineSeries (e.g. the demo)."""
        return self.start_job(lambda: read_and_analyze(series, analyze=self.analyze,
                                                       **self.analyze_options), source)

    # -- comparing ---------------------------------------------------------------
    def compare_dialog(self) -> None:
        """Ask for a second project (or series) and compare it with the loaded one."""
        path, _ = QFileDialog.getOpenFileName(self, "Compare with", self._last_folder(),
                                              SERIES_FILTER)
        if path:
            self.compare_with(path)

    def compare_with(self, path: str | Path) -> bool:
        """Load a project, or analyse a series, and show it beside the loaded analysis.

        The loaded analysis stays as it is; the other one opens in a compare window.
        Returns whether work was started.
        """
        p = Path(path)
        if not self.state.has_result:
            return False
        if not p.exists():
            from core.errors import ReaderError

            self.report_error(ReaderError(p, "no such file or folder"))
            return False
        if p.suffix.lower() == ".pvt":
            job = lambda: load_project_job(p)  # noqa: E731
        else:
            job = lambda: read_and_analyze(p, analyze=self.analyze,  # noqa: E731
                                           **self.analyze_options)
        return self.start_job(job, p, verb="Loading for comparison",
                              on_done=self.show_compare)

    def show_compare(self, other: Any) -> Any:
        """Open (or replace) the compare window with ``other`` (view data) on the right."""
        from app.gui.compare import CompareWindow

        if not getattr(other, "points", None):
            self.report_error(ValueError("the other series has no tracked organs to compare"))
            return None
        if self.compare_window is not None:
            self.compare_window.close()
            self.compare_window.deleteLater()
        self.compare_window = CompareWindow(self.state, other, self)
        self.compare_window.show()
        self.status_label.setText(f"Comparing with {other.series.subject}")
        return self.compare_window

    # -- saving and export -----------------------------------------------------
    def _ask_save(self, title: str, kind: str, default: str) -> tuple[str, str]:
        start = str(Path(self._last_folder()) / default)
        return QFileDialog.getSaveFileName(self, title, start, ex.FILTERS[kind])

    def _run_export(self, func: Callable[[], Any], what: str) -> bool:
        try:
            out = func()
        except Exception as exc:  # noqa: BLE001 - every error becomes a dialog
            self.report_error(exc)
            return False
        paths = out if isinstance(out, list) else [out]
        self.status_label.setText(f"{what} written: " + ", ".join(str(p) for p in paths))
        return True

    def save(self) -> bool:
        """Save to the current project file (asks for one the first time)."""
        if self.state.project_path is None:
            return self.save_as()
        return self._save_to(self.state.project_path)

    def save_as(self) -> bool:
        """Ask for a project file name and save."""
        if not self.state.has_result:
            return False
        path, _ = self._ask_save("Save project", "project", f"{self.state.data.series.subject}.pvt")
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        ok = self._run_export(lambda: ex.save_project_file(self.state.result, path), "Project")
        if ok:
            final = path if path.suffix.lower() == ".pvt" else path.with_name(path.name + ".pvt")
            self.state.project_path = final
            self.state.set_dirty(False)
            self.state.path_changed.emit()
        return ok

    def export_tables_dialog(self) -> bool:
        """Export the points and frames tables."""
        path, filt = self._ask_save("Export tables", "tables",
                                    f"{self.state.data.series.subject}.csv")
        return bool(path) and self._run_export(
            lambda: ex.export_tables(self.state.result, path, filt), "Tables")

    def export_report_dialog(self) -> bool:
        """Export the one-page HTML report of the analysis."""
        path, _ = self._ask_save("Export report", "report",
                                 f"{self.state.data.series.subject}_report.html")
        return bool(path) and self._run_export(
            lambda: ex.export_report(self.state.result, path), "Report")

    def export_labels_dialog(self) -> bool:
        """Export the label maps as NIfTI."""
        path, _ = self._ask_save("Export labels", "labels",
                                 f"{self.state.data.series.subject}_labels.nii.gz")
        return bool(path) and self._run_export(
            lambda: ex.export_labels(self.state.result, path), "Labels")

    def export_video_dialog(self) -> bool:
        """Export the overlay video at the player's speed and window."""
        path, _ = self._ask_save("Export overlay video", "video",
                                 f"{self.state.data.series.subject}_overlay.gif")
        levels = tuple(float(v) for v in self.player.image.getLevels())
        return bool(path) and self._run_export(
            lambda: ex.export_video(self.state.result, path, self.playback.fps, levels), "Video")

    def export_screenshot_dialog(self) -> bool:
        """Save a PNG of the whole window."""
        path, _ = self._ask_save("Save screenshot", "screenshot", "pelvitrack.png")
        return bool(path) and self._run_export(lambda: self.save_screenshot(path), "Screenshot")

    def save_screenshot(self, path: str | Path) -> Path:
        """Render the window to a PNG file."""
        p = Path(path)
        if not self.grab().save(str(p), "PNG"):
            raise OSError(f"{p}: could not write the PNG")
        return p
