"""Work on an analysis after hand corrections: track again, or segment again keeping them.

The app's Analysis menu (Re-track, Segment again) and ``pelvitrack analyze FILE.pvt`` on
a project with corrected frames run these; the corrections themselves are made with
:mod:`core.edit` and stored with :meth:`core.pipeline.AnalysisResult.set_manual_labels`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from core import __version__
from core.indices import DEFAULT_SCALE_MM
from core.pipeline import AnalysisResult, analyze, run_to_end
from core.progress import Progress


def retrack(result: AnalysisResult, *, device: str = "auto") -> Iterator[Progress]:
    """Track and measure again from a result's current labels (after hand corrections).

    The labels are used as they are (no segmentation, no redraw of disagreeing
    frames); rest frame, number of points and curvature scale are the result's.
    The new result keeps the model id, the provenance (which frames are manual),
    the landmarks and the segmentation settings; the confidence of frames corrected by hand
    is NaN.  The last record (stage "done") carries it in ``data["result"]``.
    """
    settings = dict(result.settings or {})
    new = None
    for p in analyze(result.series, labels=result.labels, organs=result.organs,
                     rest_frame=int(settings.get("rest_frame", 0)),
                     n_points=int(settings.get("n_points", 128)),
                     scale_mm=float(settings.get("curvature_scale_mm", DEFAULT_SCALE_MM)),
                     repair=False, device=device, landmarks=result.landmarks,
                     reference_points=result.reference_points):
        if p.stage != "done":
            yield p
        else:
            new = p.data["result"]
    assert new is not None
    manual = result.manual_frames
    confidence = None
    if result.confidence is not None:
        confidence = np.array(result.confidence, dtype=np.float32)
        confidence[manual] = np.nan
    settings.update(warnings=new.settings["warnings"],
                    flagged_frames=new.settings["flagged_frames"],
                    manual_frames=manual, pelvitrack_version=__version__)
    # analyze measured everything; only the columns it could not know are replaced
    frames = new.frames.copy()
    organ_index = {o: i for i, o in enumerate(result.organs)}
    oi = frames["organ"].map(organ_index).to_numpy(int)
    ti = frames["frame"].to_numpy(int)
    frames["confidence"] = (confidence[ti, oi].astype(np.float64) if confidence is not None
                            else np.nan)
    repaired = {o: {int(t) for t in ts}
                for o, ts in (settings.get("repaired_frames") or {}).items()}
    frames["repaired"] = [int(t) in repaired.get(o, ()) for o, t in zip(frames["organ"], ti,
                                                                          strict=True)]
    provenance = None if result.provenance is None else [dict(p) for p in result.provenance]
    out = AnalysisResult(result.series, new.labels, confidence, result.model_id,
                         tuple(result.organs), new.tracks, new.points, frames, settings,
                         provenance=provenance, landmarks=new.landmarks)
    yield Progress("done", 1, 1, "tracking done", {"result": out})


def resegment(result: AnalysisResult, **options: Any) -> Iterator[Progress]:
    """Segment a result's series again (e.g. with a fine-tuned model), keeping the
    frames corrected by hand, then track and measure.

    ``options`` go to :func:`analyze` (model, device, backend, repair, …); rest frame,
    number of points and curvature scale are the result's unless given.  The new
    result's provenance: the corrected frames as they were, the others the new model's.
    """
    settings = dict(result.settings or {})
    manual = result.manual_frames
    opts = {"rest_frame": int(settings.get("rest_frame", 0)),
            "n_points": int(settings.get("n_points", 128)),
            "scale_mm": float(settings.get("curvature_scale_mm", DEFAULT_SCALE_MM))}
    opts["landmarks"] = result.landmarks
    opts["reference_points"] = result.reference_points
    opts.update(options)
    new = None
    for p in analyze(result.series, fixed_frames={t: result.labels[t] for t in manual},
                     **opts):
        if p.stage != "done":
            yield p
        else:
            new = p.data["result"]
    assert new is not None
    if manual:
        provenance = new.to_project().provenance
        for t in manual:
            provenance[t] = dict(result.provenance[t])
        new.provenance = provenance
        new.settings["manual_frames"] = manual
    yield Progress("done", 1, 1, "analysis done", {"result": new})


def run_retrack(result: AnalysisResult, **kwargs: Any) -> AnalysisResult:
    """Run :func:`retrack` to the end and return its result."""
    return run_to_end(retrack(result, **kwargs))
