"""Fine-tune the segmentation model on corrected frames, from the app.

Analysis ▸ Fine-tune the model… asks (:class:`FineTuneDialog`) which saved projects
to learn from, which model to start from, the budget and the output folder, then
runs :func:`core.segment.train.train` with
:func:`core.segment.finetune.fine_tune_config` in the window's worker (progress bar,
Cancel keeps the last finished epoch's checkpoint).  When it is done the window
offers to use the new model for the next analyses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.progress import Progress


class FineTuneDialog(QDialog):
    """Projects, starting model, budget and output folder of a fine-tuning run.

    Args:
        projects: projects listed at first (e.g. the one open, once saved).
        init_model: the model to start from ("default" = the shipped one).
        out_dir: proposed output folder.
        parent: parent widget.
    """

    def __init__(self, projects: list[Path], init_model: str, out_dir: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune the model on corrected frames")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Projects whose hand-corrected frames the model learns from "
                             "(save the open one first):", self))
        self.list = QListWidget(self)
        for p in projects:
            self.list.addItem(str(p))
        lay.addWidget(self.list)
        row = QHBoxLayout()
        add = QPushButton("Add…", self)
        add.clicked.connect(self._add)
        remove = QPushButton("Remove", self)
        remove.clicked.connect(lambda: [self.list.takeItem(self.list.row(i))
                                        for i in self.list.selectedItems()])
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay.addLayout(row)
        form = QFormLayout()
        self.model_edit = QLineEdit(init_model, self)
        self.model_edit.setToolTip("'default' = the shipped model; or a model file "
                                   "(.json / .safetensors) of an earlier fine-tune")
        form.addRow("Start from", self.model_edit)
        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 100)
        self.epochs.setValue(3)
        form.addRow("Epochs", self.epochs)
        self.steps = QSpinBox(self)
        self.steps.setRange(1, 10_000)
        self.steps.setValue(50)
        form.addRow("Steps per epoch", self.steps)
        self.cases = QSpinBox(self)
        self.cases.setRange(0, 400)
        self.cases.setValue(4)
        self.cases.setToolTip("Synthetic phantom cases mixed in so that the model keeps what "
                              "it knew (0: the corrected frames alone). More (e.g. 12) keep "
                              "more for other series and learn the corrected ones less "
                              "(docs/segmentation.md)")
        form.addRow("Phantom cases", self.cases)
        out_row = QHBoxLayout()
        self.out_edit = QLineEdit(str(out_dir), self)
        browse = QPushButton("…", self)
        browse.clicked.connect(self._browse)
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        form.addRow("Output folder", out_row)
        lay.addLayout(form)
        note = QLabel("On the CPU each step takes about a second; the default budget "
                      "(150 steps) a few minutes. Cancel keeps the last finished epoch.", self)
        note.setObjectName("muted")
        note.setWordWrap(True)
        lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Fine-tune")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _add(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add projects", "",
                                                "PelviTrack project (*.pvt)")
        known = set(self.projects())
        for p in paths:
            if Path(p) not in known:
                self.list.addItem(p)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)

    def projects(self) -> list[Path]:
        """The listed project files."""
        return [Path(self.list.item(i).text()) for i in range(self.list.count())]

    def options(self) -> dict:
        """Keyword arguments of :func:`fine_tune_job`."""
        return {"projects": self.projects(), "init_model": self.model_edit.text().strip()
                or "default", "epochs": self.epochs.value(),
                "steps_per_epoch": self.steps.value(), "phantom_cases": self.cases.value(),
                "out_dir": Path(self.out_edit.text().strip())}


def fine_tune_job(projects: list[Path], init_model: str, epochs: int, steps_per_epoch: int,
                  phantom_cases: int, out_dir: Path, device: str = "auto"
                  ) -> Iterator[Progress]:
    """The fine-tuning run as a progress generator (its result: the new model's stem)."""
    from core.segment.finetune import fine_tune_config
    from core.segment.train import train

    cfg = fine_tune_config(projects, init_model, epochs=epochs,
                           steps_per_epoch=steps_per_epoch, phantom_cases=phantom_cases,
                           device=device)
    if Path(out_dir).exists() and any(Path(out_dir).iterdir()):
        raise ValueError(f"{out_dir}: the output folder is not empty; choose a new one "
                         "(an earlier model is never overwritten)")
    yield from train(cfg, out_dir)
