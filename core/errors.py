"""Named exceptions of the core library.

``core`` raises these; ``app`` turns them into one-line messages (CLI) or
dialogs (GUI).  Every message names the file or the object concerned.
"""

from __future__ import annotations


class PelviTrackError(Exception):
    """Base class of every error PelviTrack reports to a user."""


class ReaderError(PelviTrackError):
    """A file or folder cannot be read as a cine series."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ProjectError(PelviTrackError):
    """A project file is damaged, too new or cannot be written."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelError(PelviTrackError):
    """A model file is missing, damaged or does not fit the request."""


class TrackingError(PelviTrackError):
    """Tracking cannot run on the given labels."""


class Cancelled(PelviTrackError):
    """Long work was cancelled by the user; the previous state is intact."""
