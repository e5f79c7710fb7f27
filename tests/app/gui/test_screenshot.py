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
