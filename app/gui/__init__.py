"""The PelviTrack desktop app: cine player with tracked contours and synced plots.

Model/view split (napari style): :class:`app.gui.state.AppState` holds the
analysis result and the view choices (frame, visible organs, point index) and
emits signals; the widgets observe it and never hold business logic.  Long work
from :mod:`core` runs in :mod:`app.gui.workers` off the GUI thread.

Nothing here is imported by :mod:`core`.
"""

from __future__ import annotations

__all__ = ["run_gui"]


def run_gui(*args, **kwargs) -> int:  # noqa: ANN002, ANN003 - thin lazy forwarder
    """Start the desktop app; see :func:`app.gui.application.run_gui`."""
    from app.gui.application import run_gui as _run

    return _run(*args, **kwargs)
