"""The PelviTrack project: a series with its labels, provenance, tracks and settings.

A project is saved as one HDF5 file (recommended suffix ``.pvt``) by
:func:`save_project` — atomically, so a crash or a full disk never damages the
previous file — and read back by :func:`load_project`.  The file layout lives in
:mod:`core.io.project_file`; this module holds the in-memory model, the
helpers an editor needs, and the save/load policy.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic import fsync_dir, io_reason, temp_beside, write_durable
from core.errors import ProjectError
from core.organs import ORGANS
from core.series import CineSeries

__all__ = [
    "PROVENANCE_SOURCES",
    "SCHEMA_VERSION",
    "Project",
    "load_project",
    "manual_frames",
    "new_project",
    "now_utc",
    "save_project",
    "set_auto_labels",
    "set_manual_labels",
]

#: Version of the file layout written by :func:`save_project`.
SCHEMA_VERSION = 1

#: Allowed values of a provenance record's ``"source"``.
PROVENANCE_SOURCES = ("auto", "manual", "none")


def now_utc() -> str:
    """The current time as ISO-8601 UTC with seconds, e.g. ``2026-01-31T12:00:00+00:00``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _blank_provenance() -> dict[str, str]:
    return {"source": "none", "model_id": "", "time": ""}


@dataclass
class Project:
    """Everything PelviTrack knows about one cine series.

    Attributes:
        series: the cine series (frames (T,H,W), spacing, times, meta — meta may
            hold patient identity: a project is the user's own file).
        organs: organ names; label ``i + 1`` is ``organs[i]``.
        labels: uint8 (T,H,W) label frames, or None before segmentation.
        provenance: one record per frame: ``{"source": "auto"|"manual"|"none",
            "model_id": str, "time": ISO-8601 UTC str}`` (extra keys are kept).
            An empty list means "none" for every frame.
        confidence: (T, n_organs) float, or None.
        tracks: organ -> ``{"points": (T,N,2) float64 xy mm (NaN allowed),
            "valid": (T,N) bool}``.
        landmarks: name -> (T,2) float64 xy mm (NaN where not placed).
        settings: JSON-able dict (analysis settings, e.g. ``rest_frame``).

    Construction validates and normalises every field (dtype, shape, frame
    count); :meth:`validate` re-checks after in-place edits.
    """

    series: CineSeries
    organs: tuple[str, ...] = ORGANS
    labels: np.ndarray | None = None
    provenance: list[dict[str, Any]] = field(default_factory=list)
    confidence: np.ndarray | None = None
    tracks: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    landmarks: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def n_frames(self) -> int:
        """Number of frames T of the series."""
        return self.series.n_frames

    def validate(self) -> None:
        """Check and normalise every field in place.

        Raises:
            ValueError: a field has the wrong type, shape or values (the message
                names the field and what it got).
        """
        if not isinstance(self.series, CineSeries):
            raise ValueError(f"series must be a CineSeries, got {type(self.series).__name__}")
        t, h, w = self.series.frames.shape
        self.organs = tuple(self.organs)
        if not self.organs or not all(isinstance(o, str) and o for o in self.organs):
            raise ValueError(f"organs must be non-empty names, got {self.organs!r}")
        for o in self.organs:
            _check_name("organ", o)
        if len(set(self.organs)) != len(self.organs):
            raise ValueError(f"organ names must be unique, got {self.organs!r}")
        if self.labels is not None:
            self.labels = _check_labels(self.labels, (t, h, w), len(self.organs))
        self.provenance = _check_provenance(self.provenance, t)
        if self.confidence is not None:
            conf = np.asarray(self.confidence, dtype=np.float32)
            if conf.shape != (t, len(self.organs)):
                raise ValueError(
                    f"confidence must be (T, n_organs) = {(t, len(self.organs))}, got {conf.shape}"
                )
            self.confidence = conf
        self.tracks = _check_tracks(self.tracks, t)
        self.landmarks = check_landmarks(self.landmarks, t)
        if not isinstance(self.settings, dict):
            raise ValueError(f"settings must be a dict, got {type(self.settings).__name__}")


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"{kind} name must be a non-empty string without '/', got {name!r}")


