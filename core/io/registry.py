"""The reader registry: which reader takes which path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from core.errors import ReaderError
from core.series import CineSeries


class Reader(Protocol):
    """What a reader module provides."""

    name: str

    def can_read(self, path: Path) -> bool:
        """Whether this reader recognises ``path`` (cheap: name, magic bytes)."""
        ...

    def read(self, path: Path, **options: Any) -> CineSeries:
        """Read ``path``; raise :class:`ReaderError` on bad input."""
        ...


def _readers() -> list[Reader]:
    # Imported lazily so that `import core.io` stays cheap.  One line per format.
    from core.io import dicom_enhanced, dicom_folder, image_stack, nifti, project_file

    return [
        project_file.READER,
        nifti.READER,
        image_stack.READER,
        dicom_enhanced.READER,
        dicom_folder.READER,
    ]


READERS: list[Reader] = []


def find_reader(path: Path) -> Reader:
    """Return the first registered reader that can read ``path``."""
    if not READERS:
        READERS.extend(_readers())
    if path.is_dir() and not any(path.iterdir()):
        raise ReaderError(path, "empty folder")
    for reader in READERS:
        if reader.can_read(path):
            return reader
    kind = "folder" if path.is_dir() else "file"
    raise ReaderError(
        path,
        f"not a supported {kind} (expected DICOM, NIfTI, TIFF/PNG frames or a PelviTrack project)",
    )
