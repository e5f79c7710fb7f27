"""Analysis off the GUI thread: progress, completion, failure, cancel."""

from __future__ import annotations

import threading

import pytest
from gui_helpers import fake_analyze

from app.gui.workers import GeneratorWorker
from core.errors import ReaderError
from core.progress import Progress


def test_open_runs_worker_and_sets_result(window, disc_result, qtbot, tmp_path):
    from gui_helpers import write_nifti_series

    path = tmp_path / "disc.nii.gz"
    write_nifti_series(disc_result, path)
    seen: list[Progress] = []
    with qtbot.waitSignal(window.state.result_changed, timeout=10_000):
        assert window.open_path(path)
        assert window.progress.isVisibleTo(window) and window.cancel_button.isVisibleTo(window)
        window.worker.progress.connect(seen.append)
    qtbot.waitUntil(lambda: window.worker is None, timeout=5000)
    assert window.state.data.result is disc_result
    assert window.state.source_path == path and window.state.dirty
    assert [p.stage for p in seen][-1] == "done"
    assert str(path) in window.recent_files()
    assert not window.progress.isVisibleTo(window)


def test_worker_reports_failure(qtbot):
    def job():
        yield Progress("read", 0, 1)
        raise ReaderError("x.dcm", "damaged")

    w = GeneratorWorker(job)
    with qtbot.waitSignal(w.failed, timeout=5000) as blocker:
        w.start()
    w.wait()
    exc, details = blocker.args
    assert isinstance(exc, ReaderError) and "damaged" in details


def test_cancel_keeps_previous_state(loaded, qtbot, disc_result):
    started = threading.Event()
    closed = threading.Event()

    def slow(series, **_):
        try:
            for i in range(10_000):
                started.set()
                yield Progress("segment", i, 10_000)
                threading.Event().wait(0.005)
            yield Progress("done", 1, 1, "", {"result": None})
        finally:
            closed.set()  # the generator was closed: core cleans up

    before = loaded.state.data
    loaded.analyze = slow
    assert loaded.open_series(disc_result.series)
    assert started.wait(5)
    with qtbot.waitSignal(loaded.worker.cancelled, timeout=5000):
        loaded.cancel_button.click()
    qtbot.waitUntil(lambda: loaded.worker is None, timeout=5000)
    assert closed.is_set()
    assert loaded.state.data is before
    assert "Cancelled" in loaded.status_label.text()


@pytest.mark.parametrize("n_steps", [4])
def test_progress_bar_follows_records(window, disc_result, qtbot, n_steps):
    window.analyze = fake_analyze(disc_result, n_steps)
    values: list[int] = []
    window.progress.valueChanged.connect(values.append)
    with qtbot.waitSignal(window.state.result_changed, timeout=5000):
        window.open_series(disc_result.series)
    assert {25, 50, 75, 100} <= set(values)  # segment 1/4 … 4/4
