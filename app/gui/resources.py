"""Where the bundled resources (demo data, icons) are, in a checkout or an installed package.

Resources live in ``resources/`` at the repository root.  An installed package
finds them the same way when ``resources`` is installed beside ``app`` (package
data), or through the ``PELVITRACK_RESOURCES`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QIcon


def resources_dir() -> Path:
    """The ``resources`` folder (``$PELVITRACK_RESOURCES`` overrides).

    Raises:
        FileNotFoundError: no resources folder was found.
    """
    env = os.environ.get("PELVITRACK_RESOURCES")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [here.parents[2] / "resources", here.parents[1] / "resources"]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "PelviTrack resources not found (looked in "
        + ", ".join(str(c) for c in candidates) + "); set PELVITRACK_RESOURCES")


def demo_dir() -> Path:
    """Folder of the bundled demo series."""
    return resources_dir() / "demo"


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` (empty icon when missing)."""
    try:
        path = resources_dir() / "icons" / f"{name}.svg"
    except FileNotFoundError:
        return QIcon()
    return QIcon(str(path)) if path.exists() else QIcon()
