"""Make a ``core.pipeline.AnalysisResult`` from a phantom's exact truth.

The views read results through :func:`app.gui.model.view_data_from_result`.
Results come from ``core.pipeline.analyze``, from a project file
(``AnalysisResult.from_project``) or, for demos, tests and benchmarks, from a
phantom case's truth (here); the tables always come from :mod:`core.indices`,
the same tables the CLI writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.pipeline import AnalysisResult
from core.track.tracks import Tracks


def result_from_tracks(series: Any, labels: np.ndarray, organs: tuple[str, ...],
                       points: dict[str, np.ndarray], *, model_id: str,
                       settings: dict[str, Any] | None = None) -> AnalysisResult:
    """An :class:`AnalysisResult` from known labels and point paths (all valid).

    Args:
        series: the ``CineSeries``.
        labels: uint8 (T, H, W) labels, organ ``organs[i]`` has label i+1.
        organs: organ names in label order.
        points: organ -> (T, N, 2) xy mm material points, rest frame 0.
        model_id: name recorded as the "model" of this result.
        settings: settings of the result (rest_frame 0 is added).
    """
    from core.indices import frame_table, point_table

    pts = {o: np.asarray(points[o], dtype=np.float64) for o in organs}
    n = next(iter(pts.values())).shape[1] if pts else 0
    tracks = Tracks(pts, {o: np.ones(p.shape[:2], bool) for o, p in pts.items()},
                    rest_frame=0, n_points=n)
    ptable = point_table(tracks, series)
    ftable = frame_table(ptable, series, labels, organs, rest_frame=0)
    return AnalysisResult(series, np.asarray(labels, np.uint8), None, model_id, tuple(organs),
                          tracks, ptable, ftable, {"rest_frame": 0, **(settings or {})})


def result_from_truth(case: Any, *, model_id: str = "phantom-truth") -> AnalysisResult:
    """An :class:`AnalysisResult` from a phantom case's exact truth.

    Args:
        case: ``core.phantom.PhantomCase`` (series, labels (T,H,W), organs,
            trajectories {organ: (T,N,2) xy mm}).
        model_id: name recorded as the "model" of this result.
    """
    return result_from_tracks(case.series, case.labels, tuple(case.organs), case.trajectories,
                              model_id=model_id, settings={"source": "phantom truth"})
