"""Exports: pseudonymised tables, NIfTI label maps and overlay videos.

Pure functions shared by the ``pelvitrack analyze`` command and the GUI's
Export menu.  One module per kind of output:

* :mod:`core.export.tables` — :func:`pseudonymize`, :func:`write_table`
  (CSV / XLSX / Parquet);
* :mod:`core.export.nifti` — :func:`write_labels_nifti`, :func:`read_labels_nifti`;
* :mod:`core.export.overlay` — :func:`render_overlay_frame`,
  :func:`write_overlay_video` (GIF / MP4);
* :mod:`core.export.report` — ``write_report`` (one self-contained HTML page per
  analysis: key frames, summaries, grades, curves).
"""

from core.export.nifti import read_labels_nifti, write_labels_nifti, write_series_labels
from core.export.overlay import display_window, render_overlay_frame, write_overlay_video
from core.export.tables import TABLE_FORMATS, pseudonymize, write_table

__all__ = [
    "TABLE_FORMATS",
    "display_window",
    "pseudonymize",
    "read_labels_nifti",
    "render_overlay_frame",
    "write_labels_nifti",
    "write_series_labels",
    "write_overlay_video",
    "write_table",
]
