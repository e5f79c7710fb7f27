"""The reader registry: which reader takes which path."""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Iterator
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


#: Reader modules under core.io, in the order they are asked.  One line per format.
# DICOM before image stacks: a DICOM folder with a stray thumbnail stays DICOM.
READER_MODULES = ("project_file", "nifti", "dicom_enhanced", "dicom_folder", "image_stack")


READERS: list[Reader] = []


def load_readers() -> list[Reader]:
    """Import the reader modules (once) and return the registry in asking order.

    Imported lazily so that ``import core.io`` stays cheap; the GUI calls this at
    start-up so that the first read does not import pydicom & co. in a worker.
    """
    if not READERS:
        READERS.extend(
            importlib.import_module(f"core.io.{name}").READER for name in READER_MODULES)
    return READERS


def find_reader(path: Path) -> Reader:
    """Return the first registered reader that can read ``path``."""
    load_readers()
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


def short_error(exc: BaseException, limit: int = 200) -> str:
    """``"Type: first line of the message"``, at most ``limit`` characters.

    Library messages can span lines; a ReaderError reason stays one line so the
    CLI prints exactly one ``error: …`` line.
    """
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence library loggers (below CRITICAL) while reading a damaged file.

    tifffile and nibabel log warnings about damage they then raise on; with no
    logging configured Python prints them to stderr, which would add lines to
    the CLI's single ``error: …`` line.  The levels are restored afterwards.
    """
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
