"""Start the desktop app: QApplication, theme, excepthook, main window, screenshot mode."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

#: Window size of ``--screenshot`` renders (px).
SCREENSHOT_SIZE = (1440, 900)


def ensure_app() -> QApplication:
    """The QApplication (created once, dark theme applied)."""
    from app.gui.theme import apply_dark_theme

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setOrganizationName("PelviTrack")
        app.setApplicationName("PelviTrack")
        apply_dark_theme(app)
    return app  # type: ignore[return-value]


def wait_for_worker(window: Any, timeout_s: float = 600.0) -> None:
    """Run the event loop until the window's worker is done and its signals handled.

    Waits until the window dropped its worker (``_on_worker_finished``, the last of
    the worker's queued signals), not merely until the thread stopped: a job that
    fails at once (a bad file) has often stopped before this is called, with its
    ``failed`` signal still queued.
    """
    import time

    deadline = time.monotonic() + timeout_s
    while window.worker is not None and time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    QApplication.processEvents()


def render_screenshot(window: Any, path: str | Path) -> Path:
    """Resize the window to :data:`SCREENSHOT_SIZE`, lay it out and save a PNG."""
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    for _ in range(5):
        QApplication.processEvents()
    window.player.view.autoRange(padding=0.02)
    QApplication.processEvents()
    return window.save_screenshot(path)


def preload_analysis_stack(options: dict[str, Any] | None = None) -> None:
    """Import the analysis stack (torch, scipy, readers, model code) in the GUI thread.

    Done once at start-up, before the window shows, together with building the
    default model's :class:`~core.segment.infer.Segmenter` (shared by every later
    analysis): done inside the worker, both hold the GIL in long stretches and froze
    the event loop for 100–150 ms at the start of an analysis.  Then the objects
    loaded so far are frozen out of the garbage collector's full collections.

    Args:
        options: the window's ``analyze`` options; their model, device, backend,
            scales, zoom ROI margin, temporal weight, touch_mm and piece weight pick the
            Segmenter built here (the one the analyses will reuse).
    """
    import core.pipeline  # noqa: F401
    import core.track  # noqa: F401
    from core.errors import ModelError
    from core.io.registry import load_readers
    from core.segment.infer import shared_segmenter

    load_readers()
    opts = options or {}
    if opts.get("labels") is None:  # the network will run
        try:
            shared_segmenter(opts.get("model"), device=opts.get("device", "auto"),
                             backend=opts.get("backend", "auto"), scales=opts.get("scales"),
                             temporal_weight=opts.get("temporal_weight"),
                             touch_mm=opts.get("touch_mm"),
                             piece_weight=opts.get("piece_weight"),
                             zoom_roi_mm=opts.get("zoom_roi_mm"))
        except (ModelError, ValueError):
            pass  # no model / bad option: the analysis reports it when one is needed
    # Everything loaded so far lives as long as the app: move it out of the cyclic
    # garbage collector's view, so that a full collection (in the GUI thread while a
    # worker runs: app.gui.workers.GuiThreadCollection) does not scan ~300,000 objects
    # (seen: a 200 ms freeze).
    gc.collect()
    gc.freeze()


def window_analyze_options(analyze_options: dict[str, Any] | None,
                           settings: QSettings) -> dict[str, Any]:
    """The analyze options a window opened with these preferences will use: the given ones
    with the remembered Analysis-menu choices that pick the Segmenter (two zoom passes),
    so that :func:`preload_analysis_stack` builds the Segmenter the analyses reuse."""
    from app.gui.analysis_actions import apply_zoom_passes, zoom_passes_on

    options = dict(analyze_options or {})
    if options.get("scales") is None:
        apply_zoom_passes(options, zoom_passes_on(settings, options))
    return options


def run_gui(path: str | Path | None = None, *, start: Callable[[Any], bool] | None = None,
            screenshot: str | Path | None = None, settings: QSettings | None = None,
            analyze_options: dict[str, Any] | None = None, frame: int | None = None) -> int:
    """Open the main window.

    Args:
        path: a series or project to open at start.
        start: alternative start action ``start(window) -> bool`` (the demo).
        screenshot: render the window to this PNG once loaded and exit.
        settings: preferences store (default the user's).
        analyze_options: keyword arguments for ``core.pipeline.analyze``.
        frame: frame to show at start (screenshot mode; default the peak of the
            manoeuvre, the frame of largest mean displacement).

    Returns:
        Exit code: 0, or 2 when the screenshot could not be made.
    """
    from app.gui.dialogs import install_excepthook
    from app.gui.main_window import MainWindow

    app = ensure_app()
    splash = _splash("Loading the analysis engine and the model…") if screenshot is None else None
    prefs = settings if settings is not None else QSettings("PelviTrack", "PelviTrack")
    preload_analysis_stack(analyze_options if screenshot is not None
                           else window_analyze_options(analyze_options, prefs))
    if screenshot is not None:
        import contextlib
        import tempfile

        with contextlib.ExitStack() as scratch:
            if settings is None:
                # a picture of the default layout, and nothing written to the user's
                # preferences (the scratch preferences are removed afterwards)
                folder = Path(scratch.enter_context(
                    tempfile.TemporaryDirectory(prefix="pelvitrack-shot-")))
                settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
            window = MainWindow(settings=settings, analyze_options=analyze_options)
            code = _screenshot_run(window, path, start, Path(screenshot), frame)
            settings.sync()
        return code
    install_excepthook()
    window = MainWindow(settings=settings, analyze_options=analyze_options)
    window.show()
    if splash is not None:
        splash.finish(window)
    if not window.offer_recovery():  # unsaved corrections of a session that crashed first
        if start is not None:
            start(window)
        elif path is not None:
            window.open_path(path)
    return int(app.exec())


def _splash(message: str) -> Any:
    """A small start-up window (model loading takes seconds the first time: the CPU
    backend builds its 8-bit graph once, docs/segmentation.md)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    pix = QPixmap(420, 120)
    pix.fill(QColor("#202428"))
    splash = QSplashScreen(pix)
    splash.showMessage(f"PelviTrack\n\n{message}",
                       Qt.AlignmentFlag.AlignCenter, QColor("#e0e0e0"))
    splash.show()
    QApplication.processEvents()
    return splash


def peak_frame(window: Any) -> int:
    """Frame of the largest mean displacement over organs (0 without a result)."""
    import numpy as np

    data = window.state.data
    if data is None:
        return 0
    vals = [v for v in data.frame_values.get("mean_displacement_mm", {}).values()]
    if not vals:
        return 0
    mean = np.nanmean(np.vstack(vals), axis=0) if np.isfinite(np.vstack(vals)).any() else None
    return int(np.nanargmax(mean)) if mean is not None else 0


def _screenshot_run(window: Any, path: str | Path | None, start: Callable[[Any], bool] | None,
                    out: Path, frame: int | None) -> int:
    from app.gui.dialogs import error_message

    errors: list[str] = []
    window.error_handler = lambda exc, _details: errors.append(error_message(exc))
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    started = start(window) if start is not None else (
        window.open_path(path) if path is not None else False)
    if started:
        wait_for_worker(window)
    if errors:
        print(f"error: {errors[0]}", file=sys.stderr)
        return 2
    if window.state.data is not None:
        window.state.set_options(show_rest=True)
        window.state.set_frame(frame if frame is not None else peak_frame(window))
    render_screenshot(window, out)
    window.state.set_dirty(False)
    window.shutdown()
    print(f"screenshot written: {out}")
    return 0
