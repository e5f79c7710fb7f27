"""Long work in the main window: one worker at a time, its progress bar, cancel.

:class:`JobActions` is a mixin of :class:`app.gui.main_window.MainWindow`: a job is a
progress generator (``core``'s long work) run by a
:class:`app.gui.workers.GeneratorWorker`; on success its result replaces the shown
state, or is handed to a callback; failure and cancel keep what was shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from app.gui.model import ViewData, view_data_from_result
from app.gui.workers import GeneratorWorker
from core.progress import Progress


class JobActions:
    """Runs the window's long work (mixin: uses the window's progress bar, cancel
    button, status label, state, playback and settings)."""

    worker: GeneratorWorker | None

    @property
    def busy(self) -> bool:
        """Whether long work is running."""
        return self.worker is not None and self.worker.isRunning()

    def start_job(self, job: Callable[[], Iterator[Progress]], source: Path | None, *,
                  project: Path | None = None, dirty: bool = True, keep_frame: bool = False,
                  verb: str = "Opening",
                  on_done: Callable[[Any], Any] | None = None,
                  post: Callable[[Any], Any] | None = view_data_from_result) -> bool:
        """Run a progress generator in a worker; on success it replaces the state
        (or, with ``on_done``, hands the result — after ``post``, in the worker — to it
        and leaves the state alone)."""
        if self.busy:
            QMessageBox.information(self, "PelviTrack", "Another analysis is running; "
                                    "cancel it first.")
            return False
        if on_done is None and not keep_frame and not self.confirm_replace():
            return False
        self.playback.stop()
        w = GeneratorWorker(job, self, post=post)
        w.progress.connect(self._on_progress)
        if on_done is None:
            w.finished_ok.connect(
                lambda result: self._on_done(result, source, project, dirty, keep_frame))
        else:
            w.finished_ok.connect(lambda data: self._on_other(data, on_done))
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.finished.connect(self._on_worker_finished)
        self.worker = w
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        what = source.name if source else ("series" if on_done is None else "")
        self.status_label.setText(f"{verb} {what}…".replace(" …", "…"))
        self.state.set_busy(True)
        w.start()
        return True

    def cancel_work(self) -> None:
        """Cancel the running analysis; what was shown before stays."""
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    def _on_progress(self, p: Progress) -> None:
        self.progress.setRange(0, 100 if p.total > 0 else 0)
        self.progress.setValue(int(100 * p.fraction))
        self.progress.setFormat(f"{p.stage} %p%")
        self.status_label.setText(f"{p.stage}: {p.message}" if p.message else p.stage)

    def _on_done(self, data: ViewData | None, source: Path | None, project: Path | None,
                 dirty: bool, keep_frame: bool = False) -> None:
        if data is None:
            self.status_label.setText("Analysis ended without a result")
            return
        result = data.result
        self.state.busy = False  # the worker is done; set_data re-enables editing
        self.state.set_data(data, source=source, project=project, dirty=dirty,
                            keep_frame=keep_frame)
        if keep_frame and self._resume_editing:  # re-tracked: go on correcting
            self.state.set_editing(True)
        self._resume_editing = False
        fi = data.series.frame_interval_s
        if fi > 0 and self.settings.value("playback/fps") is None:
            self.playback.set_fps(min(30.0, 1.0 / fi))
        if source is not None and source.exists():
            self._add_recent(source)
        text = f"Analysed {data.n_frames} frames · model {getattr(result, 'model_id', '')}"
        notes = list((getattr(result, "settings", None) or {}).get("warnings", []))
        if notes:
            text += f" · {len(notes)} warning{'s' if len(notes) > 1 else ''} (hover to read)"
        self.status_label.setText(text)
        self.status_label.setToolTip("\n".join(notes))

    def _on_other(self, data: ViewData | None, on_done: Callable[[ViewData], Any]) -> None:
        self.state.busy = False
        if data is None:
            self.status_label.setText("Ended without a result")
            return
        on_done(data)

    def _on_failed(self, exc: BaseException, details: str) -> None:
        self.status_label.setText("Failed — the previous series is kept")
        self.report_error(exc, details)

    def _on_cancelled(self) -> None:
        self.status_label.setText("Cancelled — the previous series is kept")

    def _on_worker_finished(self) -> None:
        self.state.set_busy(False)
        self._update_undo()
        self.progress.hide()
        self.cancel_button.hide()
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
