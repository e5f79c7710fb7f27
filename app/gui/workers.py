"""Run :mod:`core` generators of :class:`~core.progress.Progress` off the GUI thread.

A :class:`GeneratorWorker` is a ``QThread`` that iterates a generator and
re-emits its records as Qt signals (queued to the GUI thread).  Cancel with
:meth:`GeneratorWorker.cancel` (``requestInterruption``): the worker closes the
generator at the next record — ``core`` generators clean up on close — and
emits ``cancelled``; the state is never touched, so what was shown before stays.

While a worker runs, Python's cyclic garbage collector runs only in the GUI thread
(:class:`GuiThreadCollection`). Left to itself it runs in whichever thread happens to
allocate, and a collection in the worker that frees a Qt object (a closed window's
widget, kept alive by a reference cycle) destroys it in the wrong thread; that
deadlocked the GUI thread and the worker, the GIL held, during a fine-tuning.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from core.progress import Progress

#: A zero-argument callable returning the generator to run (called in the worker thread).
JobFactory = Callable[[], Iterator[Progress]]


class GuiThreadCollection(QObject):
    """Keeps the cyclic garbage collector to the GUI thread while workers run.

    :meth:`hold` (GUI thread, before a worker starts) turns automatic collection off
    and collects, on a timer in the GUI thread, whenever the counts pass the
    collector's own thresholds; :meth:`release` (queued to the GUI thread when the
    worker has finished) restores automatic collection once no worker is left.
    Reference counting frees everything else as usual.
    """

    #: How often the GUI thread looks at the collector's counts while workers run.
    INTERVAL_MS = 250

    def __init__(self) -> None:
        super().__init__()
        self._holders = 0
        self._was_enabled = True
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)

    @property
    def holding(self) -> bool:
        """Whether a worker holds automatic collection off."""
        return self._holders > 0

    def hold(self) -> None:
        """Turn automatic collection off (counted: one hold per running worker)."""
        if self._holders == 0:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        self._holders += 1

    @Slot()
    def release(self) -> None:
        """Undo one :meth:`hold`; the last one collects what is due and turns
        automatic collection back on (if it was on)."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            self.collect_due()
            if self._was_enabled:
                gc.enable()

    @Slot()
    def collect_due(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold, as the
        collector would have (the generation collected, or None)."""
        counts, limits = gc.get_count(), gc.get_threshold()
        due = None
        for generation in range(3):
            if limits[generation] <= 0 or counts[generation] <= limits[generation]:
                break
            due = generation
        if due is not None:
            gc.collect(due)
        return due


_collection: GuiThreadCollection | None = None


def gui_thread_collection() -> GuiThreadCollection:
    """The process's :class:`GuiThreadCollection` (made in the GUI thread at first use)."""
    global _collection
    if _collection is None:
        _collection = GuiThreadCollection()
    return _collection


class GeneratorWorker(QThread):
    """Iterate a progress generator in a thread.

    Args:
        job: zero-argument callable returning the generator (called in the thread).
        parent: Qt parent.
        post: optional function applied to the result in the worker thread.

    Signals:
        progress(object): each :class:`Progress` record (GUI thread).
        finished_ok(object): the final ``data["result"]`` (after ``post``).
        failed(object, str): the exception and its formatted traceback.
        cancelled(): the user cancelled; nothing was produced.
    """

    progress = Signal(object)
    finished_ok = Signal(object)
    failed = Signal(object, str)
    cancelled = Signal()

    def __init__(self, job: JobFactory, parent: QObject | None = None,
                 post: Callable[[Any], Any] | None = None) -> None:
        super().__init__(parent)
        self._job = job
        self._post = post

    def start(self, *args: Any) -> None:
        """Start the thread (from the GUI thread); garbage is collected only in the
        GUI thread until it has finished."""
        collection = gui_thread_collection()
        collection.hold()
        self.finished.connect(collection.release, Qt.ConnectionType.QueuedConnection)
        super().start(*args)

    def cancel(self) -> None:
        """Ask the worker to stop at the next progress record."""
        self.requestInterruption()

    def run(self) -> None:  # noqa: D102 - QThread entry point, runs in the worker thread
        gen: Iterator[Progress] | None = None
        result: Any = None
        try:
            gen = self._job()
            for record in gen:
                if self.isInterruptionRequested():
                    gen.close()
                    self.cancelled.emit()
                    return
                self.progress.emit(record)
                if record.stage == "done" or "result" in record.data:
                    result = record.data.get("result", result)
            if self.isInterruptionRequested():
                self.cancelled.emit()
                return
            if self._post is not None and result is not None:
                result = self._post(result)  # e.g. build the view arrays off the GUI thread
            self.finished_ok.emit(result)
        except Exception as exc:  # noqa: BLE001 - every error is reported to the GUI
            from core.errors import Cancelled

            if isinstance(exc, Cancelled):
                self.cancelled.emit()
            else:
                self.failed.emit(exc, traceback.format_exc())
        finally:
            if gen is not None and hasattr(gen, "close"):
                gen.close()


def leave_a_core_for_the_gui() -> None:
    """Let torch use all cores but one, so the GUI thread is never starved."""
    import os

    import torch

    n = max(1, (os.cpu_count() or 2) - 1)
    if torch.get_num_threads() > n:
        torch.set_num_threads(n)


def read_and_analyze(source: Any, *, series_uid: str | None = None,
                     slice_index: int | None = None,
                     analyze: Callable[..., Iterator[Progress]] | None = None,
                     **options: Any) -> Iterator[Progress]:
    """Read a series (if given a path) and analyse it, as one progress generator.

    Args:
        source: path of a series (anything ``read_series`` accepts) or a CineSeries.
        series_uid: pick one series of a multi-series DICOM folder.
        slice_index: pick one slice of a multi-slice cine.
        analyze: the analysis generator function (default ``core.pipeline.analyze``).
        **options: passed to ``analyze`` (model, device, rest_frame, n_points).

    Yields:
        A ``read`` record carrying ``data["series"]``, then the analysis records;
        the last has ``data["result"]``.
    """
    from core.series import CineSeries

    if isinstance(source, CineSeries):
        series = source
    else:
        from core.io import read_series

        yield Progress("read", 0, 1, f"reading {source}")
        series = read_series(source, series_uid=series_uid, slice_index=slice_index)
    yield Progress("read", 1, 1, f"read {series.n_frames} frames", {"series": series})
    if analyze is None:
        from core.pipeline import analyze as analyze_fn

        leave_a_core_for_the_gui()
    else:
        analyze_fn = analyze
    yield from analyze_fn(series, **options)


def load_project_job(path: Any) -> Iterator[Progress]:
    """Load a project file as a progress generator whose result is the project's result.

    Yields:
        ``read`` records; the last carries ``data["result"]``.
    """
    from core.pipeline import AnalysisResult
    from core.project import load_project

    yield Progress("read", 0, 1, f"opening {path}")
    project = load_project(path)
    yield Progress("read", 1, 1, "project loaded", {"result": AnalysisResult.from_project(project)})
