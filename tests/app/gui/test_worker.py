"""Analysis off the GUI thread: progress, completion, failure, cancel."""

from __future__ import annotations

import gc
import threading

import pytest
from gui_helpers import fake_analyze

from app.gui.workers import GeneratorWorker, GuiThreadCollection, gui_thread_collection
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


def test_garbage_is_collected_only_in_the_gui_thread(qtbot):
    # a collection in the worker that frees a Qt object destroys it in the wrong
    # thread: that deadlocked a fine-tuning (the GIL held, so no timeout could fire)
    in_gui_thread: list[bool] = []

    def spy(phase, _info):
        if phase == "stop":
            in_gui_thread.append(threading.current_thread() is threading.main_thread())

    def job():
        for i in range(100):
            for _ in range(2000):  # cyclic garbage: past gen 0's threshold many times
                cycle: list = []
                cycle.append(cycle)
            yield Progress("segment", i, 100)

    assert gc.isenabled()
    gc.callbacks.append(spy)
    try:
        w = GeneratorWorker(job)
        with qtbot.waitSignal(w.finished, timeout=30_000):
            w.start()
            off_while_running = not gc.isenabled()
        qtbot.waitUntil(lambda: not gui_thread_collection().holding, timeout=5000)
    finally:
        gc.callbacks.remove(spy)
    assert in_gui_thread and all(in_gui_thread)  # collected, and only in the GUI thread
    assert off_while_running and gc.isenabled()  # on again once the worker is done


def test_collection_hold_is_counted_and_restores_the_collectors_state(qtbot):
    collection = GuiThreadCollection()
    collection.hold()
    collection.hold()  # two workers
    collection.release()
    assert not gc.isenabled() and collection.holding
    collection.release()
    assert gc.isenabled() and not collection.holding
    collection.release()  # an extra release changes nothing
    assert gc.isenabled()
    gc.disable()  # turned off by someone else: left off
    try:
        collection.hold()
        collection.release()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collect_due_follows_the_collectors_thresholds(qtbot):
    collection = GuiThreadCollection()
    old = gc.get_threshold()
    gc.disable()  # as while a worker runs: only collect_due collects
    try:
        gc.collect()
        gc.set_threshold(1_000_000, 10, 10)
        assert collection.collect_due() is None  # nothing due
        junk = [[] for _ in range(50)]
        gc.set_threshold(10, 1_000_000, 10)
        assert collection.collect_due() == 0
        assert gc.get_count()[0] < 10  # it collected
        del junk
    finally:
        gc.set_threshold(*old)
        gc.enable()
