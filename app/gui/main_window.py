"""The main window: player in the centre, plots in docks, menus, status bar with progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.analysis_actions import AnalysisActions, zoom_passes_on
from app.gui.dialogs import (  # noqa: F401 - patched in tests
    choose_series,
    choose_slice,
    shortcut_rows,
    show_about,
    show_error,
    show_shortcuts,
)
from app.gui.display_panel import DisplayPanel
from app.gui.editor import EditPanel, LabelEditor
from app.gui.file_actions import FileActions
from app.gui.jobs import JobActions
from app.gui.player import PlayerView
from app.gui.plots import Kymograph, ProfilePlot, TimePlot
from app.gui.reference import ReferenceActions
from app.gui.resources import icon
from app.gui.state import AppState
from app.gui.transport import Playback, TransportBar
from app.gui.workers import GeneratorWorker
from core.progress import Progress

#: Pause in editing (ms) after which corrections are copied to the recovery folder.
AUTOSAVE_MS = 1500


class _PanelScroll(QScrollArea):
    """A scroll area that asks for its panel's whole height (it scrolls only when the
    window cannot give it)."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = self.widget().sizeHint() if self.widget() is not None else super().sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(),
                     hint.height())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """The panel's layout changed (a series with more organs, say): ask the dock
        for room again."""
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(obj, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """As wide as the panel needs (it never scrolls sideways), short."""
        least = super().minimumSizeHint()
        if self.widget() is None:
            return least
        return QSize(self.widget().minimumSizeHint().width()
                     + self.verticalScrollBar().sizeHint().width(), least.height())


def _scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless vertical scroll area: a tall panel (the display
    panel's read-out grows with each measure) must not make the window taller than a
    1440 x 900 screen; it scrolls instead."""
    area = _PanelScroll()
    area.setWidget(widget)
    widget.installEventFilter(area)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class MainWindow(AnalysisActions, ReferenceActions, FileActions, JobActions, QMainWindow):
    """PelviTrack main window.

    Args:
        settings: where preferences live (tests pass an isolated ``QSettings``).
        analyze: analysis generator function (default ``core.pipeline.analyze``);
            called as ``analyze(series, **analyze_options)``.
        analyze_options: keyword arguments for ``analyze`` (model, device, labels, ...).
    """

    def __init__(self, settings: QSettings | None = None,
                 analyze: Callable[..., Iterator[Progress]] | None = None,
                 analyze_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("PelviTrack", "PelviTrack")
        self.analyze = analyze
        self.analyze_options = dict(analyze_options or {})
        self.state = AppState(self)
        self.playback = Playback(self.state, self)
        self.worker: GeneratorWorker | None = None
        self._resume_editing = False
        self.compare_window: Any = None
        #: Called as ``error_handler(exc, details)`` instead of a dialog when set
        #: (screenshot mode, scripts).
        self.error_handler: Callable[[BaseException, str], None] | None = None
        self.setWindowIcon(icon("pelvitrack"))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.player = PlayerView(self.state, central)
        self.transport = TransportBar(self.state, self.playback, central)
        lay.addWidget(self.player, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)

        self.panel = DisplayPanel(self.state, self)
        self.time_plot = TimePlot(self.state, self)
        self.profile = ProfilePlot(self.state, self)
        self.kymograph = Kymograph(self.state, self)
        self.docks = {
            "display": self._dock("Display", _scrolled(self.panel),
                                  Qt.DockWidgetArea.LeftDockWidgetArea),
            "time": self._dock("Indices over time", self.time_plot,
                               Qt.DockWidgetArea.RightDockWidgetArea),
            "profile": self._dock("Contour profile", self.profile,
                                  Qt.DockWidgetArea.RightDockWidgetArea),
            "kymograph": self._dock("Kymograph", self.kymograph,
                                    Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self.editor = LabelEditor(self.state, self.player.labels_layer, self)
        self.edit_panel = EditPanel(self.state, self)
        self.docks["edit"] = self._dock("Correct labels", self.edit_panel,
                                        Qt.DockWidgetArea.LeftDockWidgetArea)
        self.edit_panel.retrack_requested.connect(self.retrack)
        self._recovery_file: Path | None = None
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self.state.labels_changed.connect(lambda *_: self._autosave_timer.start())
        self.state.dirty_changed.connect(lambda dirty: None if dirty else self.discard_recovery())
        self.player.hovered.connect(self.panel.hover_label.setText)
        self.panel.colour_requested.connect(self.choose_organ_colour)
        self._build_status_bar()
        self._build_menus()
        self.state.dirty_changed.connect(lambda *_: self._update_title())
        self.state.path_changed.connect(self._update_title)
        self.state.result_changed.connect(self._update_actions)
        self._restore_settings()
        self._restore_model()
        self._update_title()
        self._update_actions()

    # -- construction ----------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QLabel("Ready — File ▸ Open, or drop a series here", self)
        bar.addWidget(self.status_label, 1)
        self.progress = QProgressBar(self)
        self.progress.setFixedWidth(220)
        self.progress.setRange(0, 100)
        self.progress.hide()
        bar.addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel_work)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.cancel_button)

    def _action(self, menu, text: str, slot: Callable[[], Any],  # noqa: ANN001
                shortcut: QKeySequence | str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda *_: slot())
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open series…", self.open_series_dialog, QKeySequence.StandardKey.Open)
        self._action(f, "Open series &folder…", self.open_folder_dialog, "Ctrl+Shift+O")
        self._action(f, "Open &project…", self.open_project_dialog, "Ctrl+P")
        self.recent_menu = f.addMenu("&Recent")
        self.compare_action = self._action(f, "&Compare with…", self.compare_dialog, "Ctrl+K")
        f.addSeparator()
        self.save_action = self._action(f, "&Save project", self.save,
                                        QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(f, "Save project &as…", self.save_as, "Ctrl+Shift+S")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Export")
        self.export_actions = [
            self._action(e, "&Tables (CSV / XLSX / Parquet)…", self.export_tables_dialog),
            self._action(e, "&Labels (NIfTI)…", self.export_labels_dialog),
            self._action(e, "Overlay &video (GIF / MP4)…", self.export_video_dialog),
            self._action(e, "&Report (HTML)…", self.export_report_dialog),
        ]
        self._action(e, "&Screenshot (PNG)…", self.export_screenshot_dialog)
        self._build_edit_menu(mb.addMenu("&Edit"))
        v = mb.addMenu("&View")
        self._action(v, "Play / pause", self.playback.toggle, Qt.Key.Key_Space)
        self._action(v, "Next frame", lambda: self.state.step(1), Qt.Key.Key_Right)
        self._action(v, "Previous frame", lambda: self.state.step(-1), Qt.Key.Key_Left)
        self._action(v, "First frame", lambda: self.state.set_frame(0), Qt.Key.Key_Home)
        self._action(v, "Last frame", lambda: self.state.set_frame(10**9), Qt.Key.Key_End)
        self._action(v, "Reset zoom", lambda: self.player.view.autoRange(padding=0.02), "Ctrl+0")
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        a = mb.addMenu("&Analysis")
        self.repair_action = self._option_action(
            a, "&Redraw frames that disagree with the motion",
            "In frames whose segmentation disagrees with the image motion, redraw the labels "
            "from the rest outline moved by the registration (applies to the next analysis; "
            "turn off for defecography, where organs change shape beyond what it follows)",
            (self.settings.value("analysis/repair", True, type=bool)
             and self.analyze_options.get("repair", True) is not False),
            self._apply_repair, self._set_repair)
        self.zoom_action = self._option_action(
            a, "Two &zoom passes",
            "Segment each frame twice, zoomed out and in by 7 %, the second time only "
            "around the organs, and average the two (the default; applies to the next "
            "analysis; off: one pass, faster, 2–4 % higher HD95 on series unlike the "
            "training data, docs/segmentation.md rules 131 and 136)",
            zoom_passes_on(self.settings, self.analyze_options),
            self._apply_zoom_passes, self._set_zoom_passes)
        a.addSeparator()
        self.retrack_action = self._action(a, "Re-&track from the corrected labels",
                                           self.retrack, "Ctrl+R")
        self.resegment_action = self._action(
            a, "&Segment again, keeping the corrected frames", self.resegment, "Ctrl+Shift+R")
        a.addSeparator()
        self._build_pcl_actions(a)
        a.addSeparator()
        self._action(a, "&Fine-tune the model on corrected frames…", self.fine_tune_dialog)
        self._action(a, "Choose the segmentation &model…", self.choose_model_dialog)
        self._action(a, "Use the &shipped model", lambda: self.set_model(None))
        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts,
                     QKeySequence.StandardKey.HelpContents)
        self._action(h, "&About PelviTrack", lambda: show_about(self))
        self._rebuild_recent()

    def _option_action(self, menu: QMenu, text: str, tip: str, on: bool,
                       apply: Callable[[bool], None], toggled: Callable[[bool], None]
                       ) -> QAction:
        """A checkable Analysis option: checked as ``on`` (applied now), ``toggled`` after."""
        act = QAction(text, self)
        act.setCheckable(True)
        act.setStatusTip(tip)
        act.setChecked(on)
        apply(on)
        act.toggled.connect(toggled)
        menu.addAction(act)
        return act

    # -- settings --------------------------------------------------------------
    def _default_layout(self) -> None:
        """Dock sizes of a first start: the player gets the most room."""
        h = Qt.Orientation.Horizontal
        self.resizeDocks([self.docks["display"], self.docks["time"]], [270, 430], h)
        self.resizeDocks([self.docks["time"], self.docks["profile"], self.docks["kymograph"]],
                         [300, 260, 300], Qt.Orientation.Vertical)
        # the display panel whole (it scrolls only on a smaller screen), the label
        # correction dock below it
        self.resizeDocks([self.docks["display"], self.docks["edit"]], [650, 200],
                         Qt.Orientation.Vertical)

    def _restore_settings(self) -> None:
        s = self.settings
        self._default_layout()
        geom = s.value("window/geometry")
        if geom is not None:
            self.restoreGeometry(geom)
        layout = s.value("window/state")
        if layout is not None:
            self.restoreState(layout)
        theme.COLOUR_OVERRIDES.clear()
        s.beginGroup("colours")
        for organ in s.childKeys():
            c = QColor(str(s.value(organ)))
            if c.isValid():
                theme.COLOUR_OVERRIDES[organ] = (c.red(), c.green(), c.blue())
        s.endGroup()
        fps = s.value("playback/fps")
        if fps is not None:
            self.playback.set_fps(float(fps))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("playback/fps", self.playback.fps)
        s.sync()

    def set_organ_colour(self, organ: str, colour: QColor) -> None:
        """Use ``colour`` for ``organ`` in every view and export; remember it."""
        theme.COLOUR_OVERRIDES[organ] = (colour.red(), colour.green(), colour.blue())
        self.settings.setValue(f"colours/{organ}", colour.name())
        if self.state.data is not None:
            self.state.result_changed.emit()  # views rebuild their organ items
            self.state.frame_changed.emit(self.state.frame)

    def choose_organ_colour(self, organ: str) -> None:
        """Ask for an organ's colour."""
        colour = QColorDialog.getColor(theme.organ_qcolor(organ), self, f"Colour of {organ}")
        if colour.isValid():
            self.set_organ_colour(organ, colour)

    def report_error(self, exc: BaseException, details: str = "") -> None:
        """Show an error dialog (or hand it to :attr:`error_handler`)."""
        if self.error_handler is not None:
            self.error_handler(exc, details)
        else:
            show_error(self, exc, details)

    # -- window ----------------------------------------------------------------
    def _update_title(self) -> None:
        self.setWindowTitle(self.state.title())

    def _update_actions(self) -> None:
        has = self.state.has_result
        for act in (*self.export_actions, self.save_action, self.save_as_action,
                    self.compare_action):
            act.setEnabled(has)
        n = len(self.state.data.organs) if self.state.data is not None else 0
        for k, act in enumerate(self.organ_actions):
            act.setVisible(k < n)
            if k < n:
                act.setText(f"Brush organ {k + 1}: {self.state.data.organs[k].replace('_', ' ')}")
        self._sync_edit_actions()

    def show_shortcuts(self) -> Any:
        """Help ▸ Keyboard shortcuts (F1): every menu action's key, from the menus."""
        self.shortcuts_dialog = show_shortcuts(self, shortcut_rows(self.menuBar()))
        return self.shortcuts_dialog

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """A menu action's key when Qt did not take it as a shortcut (the window not
        active, e.g. offscreen): the action with that shortcut is triggered."""
        keys = QKeySequence(event.keyCombination())
        for act in self.findChildren(QAction):
            if act.shortcut() == keys and act.isEnabled() and act.isVisible():
                act.trigger()
                event.accept()
                return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        """Accept dropped files and folders."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """Open the first dropped file or folder."""
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Offer to save unsaved changes; stop any running work."""
        if self.state.dirty and self.state.has_result:
            answer = QMessageBox.question(
                self, "Unsaved changes", "Save the analysis as a project before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Discard:
                self.discard_recovery()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback and workers, and store the settings."""
        self.playback.stop()
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(10_000)
        self._save_settings()
