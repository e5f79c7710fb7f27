"""The PelviTrack project file: HDF5 layout, low-level read/write, and its series reader.

Layout (schema 1)::

    /                     attrs: format="pelvitrack-project", schema_version=1,
                                 software, saved_at (ISO-8601 UTC),
                                 contains_identity (bool: meta holds patient identity)
    /organs_json          JSON list of organ names (label i+1 = organs[i])
    /series/frames        float32 (T,H,W), gzip, one chunk per frame
    /series/spacing_mm    float64 (2,)  (row, col) mm
    /series/times_s       float64 (T,)  s
    /series/meta_json     JSON of CineSeries.meta (patient identity included — the
                          project is the user's own file — flagged by the root attr)
    /labels               uint8 (T,H,W), gzip, one chunk per frame   [optional]
    /provenance_json      JSON list of T records {"source", "model_id", "time", ...}
    /confidence           float32 (T, n_organs)                     [optional]
    /tracks/<organ>/points  float64 (T,N,2) xy mm (NaN allowed)
    /tracks/<organ>/valid   bool (T,N)
    /landmarks/<name>     float64 (T,2) xy mm
    /settings_json        JSON object

JSON is stored in scalar UTF-8 string datasets (no attribute size limit).
Nothing is ever unpickled.  Public entry points are
:func:`core.project.save_project` / :func:`core.project.load_project`;
:data:`READER` lets :func:`core.io.read_series` open a project's series.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from core import __version__
from core.errors import ProjectError, ReaderError
from core.series import IDENTITY_KEYS, CineSeries

if TYPE_CHECKING:
    from core.project import Project

FORMAT = "pelvitrack-project"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

_STR = h5py.string_dtype("utf-8")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, _dt.datetime, _dt.date)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from exc


def is_project_file(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file marked as a PelviTrack project (cheap check)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != HDF5_SIGNATURE:
                return False
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except OSError:
        return False
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    return fmt == FORMAT


# --------------------------------------------------------------------------- write


def _frames_dataset(group: h5py.Group, name: str, data: np.ndarray,
                    compress: bool = True) -> None:
    _, h, w = data.shape
    packing = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress else {}
    group.create_dataset(name, data=data, chunks=(1, h, w), **packing)


def _write_series(f: h5py.File, series: CineSeries, compress: bool = True) -> None:
    g = f.create_group("series")
    _frames_dataset(g, "frames", series.frames, compress)
    g.create_dataset("spacing_mm", data=np.asarray(series.spacing_mm, dtype=np.float64))
    g.create_dataset("times_s", data=np.asarray(series.times_s, dtype=np.float64))
    g.create_dataset("meta_json", data=_dumps(series.meta, "series meta"), dtype=_STR)


def _write_labels(f: h5py.File, project: Project, compress: bool = True) -> None:
    if project.labels is not None:
        _frames_dataset(f, "labels", project.labels, compress)
    if project.confidence is not None:
        f.create_dataset("confidence", data=project.confidence)
    f.create_dataset("provenance_json", data=_dumps(project.provenance, "provenance"), dtype=_STR)


def _write_tracks(f: h5py.File, project: Project) -> None:
    g = f.create_group("tracks")
    for organ, rec in project.tracks.items():
        og = g.create_group(organ)
        og.create_dataset("points", data=rec["points"], compression="gzip", shuffle=True)
        og.create_dataset("valid", data=rec["valid"], compression="gzip")
    lg = f.create_group("landmarks")
    for name, arr in project.landmarks.items():
        lg.create_dataset(name, data=arr)


def project_image(project: Project, schema_version: int, compress: bool = True) -> memoryview:
    """The complete HDF5 file of ``project``, built in memory.

    Building the file in memory keeps HDF5 away from the disk: a disk error
    then surfaces as a plain :class:`OSError` from ordinary file writes
    (HDF5 handles left open after a failed write to disk can crash the
    process later, when they are garbage-collected).

    Args:
        project: a validated project.
        schema_version: value of the root ``schema_version`` attribute.
        compress: gzip the frames and labels (False: about 9× faster to write and
            about half again as large; for the app's recovery copies).

    Returns:
        The file's bytes.

    Raises:
        ValueError: a part cannot be stored (e.g. settings not JSON-able).
    """
    meta = project.series.meta
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["schema_version"] = np.int64(schema_version)
        f.attrs["software"] = f"PelviTrack {__version__}"
        f.attrs["saved_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        f.attrs["contains_identity"] = bool(any(meta.get(k) for k in IDENTITY_KEYS))
        f.create_dataset("organs_json", data=_dumps(list(project.organs), "organs"), dtype=_STR)
        _write_series(f, project.series, compress)
        _write_labels(f, project, compress)
        _write_tracks(f, project)
        f.create_dataset("settings_json", data=_dumps(project.settings, "settings"), dtype=_STR)
    return buffer.getbuffer()


# --------------------------------------------------------------------------- read


def _damaged(path: Path, why: str) -> ProjectError:
    return ProjectError(path, f"damaged project file: {why}")


def _check_root(f: h5py.File, path: Path, schema_version: int) -> None:
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    if fmt != FORMAT:
        raise _damaged(path, f"not a PelviTrack project (HDF5 format marker is {fmt!r})")
    version = f.attrs.get("schema_version")
    if version is None or not np.issubdtype(np.asarray(version).dtype, np.integer):
        raise _damaged(path, f"missing or invalid schema_version ({version!r})")
    version = int(version)
    if version > schema_version:
        raise ProjectError(
            path,
            f"made by a newer PelviTrack (schema {version} > {schema_version}); please upgrade",
        )
    if version < 1:
        raise _damaged(path, f"invalid schema_version {version}")


def read_project_h5(path: Path, schema_version: int) -> dict[str, Any]:
    """Read the parts of a project file.

    Returns:
        ``{"series": CineSeries kwargs, "organs", "labels", "provenance",
        "confidence", "tracks", "landmarks", "settings"}`` — the caller builds
        the objects (and turns their ValueError into a damaged-file error).

    Raises:
        ProjectError: not HDF5, truncated, not a project, newer schema, missing parts.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ProjectError(path, f"cannot open: {exc.strerror or exc}") from exc
    if head != HDF5_SIGNATURE:
        raise _damaged(path, "not an HDF5 file (wrong signature)")
    try:
        with h5py.File(path, "r") as f:
            _check_root(f, path, schema_version)
            return _read_parts(f)
    except ProjectError:
        raise
    except KeyError as exc:
        raise _damaged(path, f"missing part ({exc.args[0] if exc.args else exc})") from exc
    except (OSError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
        raise _damaged(path, str(exc) or type(exc).__name__) from exc


def _require(f: h5py.Group, name: str) -> Any:
    if name not in f:
        raise KeyError(f"/{f.name.strip('/')}/{name}".replace("//", "/"))
    return f[name]


def _read_parts(f: h5py.File) -> dict[str, Any]:
    g = _require(f, "series")
    series = {
        "frames": _require(g, "frames")[()],
        "spacing_mm": tuple(float(s) for s in _require(g, "spacing_mm")[()]),
        "times_s": _require(g, "times_s")[()],
        "meta": json.loads(_require(g, "meta_json").asstr()[()]),
    }
    organs = tuple(json.loads(_require(f, "organs_json").asstr()[()]))
    labels = f["labels"][()] if "labels" in f else None
    confidence = f["confidence"][()] if "confidence" in f else None
    provenance = json.loads(_require(f, "provenance_json").asstr()[()])
    tracks = {}
    for organ, og in _require(f, "tracks").items():
        tracks[organ] = {"points": _require(og, "points")[()], "valid": _require(og, "valid")[()]}
    landmarks = {name: ds[()] for name, ds in _require(f, "landmarks").items()}
    settings = json.loads(_require(f, "settings_json").asstr()[()])
    return {
        "series": series,
        "organs": organs,
        "labels": labels,
        "provenance": provenance,
        "confidence": confidence,
        "tracks": tracks,
        "landmarks": landmarks,
        "settings": settings,
    }


# --------------------------------------------------------------------------- reader


class ProjectFileReader:
    """Reader of the series inside a PelviTrack project file (registry entry)."""

    name = "project"

    def can_read(self, path: Path) -> bool:
        """A file with the HDF5 signature whose root ``format`` attr marks a project."""
        path = Path(path)
        return path.is_file() and is_project_file(path)

    def read(self, path: Path, **options: Any) -> CineSeries:
        """The project's series (options such as ``spacing_mm`` are ignored: stored).

        Like every reader, it sets ``meta["source_path"]`` to the file read and
        ``meta["format"]`` to ``"project"``; the stored values move to
        ``meta["original_source_path"]`` / ``meta["original_format"]``.

        Raises:
            ReaderError: the project file is damaged or too new.
        """
        from core.project import load_project

        try:
            series = load_project(path).series
        except ProjectError as exc:
            raise ReaderError(path, exc.reason) from exc
        meta = series.meta
        meta.setdefault("original_source_path", meta.get("source_path", ""))
        meta.setdefault("original_format", meta.get("format", ""))
        meta["source_path"] = str(path)
        meta["format"] = "project"
        return series


READER = ProjectFileReader()
