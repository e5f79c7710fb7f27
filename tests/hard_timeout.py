"""A pytest plugin: end the test run, with every thread's stack, when one test hangs.

pytest-timeout (signal method) fails a test that stays in Python code past its
``timeout``; it cannot interrupt a test stuck in C with the GIL held, as a deadlock
between the GUI thread and a worker is. This plugin arms :func:`faulthandler.
dump_traceback_later` around each test (setup, call and teardown): its watchdog is a
C thread that needs no GIL, so past ``PELVITRACK_HARD_TIMEOUT_S`` seconds (default
420) it writes the stacks to the run's real stderr and exits, instead of the run
hanging until CI kills it without a word.
"""

from __future__ import annotations

import faulthandler
import os

import pytest

_stderr_fd: int | None = None


def hard_timeout_s() -> float:
    """The per-test limit in seconds (``PELVITRACK_HARD_TIMEOUT_S``; 0 turns it off)."""
    return float(os.environ.get("PELVITRACK_HARD_TIMEOUT_S", "420"))


def pytest_configure(config: pytest.Config) -> None:
    global _stderr_fd
    if _stderr_fd is None:
        _stderr_fd = os.dup(2)  # the terminal's stderr, before a test's capture replaces fd 2


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    limit = hard_timeout_s()
    if limit > 0 and _stderr_fd is not None:
        faulthandler.dump_traceback_later(limit, exit=True, file=_stderr_fd)
    try:
        yield
    finally:
        if limit > 0:
            faulthandler.cancel_dump_traceback_later()
