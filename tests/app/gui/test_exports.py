"""Export menu, project save / open, close prompt (file dialogs patched)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox


def _patch_save(monkeypatch, path, selected=""):
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(path), selected))


def test_export_tables_csv(loaded, monkeypatch, tmp_path, disc_result):
    _patch_save(monkeypatch, tmp_path / "disc.csv")
    assert loaded.export_tables_dialog()
    pts = pd.read_csv(tmp_path / "disc_points.csv")
    frs = pd.read_csv(tmp_path / "disc_frames.csv")
    assert len(pts) == len(disc_result.points) and len(frs) == 6
    assert set(pts["subject"]) == {"disc"}
    # frame t of the disc is displaced t × 1.5 mm at every point
    disp = pts.groupby("frame")["displacement_mm"].mean().to_numpy()
    np.testing.assert_allclose(disp, np.arange(6) * 1.5, atol=1e-9)


def test_export_tables_parquet_from_filter(loaded, monkeypatch, tmp_path):
    _patch_save(monkeypatch, tmp_path / "disc", "Parquet (*.parquet)")
    assert loaded.export_tables_dialog()
    assert (tmp_path / "disc_points.parquet").exists()


def test_export_labels_nifti(loaded, monkeypatch, tmp_path, disc_result):
    from core.export import read_labels_nifti

    _patch_save(monkeypatch, tmp_path / "labels.nii.gz")
    assert loaded.export_labels_dialog()
    np.testing.assert_array_equal(read_labels_nifti(tmp_path / "labels.nii.gz"),
                                  disc_result.labels)


def test_export_video_and_screenshot(loaded, monkeypatch, tmp_path):
    _patch_save(monkeypatch, tmp_path / "overlay.gif")
    assert loaded.export_video_dialog()
    assert (tmp_path / "overlay.gif").stat().st_size > 0
    _patch_save(monkeypatch, tmp_path / "shot.png")
    assert loaded.export_screenshot_dialog()
    assert (tmp_path / "shot.png").read_bytes()[:4] == b"\x89PNG"


def test_export_report(loaded, monkeypatch, tmp_path):
    _patch_save(monkeypatch, tmp_path / "disc_report")
    assert loaded.export_report_dialog()
    text = (tmp_path / "disc_report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "PelviTrack report: disc" in text
    assert "Report written" in loaded.status_label.text()


def test_cancelled_dialog_writes_nothing(loaded, monkeypatch, tmp_path):
    _patch_save(monkeypatch, "")
    assert not loaded.export_tables_dialog()
    assert not any(p.suffix == ".csv" for p in tmp_path.iterdir())


def test_save_project_then_open_it(loaded, monkeypatch, tmp_path, qtbot, disc_result):
    loaded.state.set_dirty(True)
    _patch_save(monkeypatch, tmp_path / "study.pvt")
    assert loaded.save()
    assert not loaded.state.dirty and loaded.state.project_path == tmp_path / "study.pvt"
    assert "study.pvt" in loaded.windowTitle()
    with qtbot.waitSignal(loaded.state.result_changed, timeout=10_000):
        assert loaded.open_path(tmp_path / "study.pvt")
    data = loaded.state.data
    np.testing.assert_allclose(data.points["bladder"], disc_result.tracks.points["bladder"])
    np.testing.assert_allclose(data.point_values["displacement_mm"]["bladder"][:, 0],
                               np.arange(6) * 1.5, atol=1e-9)
    assert not loaded.state.dirty


@pytest.mark.parametrize(("answer", "closes"), [
    (QMessageBox.StandardButton.Cancel, False), (QMessageBox.StandardButton.Discard, True)])
def test_close_prompts_on_unsaved_changes(loaded, monkeypatch, answer, closes):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or answer)
    loaded.show()
    loaded.state.set_dirty(True)
    assert loaded.close() is closes
    assert len(asked) == 1
    loaded.state.set_dirty(False)
