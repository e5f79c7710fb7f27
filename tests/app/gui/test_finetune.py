"""Fine-tuning from the app: corrected frames → saved project → a new model in use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gui_helpers import disc_case, edit_in_window
from PySide6.QtWidgets import QMessageBox

from core.segment.model_io import load_model, save_model
from core.segment.unet import UNet


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    torch.manual_seed(0)
    stem = tmp_path / "tiny"
    save_model(UNet(base_channels=4, depth=2), {"organs": ["bladder", "uterus_vagina", "rectum"]},
               stem)
    return stem


@pytest.fixture
def corrected_project(window, tmp_path) -> Path:
    """A disc analysis with frame 1 corrected in the window and saved."""
    from core.project import save_project

    edit_in_window(window, _disc3(), 1, [(40, 5), (40, 30)])
    path = tmp_path / "corrected.pvt"
    save_project(window.state.result.to_project(), path)
    return path


def _disc3():
    """The disc result under the model's three organ names (the disc is the bladder)."""
    result = disc_case()
    result.organs = ("bladder", "uterus_vagina", "rectum")
    return result


def _answer(monkeypatch, *buttons):
    """Answer the next questions with ``buttons`` in turn (the last one repeats)."""
    answers = list(buttons)
    asked = []

    def question(_parent, title, *a, **k):
        asked.append(title)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_fine_tune_runs_in_the_worker_and_the_new_model_is_used(
        window, corrected_project, tiny_model, tmp_path, qtbot, monkeypatch, settings):
    # use the new model: yes; segment the open series again with it: no (tested below)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No)
    out = tmp_path / "tuned"
    seen = []
    assert window.start_fine_tune({
        "projects": [corrected_project], "init_model": str(tiny_model), "epochs": 1,
        "steps_per_epoch": 2, "phantom_cases": 0, "out_dir": out})
    window.worker.progress.connect(lambda p: seen.append(p.stage))
    assert not window.state.can_edit  # no edits while it runs
    qtbot.waitUntil(lambda: window.worker is None, timeout=120_000)
    assert "train" in seen or "validate" in seen
    stem = out / "model"
    model, cfg = load_model(stem)
    assert cfg["training"]["lr"] == pytest.approx(1e-4)
    assert cfg["training"]["n_sources"] == 1 and cfg["training"]["cases"] == 0
    assert window.analyze_options["model"] == str(stem)
    assert settings.value("analysis/model") == str(stem)
    assert "Next analyses use the model" in window.status_label.text()
    assert asked == ["Fine-tuned", "Segment again"] and window.worker is None
    # a new window starts with it; with its files gone it falls back to the shipped model
    from app.gui.main_window import MainWindow

    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert again.analyze_options["model"] == str(stem)
    again.set_model(None)
    assert "model" not in again.analyze_options and settings.value("analysis/model") is None
    settings.setValue("analysis/model", str(tmp_path / "gone"))
    third = MainWindow(settings=settings)
    qtbot.addWidget(third)
    assert "model" not in third.analyze_options
    # a model named on the command line wins over the remembered one
    settings.setValue("analysis/model", str(stem))
    cli = MainWindow(settings=settings, analyze_options={"model": "other"})
    qtbot.addWidget(cli)
    assert cli.analyze_options["model"] == "other"
    for w in (again, third, cli):
        w.shutdown()


def test_declining_keeps_the_current_model(window, corrected_project, tiny_model, tmp_path,
                                           qtbot, monkeypatch):
    _answer(monkeypatch, QMessageBox.StandardButton.No)
    assert window.start_fine_tune({
        "projects": [corrected_project], "init_model": str(tiny_model), "epochs": 1,
        "steps_per_epoch": 1, "phantom_cases": 0, "out_dir": tmp_path / "t2"})
    qtbot.waitUntil(lambda: window.worker is None, timeout=120_000)
    assert (tmp_path / "t2" / "model.safetensors").is_file()
    assert "model" not in window.analyze_options


@pytest.mark.parametrize("case, word", [
    ("no corrections", "no manually corrected frame"),
    ("used folder", "not empty"),
    ("no project", "at least one saved project"),
])
def test_fine_tune_errors_become_dialogs_and_change_nothing(
        window, tiny_model, tmp_path, qtbot, case, word):
    from core.project import save_project

    plain = tmp_path / "plain.pvt"
    save_project(_disc3().to_project(), plain)
    corrected = tmp_path / "c.pvt"
    r = _disc3()
    r.set_manual_labels(0, r.labels[0])
    save_project(r.to_project(), corrected)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("an earlier model")
    options = {"projects": [corrected], "init_model": str(tiny_model), "epochs": 1,
               "steps_per_epoch": 1, "phantom_cases": 0, "out_dir": tmp_path / "new"}
    if case == "no corrections":
        options["projects"] = [plain]
    elif case == "used folder":
        options["out_dir"] = used
    else:
        options["projects"] = []
    started = window.start_fine_tune(options)
    if started:
        qtbot.waitUntil(lambda: window.worker is None, timeout=60_000)
    assert any(word in text for text, _ in window.test_messages), window.test_messages
    assert "model" not in window.analyze_options
    assert (used / "keep.txt").read_text() == "an earlier model"
    assert not (tmp_path / "new" / "model.safetensors").exists()


def test_unsaved_corrections_are_saved_before_or_nothing_runs(window, monkeypatch):
    result = disc_case()
    window.state.set_result(result, dirty=False)
    window.state.apply_labels(2, result.labels[2])
    assert window.state.dirty and window.state.manual_frames == [2]
    _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert window.fine_tune_dialog() is False
    assert window.worker is None


def test_the_dialog_lists_projects_and_returns_the_options(qtbot, tmp_path):
    from app.gui.finetune import FineTuneDialog

    d = FineTuneDialog([tmp_path / "a.pvt"], "default", tmp_path / "out")
    qtbot.addWidget(d)
    d.epochs.setValue(5)
    d.cases.setValue(0)
    opts = d.options()
    assert opts == {"projects": [tmp_path / "a.pvt"], "init_model": "default", "epochs": 5,
                    "steps_per_epoch": 50, "phantom_cases": 0, "out_dir": tmp_path / "out"}
    d.model_edit.setText("  ")
    assert d.options()["init_model"] == "default"
    assert np.isfinite(d.steps.value())


def test_segment_again_keeps_the_corrected_frames(window, qtbot, monkeypatch):
    """After a fine-tune the open series is segmented again; hand-corrected frames stay."""
    from core.progress import Progress
    from core.segment.infer import SegmentationResult

    result = edit_in_window(window, disc_case(), 2, [(3, 3)])
    corrected = result.labels[2].copy()

    class Tuned:  # a stand-in for the fine-tuned model: an empty bladder everywhere
        def segment(self, series):
            labels = np.zeros(series.frames.shape, np.uint8)
            conf = np.full((series.n_frames, 1), 0.5, np.float32)
            yield Progress("done", 1, 1, "", {"result": SegmentationResult(
                labels, conf, "tuned", ("bladder",))})

    window.analyze_options["segmenter"] = Tuned()
    assert window.resegment_action.isEnabled()
    assert window.resegment()
    qtbot.waitUntil(lambda: window.worker is None, timeout=30_000)
    new = window.state.result
    assert new is not result and new.model_id == "tuned" and window.state.frame == 2
    np.testing.assert_array_equal(new.labels[2], corrected)
    assert not new.labels[[0, 1, 3, 4, 5]].any()
    assert new.manual_frames == [2] and window.state.dirty and window.state.editing
