"""Where the bundled resources (shipped model, demo series, icons) are.

In a checkout (and an editable install) they are the ``resources/`` folder at the
repository root; a regular install puts the same files under
``<prefix>/share/pelvitrack`` (``data-files`` in pyproject.toml).
``$PELVITRACK_RESOURCES`` overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resource_candidates() -> list[Path]:
    """Folders searched for resources, in order."""
    env = os.environ.get("PELVITRACK_RESOURCES")
    found = [Path(env)] if env else []
    found.append(Path(__file__).resolve().parents[1] / "resources")
    found.append(Path(sys.prefix) / "share" / "pelvitrack")
    return found


def resources_dir() -> Path:
    """The first existing resources folder.

    Raises:
        FileNotFoundError: none of :func:`resource_candidates` exists.
    """
    candidates = resource_candidates()
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(
        "PelviTrack resources not found (looked in "
        + ", ".join(str(c) for c in candidates) + "); set PELVITRACK_RESOURCES")
