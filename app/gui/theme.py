"""Dark theme, colour maps and pens shared by the views."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from core.organs import organ_colour

BACKGROUND = "#16181d"
PANEL = "#1f2229"
FOREGROUND = "#d8dce3"
ACCENT = "#3d8bfd"
MUTED = "#8a91a0"

#: Colour maps of the per-point indices (signed → diverging, unsigned → sequential).
SIGNED_CMAP = "CET-D1A"
UNSIGNED_CMAP = "inferno"


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options: row-major images (T,H,W), dark, antialiased lines."""
    pg.setConfigOptions(
        imageAxisOrder="row-major", background=BACKGROUND, foreground=FOREGROUND,
        antialias=True,
    )


def colour_map(signed: bool) -> pg.ColorMap:
    """The colour map of a per-point index."""
    return pg.colormap.get(SIGNED_CMAP if signed else UNSIGNED_CMAP)


#: User colour choices (organ -> RGB), kept in QSettings by the main window.
COLOUR_OVERRIDES: dict[str, tuple[int, int, int]] = {}


def organ_rgb(organ: str, index: int = 0) -> tuple[int, int, int]:
    """Display colour of an organ: the user's choice, else core.organs.organ_colour."""
    return COLOUR_OVERRIDES.get(organ) or organ_colour(organ, index)


def organ_qcolor(organ: str, index: int = 0, alpha: int = 255) -> QColor:
    """Display colour of an organ as a QColor (see :func:`organ_rgb`)."""
    r, g, b = organ_rgb(organ, index)
    return QColor(r, g, b, alpha)


def organ_label(organ: str) -> str:
    """Human-readable organ name (``uterus_vagina`` → ``Uterus / vagina``)."""
    return organ.replace("_", " / ", 1).capitalize() if organ == "uterus_vagina" else (
        organ.replace("_", " ").capitalize())


STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QWidget {{ color: {FOREGROUND}; font-size: 10pt; }}
QDockWidget {{ titlebar-close-icon: none; font-weight: 600; }}
QDockWidget::title {{ background: {PANEL}; padding: 5px 8px; border-bottom: 1px solid #2c303a; }}
QMenuBar {{ background: {PANEL}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QMenu {{ background: {PANEL}; border: 1px solid #2c303a; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
QToolBar {{ background: {PANEL}; border: none; spacing: 4px; }}
QPushButton, QToolButton {{ background: #2a2e37; border: 1px solid #383d48; border-radius: 4px;
    padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ background: #343945; }}
QPushButton:checked, QToolButton:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QComboBox, QSpinBox, QDoubleSpinBox {{ background: #2a2e37; border: 1px solid #383d48;
    border-radius: 4px; padding: 2px 6px; }}
QSlider::groove:horizontal {{ height: 4px; background: #383d48; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: white; width: 12px; margin: -5px 0; border-radius: 6px; }}
QProgressBar {{ background: #2a2e37; border: 1px solid #383d48; border-radius: 4px;
    text-align: center; max-height: 14px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QGroupBox {{ border: 1px solid #2c303a; border-radius: 6px; margin-top: 12px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {MUTED}; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#readout {{ font-family: monospace; color: {FOREGROUND}; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette and the PelviTrack stylesheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND), (QPalette.ColorRole.WindowText, FOREGROUND),
        (QPalette.ColorRole.Base, PANEL), (QPalette.ColorRole.AlternateBase, "#252931"),
        (QPalette.ColorRole.Text, FOREGROUND), (QPalette.ColorRole.Button, "#2a2e37"),
        (QPalette.ColorRole.ButtonText, FOREGROUND), (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, FOREGROUND), (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
    configure_pyqtgraph()
