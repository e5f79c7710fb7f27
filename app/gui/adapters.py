"""Make ``AnalysisResult``-like objects from a project file or a phantom's truth.

The views read results through :func:`app.gui.model.view_data_from_result`,
which needs ``series``, ``organs``, ``labels``, ``tracks`` (``points``,
``valid``, ``rest_frame``), ``points`` and ``frames`` tables.  A project file
stores tracks but no tables; a phantom case stores the exact truth.  Both are
completed here with :mod:`core.indices` (the same tables the CLI writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.series import CineSeries


@dataclass
class SimpleTracks:
    """Duck-typed ``core.track.Tracks``: points/valid per organ and the rest frame."""

    points: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    rest_frame: int = 0


@dataclass
class ViewResult:
    """An ``AnalysisResult``-like record (see docs/interfaces.md, core.pipeline)."""

    series: CineSeries
    labels: np.ndarray | None
    confidence: np.ndarray | None
    model_id: str
    organs: tuple[str, ...]
    tracks: Any
    points: Any = None
    frames: Any = None
    settings: dict = field(default_factory=dict)

    def to_project(self) -> Any:
        """The ``core.project.Project`` of this result (for Save)."""
        return project_from_result(self)


def _tables(series: CineSeries, labels: np.ndarray | None, organs: tuple[str, ...],
            tracks: SimpleTracks, confidence: np.ndarray | None) -> tuple[Any, Any]:
    from core.indices import frame_table, point_table

    points = point_table(tracks, series)
    frames = None
    if labels is not None:
        frames = frame_table(points, series, labels, organs, confidence=confidence,
                             rest_frame=tracks.rest_frame)
    return points, frames


def result_from_project(project: Any) -> Any:
    """An ``AnalysisResult``-like object from a loaded ``core.project.Project``.

    Uses ``core.pipeline.AnalysisResult.from_project`` when core provides it,
    otherwise recomputes the index tables from the stored tracks.
    """
    try:
        from core.pipeline import AnalysisResult
    except ImportError:
        AnalysisResult = None  # noqa: N806 - optional class
    if AnalysisResult is not None and hasattr(AnalysisResult, "from_project"):
        return AnalysisResult.from_project(project)
    tracks_dict = project.tracks or {}
    rest = int((project.settings or {}).get("rest_frame", 0))
    tracks = SimpleTracks(
        points={o: np.asarray(d["points"], dtype=np.float64) for o, d in tracks_dict.items()},
        valid={o: np.asarray(d["valid"], dtype=bool) for o, d in tracks_dict.items()},
        rest_frame=rest,
    )
    organs = tuple(project.organs)
    points, frames = (None, None)
    if tracks.points:
        points, frames = _tables(project.series, project.labels, organs, tracks,
                                 project.confidence)
    model_id = ""
    if project.provenance:
        model_id = str(project.provenance[0].get("model_id", ""))
    return ViewResult(project.series, project.labels, project.confidence, model_id, organs,
                      tracks, points, frames, dict(project.settings or {}))


def project_from_result(result: Any) -> Any:
    """A ``core.project.Project`` from an ``AnalysisResult``-like object."""
    if hasattr(result, "to_project") and not isinstance(result, ViewResult):
        return result.to_project()
    from core.project import Project

    tr = result.tracks
    t = result.series.n_frames
    provenance = [{"source": "auto", "model_id": result.model_id, "time": ""} for _ in range(t)]
    return Project(
        series=result.series,
        organs=tuple(result.organs),
        labels=result.labels,
        provenance=provenance,
        confidence=result.confidence,
        tracks={o: {"points": tr.points[o], "valid": tr.valid[o]} for o in tr.points},
        landmarks={},
        settings={**dict(result.settings or {}), "rest_frame": int(tr.rest_frame)},
    )


def result_from_truth(case: Any, *, model_id: str = "phantom-truth") -> ViewResult:
    """An ``AnalysisResult``-like object from a phantom case's exact truth.

    Args:
        case: ``core.phantom.PhantomCase`` (series, labels (T,H,W), organs,
            trajectories {organ: (T,N,2) xy mm}).
        model_id: name recorded as the "model" of this result.

    Returns:
        A :class:`ViewResult` whose tracks are the true material points and
        whose tables come from :mod:`core.indices`.
    """
    organs = tuple(case.organs)
    points = {o: np.asarray(case.trajectories[o], dtype=np.float64) for o in organs}
    tracks = SimpleTracks(points, {o: np.ones(p.shape[:2], bool) for o, p in points.items()}, 0)
    ptable, ftable = _tables(case.series, case.labels, organs, tracks, None)
    return ViewResult(case.series, np.asarray(case.labels), None, model_id, organs, tracks,
                      ptable, ftable, {"rest_frame": 0, "source": "phantom truth"})
