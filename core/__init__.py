"""PelviTrack core: a Qt-free library for dynamic pelvic MRI.

Read a cine series (:func:`core.io.read_series`), segment it, track organ
boundaries through time and compute deformation indices.  Nothing in this
package imports ``app``, PySide6, pyqtgraph or superqt.
"""

__version__ = "0.1.0"
