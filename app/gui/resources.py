"""Bundled demo data and icons for the GUI (found by :mod:`core.resources`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

from core.resources import resources_dir


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