def _check_labels(labels: Any, shape: tuple[int, int, int], n_organs: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != shape:
        raise ValueError(f"labels must be (T,H,W) = {shape} like the series, got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > n_organs):
        raise ValueError(
            f"labels must lie in 0..{n_organs} (background + {n_organs} organs), "
            f"got {arr.min()}..{arr.max()}"
        )
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _check_provenance(provenance: Any, t: int) -> list[dict[str, Any]]:
    if provenance is None or (isinstance(provenance, list) and not provenance):
        return [_blank_provenance() for _ in range(t)]
    if not isinstance(provenance, (list, tuple)) or len(provenance) != t:
        got = len(provenance) if isinstance(provenance, (list, tuple)) else type(provenance)
        raise ValueError(f"provenance must be a list of {t} per-frame records, got {got}")
    out = []
    for i, rec in enumerate(provenance):
        if not isinstance(rec, dict):
            raise ValueError(f"provenance[{i}] must be a dict, got {type(rec).__name__}")
        full = {**_blank_provenance(), **rec}
        if full["source"] not in PROVENANCE_SOURCES:
            raise ValueError(
                f"provenance[{i}]['source'] must be one of {PROVENANCE_SOURCES}, "
                f"got {full['source']!r}"
            )
        full["model_id"] = str(full["model_id"])
        full["time"] = str(full["time"])
        out.append(full)
    return out


def _check_tracks(tracks: Any, t: int) -> dict[str, dict[str, np.ndarray]]:
    if not isinstance(tracks, dict):
        raise ValueError(f"tracks must be a dict organ -> arrays, got {type(tracks).__name__}")
    out = {}
    for organ, rec in tracks.items():
        _check_name("track", organ)
        if not isinstance(rec, dict) or "points" not in rec or "valid" not in rec:
            raise ValueError(f"tracks[{organ!r}] must be a dict with 'points' and 'valid'")
        pts = np.asarray(rec["points"], dtype=np.float64)
        if pts.ndim != 3 or pts.shape[0] != t or pts.shape[2] != 2:
            raise ValueError(f"tracks[{organ!r}]['points'] must be (T={t},N,2), got {pts.shape}")
        valid = np.asarray(rec["valid"]).astype(bool)
        if valid.shape != pts.shape[:2]:
            raise ValueError(
                f"tracks[{organ!r}]['valid'] must be (T,N) = {pts.shape[:2]}, got {valid.shape}"
            )
        out[organ] = {"points": pts, "valid": valid}
    return out


def check_landmarks(landmarks: Any, t: int) -> dict[str, np.ndarray]:
    if not isinstance(landmarks, dict):
        raise ValueError(f"landmarks must be a dict name -> (T,2), got {type(landmarks).__name__}")
    out = {}
    for name, arr in landmarks.items():
        _check_name("landmark", name)
        a = np.asarray(arr, dtype=np.float64)
        if a.shape != (t, 2):
            raise ValueError(f"landmarks[{name!r}] must be (T,2) = {(t, 2)}, got {a.shape}")
        out[name] = a
    return out


# --------------------------------------------------------------------------- editing


def new_project(
    series: CineSeries, organs: tuple[str, ...] = ORGANS, settings: dict | None = None
) -> Project:
    """An empty project for a series: no labels, provenance "none" for every frame."""
    return Project(series=series, organs=tuple(organs), settings=dict(settings or {}))


def _check_frame(project: Project, frame: int) -> int:
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise ValueError(f"frame must be an integer, got {frame!r}")
    if not 0 <= int(frame) < project.n_frames:
        raise ValueError(f"frame {frame} out of range 0..{project.n_frames - 1}")
    return int(frame)


def set_manual_labels(project: Project, frame: int, labels_hw: np.ndarray) -> None:
    """Replace one frame's labels with a manual correction.

    Records provenance ``{"source": "manual", "model_id": "", "time": now,
    "edited_from": <previous model_id>}``.  Creates an all-background label
    array first if the project has none.  Tracks are not recomputed.

    Args:
        project: the project, modified in place.
        frame: frame index in 0..T-1.
        labels_hw: integer labels (H,W) in 0..n_organs.

    Raises:
        ValueError: bad frame index, shape or label values.
    """
    t = _check_frame(project, frame)
    h, w = project.series.shape
    arr = np.asarray(labels_hw)
    if arr.shape != (h, w):
        raise ValueError(f"expected (H,W) = {(h, w)} labels for one frame, got {arr.shape}")
    arr = _check_labels(arr[None], (1, h, w), len(project.organs))[0]
    if project.labels is None:
        project.labels = np.zeros((project.n_frames, h, w), np.uint8)
    project.labels[t] = arr
    project.provenance[t] = manual_record(project.provenance[t])


def manual_record(previous: dict[str, Any]) -> dict[str, Any]:
    """The provenance record of a frame corrected by hand, given its previous record.

    ``edited_from`` names the model whose labels were corrected (kept through
    repeated corrections).
    """
    edited_from = previous.get("model_id", "") if previous.get("source") == "auto" else ""
    edited_from = edited_from or previous.get("edited_from", "")
    return {"source": "manual", "model_id": "", "time": now_utc(), "edited_from": edited_from}


def set_auto_labels(
    project: Project,
    labels: np.ndarray,
    model_id: str,
    confidence: np.ndarray | None = None,
    *,
    keep_manual: bool = True,
) -> list[int]:
    """Store a model's segmentation, by default keeping manually corrected frames.

    Args:
        project: the project, modified in place.
        labels: integer labels (T,H,W) in 0..n_organs.
        model_id: identifier of the model that produced them.
        confidence: optional (T, n_organs) confidence; rows of kept manual frames
            are left as they were.
        keep_manual: leave frames whose provenance is "manual" untouched.

    Returns:
        The frame indices that were updated.
    """
    t = project.n_frames
    h, w = project.series.shape
    new = _check_labels(labels, (t, h, w), len(project.organs))
    conf = None
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float32)
        if conf.shape != (t, len(project.organs)):
            raise ValueError(
                f"confidence must be (T, n_organs) = {(t, len(project.organs))}, got {conf.shape}"
            )
    frames = [
        i for i in range(t)
        if not (keep_manual and project.provenance[i].get("source") == "manual")
    ]
    if project.labels is None:
        project.labels = np.zeros((t, h, w), np.uint8)
    if conf is not None and project.confidence is None:
        project.confidence = np.full((t, len(project.organs)), np.nan, np.float32)
    now = now_utc()
    for i in frames:
        project.labels[i] = new[i]
        if conf is not None:
            project.confidence[i] = conf[i]
        project.provenance[i] = {"source": "auto", "model_id": str(model_id), "time": now}
    return frames


def manual_frames(project: Project) -> list[int]:
    """Indices of frames whose labels were corrected by hand."""
    return [i for i, p in enumerate(project.provenance) if p.get("source") == "manual"]


# --------------------------------------------------------------------------- save / load


def save_project(project: Project, path: str | os.PathLike, *, compress: bool = True) -> Path:
    """Save a project as one HDF5 file, atomically.

    The HDF5 file is built in memory, written to a temporary file in the same
    folder (``.<name>.tmp-XXXXXXXX``), flushed and fsynced, closed, moved onto
    ``path`` with :func:`os.replace`, then the folder is fsynced.  On any error
    the temporary file is removed and an existing file at ``path`` is left
    untouched.

    Args:
        project: the project (validated before writing).
        path: target file; ``.pvt`` recommended, any name accepted.
        compress: gzip frames and labels (False writes faster and larger files;
            both read the same).

    Returns:
        The path written.

    Raises:
        ProjectError: invalid project, missing folder, an existing target that is
            not a PelviTrack project (never overwritten), or a write failure
            (``"could not save: No space left on device"``).
    """
    from core.io import project_file

    path = Path(path)
    if not isinstance(project, Project):
        raise ProjectError(path, f"expected a Project, got {type(project).__name__}")
    try:
        project.validate()
    except ValueError as exc:
        raise ProjectError(path, f"invalid project: {exc}") from exc
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ProjectError(path, f"could not save: folder {folder} does not exist")
    if path.is_dir():
        raise ProjectError(path, "could not save: a folder has that name")
    if path.exists() and not project_file.is_project_file(path):
        raise ProjectError(path, "refusing to overwrite a file that is not a PelviTrack project")

    tmp = temp_beside(path, "")  # .<name>.tmp-XXXXXXXX beside the target
    try:
        image = project_file.project_image(project, SCHEMA_VERSION, compress)
        # O_EXCL: never clobber; mode 0o666 lets the umask decide, like any new file.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        write_durable(tmp, image)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass  # already gone, or cannot be removed: the target is intact either way
        if isinstance(exc, Exception):
            raise ProjectError(path, f"could not save: {io_reason(exc)}") from exc
        raise
    try:
        fsync_dir(folder)
    except OSError as exc:
        raise ProjectError(
            path, f"saved, but the folder could not be synced to disk: {io_reason(exc)}"
        ) from exc
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a project file written by :func:`save_project`.

    Args:
        path: a PelviTrack HDF5 project (any file name).

    Returns:
        The project, every field as saved (settings come back as JSON types).

    Raises:
        ProjectError: missing file; ``"damaged project file: …"`` for content
            that is not HDF5, truncated, not a PelviTrack project or missing
            parts; ``"made by a newer PelviTrack (schema N > 1); please
            upgrade"`` for a newer layout.
    """
    from core.io import project_file

    path = Path(path)
    if not path.is_file():
        raise ProjectError(path, "no such file" if not path.exists() else "not a file")
    parts = project_file.read_project_h5(path, SCHEMA_VERSION)
    try:
        series = CineSeries(**parts.pop("series"))
        return Project(series=series, **parts)
    except (ValueError, TypeError) as exc:
        raise ProjectError(path, f"damaged project file: {exc}") from exc
