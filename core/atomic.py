"""Writing files so that a crash, a cancel or a full disk never leaves a half-written one.

Every writer of a user's file (project, model, export table, image, video, cached graph)
writes into a hidden temporary file beside the target and moves it into place with
:func:`os.replace` only when it is complete; on any error the temporary file is removed and
an existing target is left as it was. Projects also go through :func:`write_durable` and
:func:`fsync_dir`, so the new file is on disk before the call returns.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["WRITE_CHUNK", "fsync_dir", "io_reason", "replaced_atomically", "temp_beside",
           "write_durable"]

#: Bytes per write call in :func:`write_durable`.
WRITE_CHUNK = 1 << 20


def temp_beside(path: Path, suffix: str | None = None) -> Path:
    """A hidden temporary path in ``path``'s folder (``.<stem>.tmp-XXXXXXXX<suffix>``).

    Args:
        path: the target file.
        suffix: ending of the temporary name (default ``path.suffix``; ``".nii.gz"`` for a
            writer that picks its format from a double suffix).
    """
    suffix = path.suffix if suffix is None else suffix
    stem = path.name[: len(path.name) - len(suffix)] if path.name.endswith(suffix) else path.stem
    return path.with_name(f".{stem}.tmp-{secrets.token_hex(4)}{suffix}")


@contextmanager
def replaced_atomically(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; move it onto ``path`` if the block succeeds.

    The folder is created if needed. If the block raises, the temporary file is removed
    and ``path`` is untouched.

    Args:
        path: the target file.
        suffix: see :func:`temp_beside`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def io_reason(exc: BaseException) -> str:
    """A short human reason for an I/O failure (h5py hides errno inside its text)."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    text = str(exc)
    m = re.search(r"errno = (\d+)", text)
    if m:
        return os.strerror(int(m.group(1)))
    return text or type(exc).__name__


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; nothing to do on Windows."""
    if os.name != "posix":
        return  # directories cannot be opened for fsync on Windows
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_chunk(fh: BinaryIO, chunk: memoryview) -> None:
    """One write call of :func:`write_durable` (tests replace it to simulate a crash)."""
    fh.write(chunk)


def write_durable(path: Path, data: memoryview) -> None:
    """Write ``data`` into the (new, empty) file ``path`` in chunks, flush and fsync it."""
    with open(path, "wb") as fh:
        for start in range(0, len(data), WRITE_CHUNK):
            write_chunk(fh, data[start : start + WRITE_CHUNK])
        fh.flush()
        os.fsync(fh.fileno())
