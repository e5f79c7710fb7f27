"""Helpers of the GUI tests: the analytic moving-disc result and small writers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from app.gui.adapters import result_from_tracks
from core.pipeline import AnalysisResult
from core.progress import Progress
from core.series import CineSeries

RADIUS_MM = 8.0
STEP_MM = 1.5  # the disc moves this far down (+y) per frame
N_POINTS = 32


def disc_case(n_frames: int = 6, shape: tuple[int, int] = (48, 40),
              spacing_mm: tuple[float, float] = (1.0, 1.0), organ: str = "bladder"
              ) -> AnalysisResult:
    """A bright disc of radius RADIUS_MM moving down STEP_MM per frame, tracked exactly.

    Tables come from core.indices, so a circle has curvature 1/r and point i
    of frame t is displaced t × STEP_MM.
    """
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w]
    y, x = rows * spacing_mm[0], cols * spacing_mm[1]
    cx, cy0 = (w - 1) * spacing_mm[1] / 2, 14.0
    frames = np.zeros((n_frames, h, w), np.float32)
    labels = np.zeros((n_frames, h, w), np.uint8)
    theta = np.linspace(0, 2 * np.pi, N_POINTS, endpoint=False)
    pts = np.zeros((n_frames, N_POINTS, 2))
    for t in range(n_frames):
        cy = cy0 + STEP_MM * t
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS_MM**2
        frames[t] = 100.0 * inside + 10.0
        labels[t] = inside.astype(np.uint8)
        # positive shoelace area in (x, y): counter-clockwise in the maths frame
        pts[t, :, 0] = cx + RADIUS_MM * np.cos(theta)
        pts[t, :, 1] = cy + RADIUS_MM * np.sin(theta)
    series = CineSeries(frames, spacing_mm, np.arange(n_frames) * 0.5,
                        {"subject_id": "disc", "series_description": "moving disc"})
    return result_from_tracks(series, labels, (organ,), {organ: pts},
                              model_id="analytic-disc")


def fake_analyze(result: AnalysisResult, n_steps: int = 3) -> object:
    """An ``analyze`` stand-in yielding a few records then ``result``."""

    def analyze(series: CineSeries, **_options: object) -> Iterator[Progress]:
        for i in range(n_steps):
            yield Progress("segment", i + 1, n_steps, f"frame {i + 1}")
        yield Progress("done", 1, 1, "done", {"result": result})

    return analyze


def write_nifti_series(result: AnalysisResult, path) -> None:
    """Write the frames of a result as a 2D+t NIfTI ((W,H,T), mm and s units)."""
    import nibabel as nib

    s = result.series
    data = np.ascontiguousarray(np.transpose(s.frames, (2, 1, 0)))
    img = nib.Nifti1Image(data, np.diag([s.spacing_mm[1], s.spacing_mm[0], 1.0, 1.0]))
    img.header.set_xyzt_units("mm", "sec")
    zooms = (s.spacing_mm[1], s.spacing_mm[0], s.frame_interval_s)
    img.header.set_zooms(zooms)
    nib.save(img, str(path))


def edit_in_window(window, result: AnalysisResult, frame: int,
                   points: list[tuple[float, float]]) -> AnalysisResult:
    """Show ``result`` in ``window`` and paint one brush stroke through ``points`` (row,
    column) on ``frame``, as a left-drag in the editor would."""
    window.state.set_result(result, dirty=False)
    window.state.set_frame(frame)
    window.state.set_editing(True)
    layer = window.player.labels_layer
    layer.begin_stroke(points[0])
    for p in points[1:]:
        layer.continue_stroke(p)
    layer.end_stroke()
    assert window.state.manual_frames == [frame]
    return result
