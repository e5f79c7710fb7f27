"""``analyze``: read → segment → track → indices, as one generator, and its outputs.

The CLI (``pelvitrack analyze``) and the GUI both run :func:`analyze`; the final
progress record carries an :class:`AnalysisResult`.  :func:`write_outputs`
writes the files of one analysis into a folder.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core import __version__
from core.errors import TrackingError
from core.indices import DEFAULT_SCALE_MM, frame_table, point_table
from core.measured_result import MeasuredAgainstPcl
from core.organs import ORGANS
from core.progress import Progress
from core.rectocele import anal_lines
from core.reference import pcl_lines, reference_tracks
from core.series import CineSeries
from core.track import Tracks, track_organs
from core.track.repair import repair_labels
from core.track.tracker import frame_ranges

if TYPE_CHECKING:
    from core.project import Project

STAGES = ("read", "segment", "track", "indices")



@dataclass
class AnalysisResult(MeasuredAgainstPcl):
    """Everything one analysis produced.

    Attributes:
        series: the cine series analysed.
        labels: uint8 (T, H, W) organ labels.
        confidence: (T, n_organs) segmentation confidence in [0, 1], or None
            when labels were given.
        model_id: id of the segmentation model ("given" when labels were passed in).
        organs: organ names in label order.
        tracks: tracked points per organ.
        points: per-point table (:data:`core.indices.POINT_COLUMNS`).
        frames: per-frame table (:data:`core.indices.FRAME_COLUMNS`).
        settings: JSON-able settings of the run (rest_frame, n_points, device, ...).
        provenance: per-frame records as a project stores them (``source`` "auto" or
            "manual", ``model_id``, ``time``, ...), or None for a fresh analysis (then
            every frame is the model's).  Frames corrected by hand are "manual".
        landmarks: name -> (T, 2) xy mm (NaN where not placed), as a project stores
            them; the pubococcygeal line's ends (:mod:`core.reference`) give the
            frame table's ``below_pcl_mm``, and with the reference points the user chose
            (``settings["reference_points"]``: organ -> tracked point index)
            ``ref_below_pcl_mm`` and ``ref_to_pubis_mm``.
    """

    series: CineSeries
    labels: np.ndarray
    confidence: np.ndarray | None
    model_id: str
    organs: tuple[str, ...]
    tracks: Tracks
    points: pd.DataFrame
    frames: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    provenance: list[dict[str, Any]] | None = None
    landmarks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def manual_frames(self) -> list[int]:
        """Indices of frames whose labels were corrected by hand."""
        return [i for i, p in enumerate(self.provenance or ()) if p.get("source") == "manual"]

    @classmethod
    def from_project(cls, project: Project) -> AnalysisResult:
        """Rebuild a result from a project file's contents (tables recomputed).

        Tracks come from ``project.tracks``; rest frame and curvature scale from
        ``project.settings`` (defaults 0 and :data:`core.indices.DEFAULT_SCALE_MM`);
        the model id from the first frame's provenance.  Without tracks the tables
        are empty; without labels the frame table is empty.
        """
        settings = dict(project.settings or {})
        rest = int(settings.get("rest_frame", 0))
        scale = float(settings.get("curvature_scale_mm", DEFAULT_SCALE_MM))
        organs = tuple(project.organs)
        stored = project.tracks or {}
        ordered = {o: stored[o] for o in organs if o in stored}  # organ order, not file order
        ordered.update({o: d for o, d in stored.items() if o not in ordered})
        tracks = Tracks.from_dict(ordered, rest_frame=rest)
        points = point_table(tracks, project.series, scale_mm=scale)
        if project.labels is not None and tracks.points:
            frames = frame_table(points, project.series, project.labels, organs,
                                 confidence=project.confidence, rest_frame=rest,
                                 flagged=settings.get("flagged_frames"),
                                 repaired=settings.get("repaired_frames"),
                                 pcl=pcl_lines(project.landmarks, project.n_frames),
                                 anal=anal_lines(project.landmarks, project.n_frames),
                                 reference=reference_tracks(
                                     tracks.points, tracks.valid,
                                     settings.get("reference_points")))
        else:
            frames = frame_table(points.iloc[:0], project.series,
                                 np.zeros(project.series.frames.shape, np.uint8), (),
                                 rest_frame=rest)
        auto = [str(p.get("model_id", "")) for p in project.provenance
                if p.get("source") == "auto" and p.get("model_id")]
        model_id = str(settings.get("model_id") or (auto[0] if auto else ""))
        labels = (np.asarray(project.labels, np.uint8) if project.labels is not None
                  else np.zeros(project.series.frames.shape, np.uint8))
        return cls(project.series, labels, project.confidence, model_id, organs, tracks,
                   points, frames, settings,
                   provenance=[dict(p) for p in project.provenance],
                   landmarks={k: np.array(v, np.float64) for k, v in project.landmarks.items()})

    def set_manual_labels(self, frame: int, labels_hw: np.ndarray) -> None:
        """Replace one frame's labels with a hand correction (in place).

        The frame's provenance becomes "manual" (see
        :func:`core.project.manual_record`); tracks and tables are not recomputed
        (:func:`retrack` does that).

        Raises:
            ValueError: bad frame index, shape or label values.
        """
        from core.project import manual_record

        t, arr = _frame_labels(frame, labels_hw, self.series, len(self.organs))
        if self.provenance is None or len(self.provenance) != self.series.n_frames:
            self.provenance = self.to_project().provenance
        self.labels[t] = arr
        self.provenance[t] = manual_record(self.provenance[t])

    def to_project(self) -> Project:
        """A :class:`core.project.Project` holding this analysis."""
        from core.project import Project

        if self.provenance is not None and len(self.provenance) == self.series.n_frames:
            provenance = [dict(p) for p in self.provenance]
        else:
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            source = "manual" if self.model_id == "given" else "auto"
            provenance = [{"source": source, "model_id": self.model_id, "time": now}
                          for _ in range(self.series.n_frames)]
            for organ, frames in (self.settings.get("repaired_frames") or {}).items():
                for t in frames:
                    provenance[t].setdefault("repaired", []).append(organ)
        return Project(
            series=self.series,
            organs=tuple(self.organs),
            labels=self.labels,
            provenance=provenance,
            confidence=self.confidence,
            tracks=self.tracks.to_dict(),
            landmarks={k: np.array(v, np.float64) for k, v in (self.landmarks or {}).items()},
            settings=dict(self.settings),
        )


def _frame_labels(frame: Any, labels_hw: Any, series: CineSeries, n_organs: int,
                  what: str = "labels") -> tuple[int, np.ndarray]:
    """A checked (frame index, uint8 (H, W) labels) pair of one frame of ``series``."""
    t_n = series.n_frames
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
            or not 0 <= int(frame) < t_n:
        raise ValueError(f"{what}: {frame!r} is not a frame of the series (0..{t_n - 1})")
    arr = np.asarray(labels_hw)
    if arr.shape != series.shape:
        raise ValueError(f"{what} of frame {frame}: expected {series.shape}, got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > n_organs):
        raise ValueError(f"{what} of frame {frame} must be in 0..{n_organs}")
    return int(frame), arr.astype(np.uint8)


def _check_fixed(fixed: Mapping[int, np.ndarray] | None, series: CineSeries,
                 n_organs: int) -> dict[int, np.ndarray]:
    """Validated ``fixed_frames`` of :func:`analyze` as {frame: uint8 (H, W)}."""
    return dict(_frame_labels(t, lab, series, n_organs, "fixed labels")
                for t, lab in (fixed or {}).items())


def _read(source: CineSeries | str | os.PathLike, series_uid: str | None,
          slice_index: int | None = None) -> CineSeries:
    if isinstance(source, CineSeries):
        return source
    if isinstance(source, (str, os.PathLike)):
        from core.io import read_series

        return read_series(source, series_uid=series_uid, slice_index=slice_index)
    raise TypeError(f"expected a CineSeries or a path, got {type(source).__name__}")


def analyze(
    source: CineSeries | str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    device: str = "auto",
    rest_frame: int = 0,
    n_points: int = 128,
    segmenter: Any = None,
    labels: np.ndarray | None = None,
    organs: Sequence[str] | None = None,
    series_uid: str | None = None,
    slice_index: int | None = None,
    scale_mm: float = DEFAULT_SCALE_MM,
    repair: bool = True,
    backend: str = "auto",
    scales: Sequence[float] | None = None,
    temporal_weight: float | None = None,
    touch_mm: float | None = None,
    piece_weight: float | None = None,
    zoom_roi_mm: float | None = None,
    batch_size: int | None = None,
    fixed_frames: Mapping[int, np.ndarray] | None = None,
    landmarks: Mapping[str, np.ndarray] | None = None,
    reference_points: Mapping[str, int] | None = None,
) -> Iterator[Progress]:
    """Analyse one cine series: segment every frame, track the organs, measure.

    Args:
        source: a :class:`CineSeries` or a path any reader of :mod:`core.io` accepts.
        model: segmentation model path (None = shipped default); ignored when
            ``segmenter`` or ``labels`` is given.
        device: "auto" (CUDA when present), "cpu", "cuda", ...
        rest_frame: reference frame for displacement and descent.
        n_points: tracked points per organ.
        segmenter: an object with ``segment(series)`` like
            :class:`core.segment.infer.Segmenter` (tests, GUI reuse).
        labels: (T, H, W) labels to use instead of segmenting.
        organs: organ names of ``labels`` (default :data:`core.organs.ORGANS`).
        series_uid: pick one series when a folder holds several.
        slice_index: pick one slice of a multi-slice cine (DICOM folder, NIfTI).
        scale_mm: curvature smoothing scale in mm.
        repair: redraw the model's labels in frames whose mask disagrees with the
            image motion from the rest mask moved by the registration
            (:func:`core.track.repair.repair_labels`); given labels are never changed.
        backend, scales, temporal_weight, touch_mm, piece_weight, zoom_roi_mm: how the
            network runs, its test-time zoom factors, the weight of neighbouring frames'
            probabilities, which piece of an organ is kept, in each frame and over
            time, and the margin of the later zoom passes' box around the organs
            (:class:`core.segment.infer.Segmenter`; None = its default).
        batch_size: frames per network call (None = the segmenter's default).
        fixed_frames: {frame: (H, W) labels} that replace the model's in those frames
            (hand corrections): tracked as they are, never redrawn, no confidence.
        landmarks: name -> (T, 2) xy mm, kept in the result; with the pubococcygeal
            line's ends (:mod:`core.reference`) the frame table measures each organ's
            lowest point against it.
        reference_points: organ -> tracked point index of its reference point
            (bladder base, cervix, anorectal junction), measured against the line.

    Yields:
        :class:`Progress` with stages "read", "segment", "track", "indices"; the
        last record has stage "done" and ``data["result"]`` an :class:`AnalysisResult`.

    Raises:
        ReaderError, ModelError, TrackingError: from the stages; ValueError for
        bad arguments.
    """
    yield Progress("read", 0, 1, "reading series")
    series = _read(source, series_uid, slice_index)
    t_n = series.n_frames
    if not 0 <= int(rest_frame) < t_n:
        raise ValueError(f"rest_frame must be in [0, {t_n - 1}], got {rest_frame}")
    if int(n_points) < 3:
        raise ValueError(f"n_points must be >= 3, got {n_points}")
    from core.project import check_landmarks

    marks = check_landmarks(dict(landmarks or {}), t_n)
    pcl = pcl_lines(marks, t_n)
    chosen = {str(o): int(i) for o, i in (reference_points or {}).items()}
    yield Progress("read", 1, 1, f"{t_n} frames {series.shape[0]}x{series.shape[1]}")

    confidence: np.ndarray | None = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != series.frames.shape:
            raise TrackingError(
                f"labels {lab.shape} do not match the series frames {series.frames.shape}")
        lab = lab.astype(np.uint8)
        organ_names = tuple(organs) if organs is not None else ORGANS
        model_id = "given"
        yield Progress("segment", t_n, t_n, "labels given")
    else:
        if segmenter is None:
            from core.segment.infer import shared_segmenter

            # the first CPU use of a model builds its 8-bit graph (a few seconds, cached)
            yield Progress("segment", 0, t_n, "loading the model")
            segmenter = shared_segmenter(model, device=device, backend=backend,
                                         scales=scales, temporal_weight=temporal_weight,
                                         touch_mm=touch_mm, piece_weight=piece_weight,
                                         zoom_roi_mm=zoom_roi_mm)
        seg = None
        steps = (segmenter.segment(series) if batch_size is None
                 else segmenter.segment(series, batch_size=batch_size))
        for p in steps:
            if p.stage == "done":
                seg = p.data["result"]
            else:
                yield Progress("segment", p.done, p.total, p.message)
        if seg is None:
            raise TrackingError("segmentation ended without a result")
        lab = np.array(seg.labels, dtype=np.uint8)
        confidence = np.array(seg.confidence, dtype=np.float32)
        organ_names = tuple(seg.organs)
        model_id = str(seg.model_id)
    fixed = _check_fixed(fixed_frames, series, len(organ_names))
    for t, fixed_hw in fixed.items():
        lab[t] = fixed_hw
        if confidence is not None:
            confidence[t] = np.nan

    tracks = None
    for p in track_organs(series, lab, organ_names, n_points=n_points, rest_frame=rest_frame,
                          device=device):
        if p.stage == "done":
            tracks = p.data["result"]
        else:
            yield p
    assert tracks is not None
    repaired: dict[str, list[int]] = {}
    if repair and model_id != "given":
        lab, repaired = repair_labels(lab, tracks, organ_names, series.spacing_mm)
        for t, fixed_hw in fixed.items():  # hand corrections are never redrawn
            lab[t] = fixed_hw
        repaired = {o: [t for t in ts if t not in fixed] for o, ts in repaired.items()}
        repaired = {o: ts for o, ts in repaired.items() if ts}
        tracks.warnings.extend(
            f"{organ}: labels of frames {frame_ranges(np.asarray(ts))} redrawn from the rest "
            "frame's outline moved by the image motion (--no-repair keeps the model's)"
            for organ, ts in repaired.items())

    yield Progress("indices", 0, 2, "point table")
    points = point_table(tracks, series, scale_mm=scale_mm)
    yield Progress("indices", 1, 2, "frame table")
    flagged = {organ: [int(t) for t in np.flatnonzero(f)]
               for organ, f in tracks.flagged.items() if np.any(f)}
    frames = frame_table(points, series, lab, organ_names, confidence=confidence,
                         rest_frame=rest_frame, contours=tracks.contours, flagged=flagged,
                         repaired=repaired, pcl=pcl, anal=anal_lines(marks, t_n),
                         reference=reference_tracks(tracks.points, tracks.valid, chosen))
    yield Progress("indices", 2, 2, "indices done")
    settings = {
        "rest_frame": int(rest_frame),
        "n_points": int(n_points),
        "device": str(device),
        "curvature_scale_mm": float(scale_mm),
        "model_id": model_id,
        "pelvitrack_version": __version__,
        "warnings": list(tracks.warnings),
        "flagged_frames": flagged,
        "repaired_frames": repaired,
        "segmentation_backend": (getattr(segmenter, "backend", None)
                                 if labels is None else None),
        "segmentation_scales": (list(getattr(segmenter, "scales", ()))
                                if labels is None else None),
        "segmentation_temporal_weight": (getattr(segmenter, "temporal_weight", None)
                                         if labels is None else None),
        "segmentation_touch_mm": (getattr(segmenter, "touch_mm", None)
                                  if labels is None else None),
        "segmentation_piece_weight": (getattr(segmenter, "piece_weight", None)
                                      if labels is None else None),
        "segmentation_zoom_roi_mm": (getattr(segmenter, "zoom_roi_mm", None)
                                     if labels is None else None),
    }
    if chosen:
        settings["reference_points"] = chosen
    result = AnalysisResult(series, lab, confidence, model_id, organ_names, tracks, points,
                            frames, settings, landmarks=marks)
    yield Progress("done", 1, 1, "analysis done", {"result": result})


def run_to_end(steps: Iterator[Progress]) -> AnalysisResult:
    """The result of the last record (stage \"done\") of a progress generator."""
    result = None
    for p in steps:
        if p.stage == "done":
            result = p.data["result"]
    assert result is not None
    return result


def run_analyze(source: CineSeries | str | os.PathLike, **kwargs: Any) -> AnalysisResult:
    """Run :func:`analyze` to the end and return its result."""
    return run_to_end(analyze(source, **kwargs))


# The files of an analysis live in core.outputs; they are imported from here too.
from core.outputs import OUTPUT_NAMES, identity_tables, write_outputs  # noqa: E402

__all__ = ["OUTPUT_NAMES", "STAGES", "AnalysisResult", "analyze", "identity_tables",
           "run_analyze", "run_to_end", "write_outputs"]
