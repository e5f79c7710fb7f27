"""Analysis actions of the main window: label correction, re-tracking, the model.

A mixin of :class:`app.gui.main_window.MainWindow`; it uses the window's
``state``, ``settings``, ``editor``, ``playback``, ``status_label``,
``analyze_options``, ``start_job``, ``save`` and ``report_error`` and the actions the
window builds (``edit_action``, ``erase_action``, ``undo_action``, ``redo_action``,
``retrack_action``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QMessageBox

from app.gui import theme

#: Factor by which ] and [ grow and shrink the brush.
BRUSH_STEP = 1.25


def zoom_passes_on(settings: Any, options: dict[str, Any]) -> bool:
    """Whether analyses run with two zoom passes: as the ``scales`` given (command line),
    else as remembered in ``settings`` (Analysis menu; on by default since rule 136)."""
    given = options.get("scales")
    if given is not None:
        return len(given) > 1
    return bool(settings.value("analysis/zoom_passes", True, type=bool))


def apply_zoom_passes(options: dict[str, Any], on: bool) -> None:
    """Set ``options["scales"]`` for the default two zoom passes (``on``) or one pass;
    zooms already given that agree (command line: several zooms, or one) are kept."""
    given = options.get("scales")
    if on:
        if given is not None and len(given) < 2:
            options.pop("scales")
    elif given is None or len(given) > 1:
        options["scales"] = [1.0]


class AnalysisActions:
    """Label correction, re-tracking, repair and zoom options, model choice (a mixin)."""

    # -- the Edit menu -------------------------------------------------------------
    def _build_edit_menu(self, ed: QMenu) -> None:
        """Undo / redo, label editing, brush, organ and frame-navigation actions."""
        self.undo_action = self._action(ed, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(ed, "&Redo", self.redo, QKeySequence.StandardKey.Redo)
        self.editor.undo_stack.canUndoChanged.connect(lambda *_: self._update_undo())
        self.editor.undo_stack.canRedoChanged.connect(lambda *_: self._update_undo())
        self.editor.undo_stack.indexChanged.connect(lambda *_: self._update_undo())
        ed.addSeparator()
        self.edit_action = QAction("&Edit labels", self)
        self.edit_action.setCheckable(True)
        self.edit_action.setShortcut(QKeySequence(Qt.Key.Key_E))
        self.edit_action.toggled.connect(self.state.set_editing)
        ed.addAction(self.edit_action)
        self.erase_action = QAction("E&rase with the brush", self)
        self.erase_action.setCheckable(True)
        self.erase_action.setShortcut(QKeySequence(Qt.Key.Key_X))
        self.erase_action.toggled.connect(self.state.set_erasing)
        ed.addAction(self.erase_action)
        self.organ_actions = [
            self._action(ed, f"Brush organ {k}", lambda k=k: self._edit_organ(k - 1),
                         getattr(Qt.Key, f"Key_{k}")) for k in range(1, 10)]
        for act in self.organ_actions[3:]:
            act.setVisible(False)
        self._action(ed, "Larger brush", lambda: self.scale_brush(BRUSH_STEP),
                     Qt.Key.Key_BracketRight)
        self._action(ed, "Smaller brush", lambda: self.scale_brush(1 / BRUSH_STEP),
                     Qt.Key.Key_BracketLeft)
        self._action(ed, "&Fill the organ's outline", self.fill_organ, Qt.Key.Key_F)
        self._action(ed, "&Copy the organ from the previous frame",
                     lambda: self.copy_organ(-1), Qt.Key.Key_C)
        self._action(ed, "Copy the organ from the ne&xt frame",
                     lambda: self.copy_organ(1), "Shift+C")
        ed.addSeparator()
        self._action(ed, "&Next flagged frame", lambda: self.goto_flagged(1), Qt.Key.Key_N)
        self._action(ed, "&Previous flagged frame", lambda: self.goto_flagged(-1), "Shift+N")
        self.state.edit_changed.connect(self._sync_edit_actions)

    # -- label correction --------------------------------------------------------
    def scale_brush(self, factor: float) -> None:
        """Make the brush ``factor`` times larger ([ and ])."""
        self.state.set_brush_mm(self.state.brush_mm * factor)

    def _edit_organ(self, index: int) -> None:
        data = self.state.data
        if data is not None and index < len(data.organs):
            self.state.set_edit_organ(data.organs[index])

    def _sync_edit_actions(self) -> None:
        s = self.state
        for act, on in ((self.edit_action, s.editing), (self.erase_action, s.erasing)):
            if act.isChecked() != on:
                act.blockSignals(True)
                act.setChecked(on)
                act.blockSignals(False)
        self.edit_action.setEnabled(s.can_edit or s.editing)
        if s.editing:
            self.playback.stop()
            self.status_label.setText(
                f"Editing labels: left-drag {'erases' if s.erasing else 'paints'} "
                f"{theme.organ_label(s.edit_organ).lower()} "
                f"(brush {s.brush_mm:.1f} mm); middle-drag "
                "pans; Ctrl+Z undoes")
        self._update_undo()

    def _update_undo(self) -> None:
        stack = self.editor.undo_stack
        if not shiboken6.isValid(stack) or not shiboken6.isValid(self.undo_action):
            return  # the window is being torn down
        free = not self.busy
        self.undo_action.setEnabled(free and stack.canUndo())
        self.redo_action.setEnabled(free and stack.canRedo())
        self.undo_action.setText(f"&Undo {stack.undoText()}".rstrip())
        self.redo_action.setText(f"&Redo {stack.redoText()}".rstrip())
        manual = bool(self.state.manual_frames) if self.state.can_edit else False
        self.retrack_action.setEnabled(free and manual)
        self.resegment_action.setEnabled(free and self.state.can_edit)

    def copy_organ(self, step: int) -> None:
        """Copy the chosen organ from the previous (-1) or next (+1) frame (C / Shift+C)."""
        if self.state.data is not None:
            self.status_label.setText(self.editor.copy_from_neighbour(step))

    def fill_organ(self) -> None:
        """Fill the chosen organ's outline on the current frame (F)."""
        if self.state.data is not None:
            self.status_label.setText(self.editor.fill_current())

    def undo(self) -> None:
        """Undo the last label correction (not while an analysis runs)."""
        if not self.busy and self.editor.undo_stack.canUndo():
            self.editor.undo_stack.undo()

    def redo(self) -> None:
        """Redo the last undone label correction."""
        if not self.busy and self.editor.undo_stack.canRedo():
            self.editor.undo_stack.redo()

    def goto_flagged(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) frame the tracker flagged."""
        frames = self.state.frames_to_check()
        if not frames:
            self.status_label.setText("No flagged frame: the segmentation agrees with the "
                                      "image motion in every frame")
            return
        t = self.state.frame
        after = [f for f in frames if (f > t if direction > 0 else f < t)]
        target = (after[0] if direction > 0 else after[-1]) if after else (
            frames[0] if direction > 0 else frames[-1])
        self.state.set_frame(target)
        self.status_label.setText(
            f"Flagged frame {target + 1} ({frames.index(target) + 1} of {len(frames)})")

    def retrack(self) -> bool:
        """Track and measure again from the current (corrected) labels, off the GUI thread."""
        result = self.state.result
        if result is None or not self.state.can_edit:
            return False
        from core.corrections import retrack

        device = str(self.analyze_options.get("device", "auto"))
        self._resume_editing = self.state.editing
        return self.start_job(lambda: retrack(result, device=device), self.state.source_path,
                              project=self.state.project_path, dirty=True, keep_frame=True,
                              verb="Re-tracking")

    # -- the model ---------------------------------------------------------------
    def set_model(self, path: str | Path | None) -> None:
        """Segment the next analyses with the model at ``path`` (None: the shipped one);
        remembered for the next start."""
        if path is None:
            self.analyze_options.pop("model", None)
            self.settings.remove("analysis/model")
            self.status_label.setText("Next analyses use the shipped model")
        else:
            self.analyze_options["model"] = str(path)
            self.settings.setValue("analysis/model", str(path))
            self.status_label.setText(f"Next analyses use the model {path}")

    def _restore_model(self) -> None:
        """The model chosen in an earlier session, unless the command line named one."""
        saved = self.settings.value("analysis/model")
        if saved and "model" not in self.analyze_options:
            from core.segment.model_io import model_paths

            weights, config = model_paths(str(saved))
            if weights.is_file() and config.is_file():
                self.analyze_options["model"] = str(saved)
            else:
                self.settings.remove("analysis/model")  # gone: back to the shipped model

    def choose_model_dialog(self) -> None:
        """Ask for a model file (.json or .safetensors) for the next analyses."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Segmentation model", str(self.settings.value("files/last_folder", "")),
            "PelviTrack model (*.json *.safetensors)")
        if not path:
            return
        from core.segment.model_io import read_config

        try:
            read_config(path)
        except Exception as exc:  # noqa: BLE001 - every error becomes a dialog
            self.report_error(exc)
            return
        self.set_model(Path(path).with_suffix(""))

    def fine_tune_dialog(self) -> bool:
        """Ask what to fine-tune on, then run it in the worker."""
        from app.gui.finetune import FineTuneDialog

        if self.state.dirty and self.state.manual_frames:
            if not self._ask("Save the corrections", "Fine-tuning reads saved projects. Save "
                             "the corrected frames of this analysis first?", save=True) \
                    or not self.save():
                return False
        projects = [self.state.project_path] if self.state.project_path else []
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M")
        out = Path(str(self.settings.value("files/last_folder", str(Path.home())))) / (
            f"pelvitrack-model-{stamp}")
        dialog = FineTuneDialog(projects, str(self.analyze_options.get("model", "default")),
                                out, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        return self.start_fine_tune(dialog.options())

    def start_fine_tune(self, options: dict[str, Any]) -> bool:
        """Run a fine-tuning (:func:`app.gui.finetune.fine_tune_job` keywords)."""
        from app.gui.finetune import fine_tune_job

        if not options.get("projects"):
            self.report_error(ValueError("fine-tuning needs at least one saved project with "
                                         "corrected frames"))
            return False
        device = str(self.analyze_options.get("device", "auto"))
        return self.start_job(lambda: fine_tune_job(**options, device=device), None,
                              verb="Fine-tuning the model", post=None,
                              on_done=self._fine_tuned)

    def _fine_tuned(self, stem: Any) -> None:
        self.status_label.setText(f"Model written: {stem}.safetensors / .json")
        if not self._ask("Fine-tuned", f"The fine-tuned model is in "
                         f"{Path(str(stem)).parent}.\nUse it for the next analyses? (Tuned "
                         "on a few frames it helps the series it learned from and can be "
                         "worse on others; Analysis ▸ Use the shipped model goes back.)"):
            return
        self.set_model(stem)
        if self.state.can_edit and self.state.manual_frames and self._ask(
                "Segment again", "Segment the open series again with the new model, keeping "
                "the frames you corrected?"):
            self.resegment()

    def _ask(self, title: str, text: str, save: bool = False) -> bool:
        """A Yes/No (or, with ``save``, Save/Cancel) question; whether the answer was yes."""
        b = QMessageBox.StandardButton
        yes, no = (b.Save, b.Cancel) if save else (b.Yes, b.No)
        return QMessageBox.question(self, title, text, yes | no, yes) == yes

    def resegment(self) -> bool:
        """Segment the open series again with the current model, keeping corrected frames."""
        result = self.state.result
        if result is None or not self.state.can_edit:
            return False
        from core.corrections import resegment

        options = dict(self.analyze_options)
        self._resume_editing = self.state.editing
        return self.start_job(lambda: resegment(result, **options), self.state.source_path,
                              project=self.state.project_path, dirty=True, keep_frame=True,
                              verb="Segmenting again")

    def _set_repair(self, on: bool) -> None:
        """Whether the next analyses redraw disagreeing frames (remembered)."""
        self.settings.setValue("analysis/repair", bool(on))
        self._apply_repair(on)

    def _apply_repair(self, on: bool) -> None:
        if on:
            self.analyze_options.pop("repair", None)
        else:
            self.analyze_options["repair"] = False

    def _set_zoom_passes(self, on: bool) -> None:
        """Whether the next analyses segment each frame with two zoom passes (remembered)."""
        self.settings.setValue("analysis/zoom_passes", bool(on))
        self._apply_zoom_passes(on)

    def _apply_zoom_passes(self, on: bool) -> None:
        apply_zoom_passes(self.analyze_options, on)

    # -- recovery of unsaved corrections -------------------------------------------
    def recovery_dir(self) -> Path:
        """Where unsaved corrections are kept: ``recovery/`` beside the settings file."""
        return Path(self.settings.fileName()).resolve().parent / "recovery"

    def _recovery_path(self) -> Path:
        data = self.state.data
        key = f"{self.state.source_path}|{self.state.project_path}|{data.series.subject}|" \
              f"{data.n_frames}"
        digest = hashlib.sha1(key.encode()).hexdigest()[:10]
        return self.recovery_dir() / f"{data.series.subject}-{digest}.pvt"

    def autosave(self) -> Path | None:
        """Keep the corrected analysis in the recovery folder (after each pause in editing).

        Nothing is written when there is no unsaved correction (labels or the PCL).
        The file goes when the analysis is saved or its changes are discarded; after a
        crash the next start offers it (:meth:`offer_recovery`).
        """
        if not self._unsaved_user_work():
            return None
        from core.project import save_project

        path = self._recovery_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # uncompressed: ~20 ms for 30 frames of 256², against ~190 ms gzipped, in the
            # GUI thread (docs/performance_gui.md)
            save_project(self.state.result.to_project(), path, compress=False)
        except Exception as exc:  # noqa: BLE001 - a failed autosave must not stop editing
            self.status_label.setText(f"Could not keep a recovery copy: {exc}")
            return None
        self._recovery_file = path
        return path

    def _unsaved_user_work(self) -> bool:
        """Unsaved work of the user's own hand: corrected frames, a placed line (the
        PCL, the anal canal's) or a marked reference point."""
        from app.gui.reference import has_user_marks

        return bool(self.state.dirty and self.state.can_edit
                    and (self.state.manual_frames or has_user_marks(self.state.result)))

    def discard_recovery(self) -> None:
        """Delete this analysis' recovery copy (saved, or its changes discarded)."""
        path = getattr(self, "_recovery_file", None)
        if path is not None:
            Path(path).unlink(missing_ok=True)
            self._recovery_file = None

    def recovery_files(self) -> list[Path]:
        """Recovery copies left by earlier sessions, newest first."""
        folder = self.recovery_dir()
        files = [p for p in folder.glob("*.pvt") if p.is_file()] if folder.is_dir() else []
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)

    def offer_recovery(self) -> bool:
        """At start: offer to open the newest recovery copy (unsaved corrections).

        Returns whether one was opened.  Opened, it is moved out of the recovery folder
        into memory: Save asks where to keep it.  Declined, the copies are deleted.
        """
        files = self.recovery_files()
        if not files:
            return False
        newest = files[0]
        if not self._ask("Unsaved corrections",
                         f"PelviTrack was closed with unsaved label corrections ({newest.stem}"
                         f"{f' and {len(files) - 1} more' if len(files) > 1 else ''}).\n"
                         "Open the newest? (No deletes the copies.)"):
            for p in files:
                p.unlink(missing_ok=True)
            return False
        from app.gui.workers import load_project_job

        def job():  # noqa: ANN202 - a progress generator
            yield from load_project_job(newest)
            newest.unlink(missing_ok=True)  # in memory now; autosave writes it again

        return self.start_job(job, newest, project=None, dirty=True)

    def confirm_replace(self) -> bool:
        """Before another analysis replaces this one: save or discard unsaved corrections."""
        if not self._unsaved_user_work():
            return True
        answer = QMessageBox.question(
            self, "Unsaved corrections", "Save the corrected labels (or the placed "
            "pubococcygeal line) of this analysis as a project before opening another?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        self.discard_recovery()
        return True
