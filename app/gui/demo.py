"""The bundled demo: a phantom cine series in ``resources/demo`` analysed at start.

The series is analysed with the shipped segmentation model when there is one;
without a model the shipped truth labels (``resources/demo/labels.nii.gz``) are
given to ``core.pipeline.analyze``, which then tracks and measures them.
"""

from __future__ import annotations

from typing import Any

from app.gui.resources import demo_dir

LABELS_NAME = "labels.nii.gz"


def model_available(model: str | None = None) -> bool:
    """Whether the (given or shipped default) segmentation model files exist."""
    from core.segment.model_io import default_model_path, model_paths

    weights, config = model_paths(model or default_model_path())
    return weights.exists() and config.exists()


def demo_options(model: str | None = None, device: str = "auto") -> dict[str, Any]:
    """``analyze`` options for the demo: the model, or the shipped labels without one."""
    opts: dict[str, Any] = {"device": device}
    if model_available(model):
        if model:
            opts["model"] = model
        return opts
    from core.export import read_labels_nifti

    opts["labels"] = read_labels_nifti(demo_dir() / LABELS_NAME)
    return opts


def start_demo(window: Any) -> bool:
    """Open and analyse the demo series in ``window`` (a MainWindow)."""
    return window.open_path(demo_dir())
