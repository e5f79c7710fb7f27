"""The per-test watchdog of tests/hard_timeout.py ends a hung run with its stacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def _run(tmp_path: Path, body: str, limit: str) -> tuple[subprocess.CompletedProcess, float]:
    (tmp_path / "test_inner.py").write_text(body)
    env = dict(os.environ, PELVITRACK_HARD_TIMEOUT_S=limit,
               PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "hard_timeout", "-p", "no:timeout",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - t0


def test_a_hung_test_ends_the_run_with_its_stack(tmp_path):
    proc, elapsed = _run(tmp_path, "import time\n\ndef test_stuck():\n    time.sleep(90)\n", "2")
    assert proc.returncode not in (0, None) and elapsed < 60
    assert "Timeout (0:00:02)!" in proc.stderr  # written past the test's captured stderr
    assert 'test_inner.py", line 4 in test_stuck' in proc.stderr


def test_tests_within_the_limit_are_left_alone(tmp_path):
    proc, _ = _run(tmp_path, "import time\n\ndef test_a():\n    time.sleep(1.5)\n\n"
                   "def test_b():\n    time.sleep(1.5)\n", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # armed per test, not per run
    assert "2 passed" in proc.stdout and "Timeout" not in proc.stderr
