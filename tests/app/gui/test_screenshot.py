"""``pelvitrack view INPUT --screenshot PNG`` renders a non-blank window picture and exits 0."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def test_view_screenshot_of_a_project(tmp_path, disc_result, qapp, monkeypatch):
    from app.cli import main
    from app.gui.export_actions import save_project_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # isolated QSettings
    project = save_project_file(disc_result, tmp_path / "disc.pvt")
    out = tmp_path / "shot.png"
    assert main(["view", str(project), "--screenshot", str(out), "--frame", "3"]) == 0
    img = QImage(str(out))
    assert img.width() >= 1280 and img.height() >= 800
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    arr = arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
    assert arr.std() > 10  # not blank
    # the bladder contour colour (255, 214, 0) is drawn somewhere
    yellow = (arr[..., 0] > 230) & (arr[..., 1] > 190) & (arr[..., 1] < 235) & (arr[..., 2] < 40)
    assert yellow.sum() > 50


def test_view_screenshot_of_a_bad_file_fails_cleanly(tmp_path, qapp, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    bad = tmp_path / "bad.pvt"
    bad.write_bytes(b"not hdf5")
    assert main(["view", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "bad.pvt" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_wait_for_worker_delivers_the_error_of_a_job_that_already_stopped(window, tmp_path):
    """A bad file fails at once: the worker thread has often stopped before the
    screenshot run waits for it, with its ``failed`` signal still queued.  The wait
    must still hand that error over (CI once saw exit 0 here)."""
    from app.gui.application import wait_for_worker

    errors: list[BaseException] = []
    window.error_handler = lambda exc, _details: errors.append(exc)
    bad = tmp_path / "bad.pvt"
    bad.write_bytes(b"not hdf5")
    assert window.open_path(bad)
    assert window.worker.wait(10_000)  # the thread is done; its signals are not yet handled
    assert not window.busy
    wait_for_worker(window, timeout_s=10)
    assert len(errors) == 1 and "bad.pvt" in str(errors[0])
    assert window.worker is None


def test_view_screenshot_leaves_no_scratch_preferences(tmp_path, disc_result, qapp, monkeypatch):
    """Screenshot mode keeps its preferences in a scratch folder, removed afterwards."""
    import tempfile

    from app.cli import main
    from app.gui.export_actions import save_project_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    project = save_project_file(disc_result, tmp_path / "disc.pvt")
    assert main(["view", str(project), "--screenshot", str(tmp_path / "shot.png")]) == 0
    assert (tmp_path / "shot.png").stat().st_size > 0
    assert list(scratch_root.iterdir()) == []
    assert not (tmp_path / "config").exists() or not any((tmp_path / "config").rglob("*.ini*"))
