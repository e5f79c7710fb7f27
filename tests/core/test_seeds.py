"""core.seeds: the seed lists of the CLI and the generators, and their job runner."""

import os
import threading

import pytest

from core.seeds import map_jobs, parse_seeds


def test_ranges_lists_and_spaces():
    assert parse_seeds("1000-1003") == [1000, 1001, 1002, 1003]
    assert parse_seeds("1,5, 7-8") == [1, 5, 7, 8]
    assert parse_seeds("1, 4-5,") == [1, 4, 5]
    assert parse_seeds("7") == [7]


@pytest.mark.parametrize("text", ["9-3", "", " , ", "a", "1-b"])
def test_bad_text_raises(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, core.seeds; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _square_and_pid(x):
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_map_jobs_keeps_order(workers):
    out = list(map_jobs(_square_and_pid, [3, 1, 2, 5], workers=workers))
    assert [v for v, _ in out] == [9, 1, 4, 25]
    pids = {pid for _, pid in out}
    if workers == 1:
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids  # ran in the pool's processes


def test_map_jobs_one_job_runs_here():
    assert list(map_jobs(_square_and_pid, [4], workers=4)) == [(16, os.getpid())]


_LOCK = threading.Lock()


def _lock_is_free(_):
    free = _LOCK.acquire(blocking=False)
    if free:
        _LOCK.release()
    return free


def test_map_jobs_workers_do_not_inherit_held_locks():
    # A forked worker would copy this lock as held (as it would torch's or OpenMP's,
    # held by another thread at the time of the fork) and deadlock on it.
    with _LOCK:
        assert list(map_jobs(_lock_is_free, [0, 1], workers=2)) == [True, True]
