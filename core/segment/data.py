"""Training data: cases → frames on the training grid, cached in memory.

A *source* is ``(frames (T,H,W), labels (T,H,W) uint8, spacing_mm (row, col))``:
a phantom case (``core.phantom.generate_case``) or a corrected project.  Every
source is intensity-normalised (same function as inference), resampled to the
training spacing, centred (on its organs) on a fixed square canvas and given exact signed
distance maps (mm) of its truth, computed on the canvas.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.segment.preprocess import (
    normalize_intensity,
    resample_images,
    resample_labels,
    signed_distance,
    target_shape,
)

Source = tuple[np.ndarray, np.ndarray, tuple[float, float]]


@dataclass
class FrameCache:
    """Frames of many cases on one canvas.

    Attributes:
        images: float16 (F, 1, S, S) normalised intensities.
        labels: uint8 (F, S, S).
        sdf: float16 (F, C, S, S) signed distances of the truth in mm.
        case_index: int64 (F,) which source each frame came from.
    """

    images: torch.Tensor
    labels: torch.Tensor
    sdf: torch.Tensor
    case_index: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def save(self, folder: str | Path) -> None:
        """Write the four arrays as ``.npy`` files (no pickle) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("images", "labels", "sdf", "case_index"):
            np.save(folder / f"{name}.npy", getattr(self, name).cpu().numpy(), allow_pickle=False)

    @classmethod
    def load(cls, folder: str | Path) -> FrameCache:
        """Read a cache written by :meth:`save`."""
        folder = Path(folder)
        arrays = {name: torch.from_numpy(np.load(folder / f"{name}.npy", allow_pickle=False))
                  for name in ("images", "labels", "sdf", "case_index")}
        return cls(**arrays)

    def to(self, device: torch.device) -> FrameCache:
        """Copy to a device."""
        return FrameCache(self.images.to(device), self.labels.to(device), self.sdf.to(device),
                          self.case_index.to(device))


def _fit(a: np.ndarray, size: int, centre: tuple[int, int] | None = None) -> np.ndarray:
    """Pad (zeros) and/or crop the last two axes to ``size`` × ``size`` around ``centre``.

    ``centre`` (row, col) defaults to the middle of the array.
    """
    out = np.zeros((*a.shape[:-2], size, size), dtype=a.dtype)
    h, w = a.shape[-2:]
    cr, cc = centre if centre is not None else (h // 2, w // 2)
    r0, c0 = cr - size // 2, cc - size // 2  # source index of the canvas' top-left pixel
    sr0, sc0 = max(0, r0), max(0, c0)
    sr1, sc1 = min(h, r0 + size), min(w, c0 + size)
    if sr1 > sr0 and sc1 > sc0:
        out[..., sr0 - r0 : sr1 - r0, sc0 - c0 : sc1 - c0] = a[..., sr0:sr1, sc0:sc1]
    return out


def _organ_centre(labels: np.ndarray) -> tuple[int, int] | None:
    rows, cols = np.nonzero(labels.any(axis=0))
    if rows.size == 0:
        return None
    return (int(rows.min() + rows.max()) // 2, int(cols.min() + cols.max()) // 2)


def prepare_source(source: Source, n_classes: int, spacing_mm: float, canvas: int,
                   frame_idx: Sequence[int] | None = None,
                   percentiles: tuple[float, float] = (1.0, 99.0),
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One source → (images (F,1,S,S) float32, labels (F,S,S) uint8, sdf (F,C,S,S) float32).

    Args:
        source: (frames (T,H,W), labels (T,H,W), spacing_mm (row, col)).
        n_classes: classes including background.
        spacing_mm: training spacing (mm per pixel).
        canvas: side S of the square canvas in pixels.
        frame_idx: frames to keep (default all).
        percentiles: robust normalisation percentiles (over the whole series).
    """
    frames, labels, sp = source
    frames, labels = np.asarray(frames), np.asarray(labels)
    if frames.ndim != 3 or labels.shape != frames.shape:
        raise ValueError(f"expected frames and labels (T,H,W) of one shape, got "
                         f"{frames.shape} and {labels.shape}")
    norm = normalize_intensity(frames, percentiles)
    if frame_idx is not None:
        norm, labels = norm[list(frame_idx)], labels[list(frame_idx)]
    size = target_shape(frames.shape[1:], tuple(sp), spacing_mm)
    img = resample_images(torch.from_numpy(norm[:, None]), size).numpy()
    lab = resample_labels(labels, size, n_classes)
    centre = _organ_centre(lab)  # large fields of view: keep the organs on the canvas
    img, lab = _fit(img, canvas, centre), _fit(lab, canvas, centre)
    sdf = np.stack([signed_distance(f, n_classes, spacing_mm) for f in lab])
    return img.astype(np.float32), lab, sdf


def phantom_source(seed: int, overrides: dict[str, Any] | None = None) -> Source:
    """Generate phantom case ``seed`` and return it as a source."""
    from core.phantom import generate_case  # imported late: optional at import time

    case = generate_case(seed, **(overrides or {}))
    return case.series.frames, case.labels, case.series.spacing_mm


def _init_worker() -> None:
    torch.set_num_threads(1)  # many processes: one thread each


DRAWS = ("uniform", "log_uniform", "with_probability")


def check_overrides(overrides: dict[str, Any]) -> None:
    """Raise ValueError when a drawn override is malformed (see :func:`resolve_overrides`)."""
    for key, value in overrides.items():
        if not isinstance(value, dict):
            continue
        if len(value) != 1 or next(iter(value)) not in DRAWS:
            raise ValueError(f"override {key!r}: a drawn value is {{uniform or log_uniform: "
                             f"[lo, hi]}} or {{with_probability: [value, p]}}, got {value!r}")
        (kind, bounds), = value.items()
        if kind == "with_probability":
            try:
                _, prob = bounds
                prob = float(prob)
            except (TypeError, ValueError):
                raise ValueError(f"override {key!r}: with_probability needs [value, p], "
                                 f"got {bounds!r}") from None
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f"override {key!r}: with_probability p must be in [0, 1], "
                                 f"got {prob}")
            continue
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f"override {key!r}: {kind} needs [lo, hi], got {bounds!r}") from None
        if not lo <= hi or (kind == "log_uniform" and lo <= 0):
            raise ValueError(f"override {key!r}: bad {kind} bounds {bounds!r}")


def resolve_overrides(overrides: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    """The ``generate_case`` keywords of phantom case ``seed``.

    A value ``{"uniform": [lo, hi]}`` or ``{"log_uniform": [lo, hi]}`` is drawn for
    each case (deterministic by seed, keys in sorted order), so a training set can
    span a range the phantom's own draw does not, e.g. a wider gamma.  A value
    ``{"with_probability": [value, p]}`` sets ``value`` in a share ``p`` of the cases
    and leaves the phantom's own draw in the others (e.g. ``contrast`` ``"t1"``, which
    the phantom never draws itself); it has its own random stream per key, so adding
    one leaves the other keys' draws as they were.  Other values are passed as they are.
    """
    overrides = dict(overrides or {})
    check_overrides(overrides)
    rng = np.random.default_rng([int(seed), 0x0DDBA11])
    for key in sorted(overrides):
        value = overrides[key]
        if not isinstance(value, dict):
            continue
        (kind, bounds), = value.items()
        if kind == "with_probability":
            key_code = int.from_bytes(key.encode(), "little") % (1 << 63)
            own = np.random.default_rng([int(seed), 0x5EED, key_code])
            if own.random() < float(bounds[1]):
                overrides[key] = bounds[0]
            else:
                del overrides[key]
        elif kind == "uniform":
            overrides[key] = float(rng.uniform(*bounds))
        else:
            lo, hi = bounds
            overrides[key] = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return overrides


def even_frames(t: int, n_keep: int | None) -> np.ndarray | None:
    """``n_keep`` evenly spaced frame indices of ``t`` frames (None: keep them all)."""
    return None if not n_keep or n_keep >= t else np.linspace(0, t - 1, n_keep).round().astype(int)


def _half(part: tuple[np.ndarray, np.ndarray, np.ndarray]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A prepared source in the cache's precision (float16 images and distances), so that
    thousands of prepared frames never sit in memory as float32 (the same values: the cache
    rounds them to float16 anyway)."""
    img, lab, sdf = part
    return img.astype(np.float16), lab, sdf.astype(np.float16)


def _source_job(source: Source, n_classes: int, spacing_mm: float, canvas: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _half(prepare_source(source, n_classes, spacing_mm, canvas))


def _phantom_job(args: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seed, overrides, n_classes, spacing_mm, canvas, n_keep = args
    src = phantom_source(seed, resolve_overrides(overrides, seed))
    return _half(prepare_source(src, n_classes, spacing_mm, canvas,
                                even_frames(len(src[0]), n_keep)))


def shared_positions(n: int, share: float) -> list[bool]:
    """Which of ``n`` cases get the overrides when only ``share`` of them should.

    Spread evenly through the list (position i is chosen when ⌊(i+1)·share⌋ > ⌊i·share⌋),
    so a seed range keeps the same mix at any length: share 0.5 → every second case.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"override share must be in [0, 1], got {share}")
    return [int((i + 1) * share + 1e-9) > int(i * share + 1e-9) for i in range(n)]


_TRIM_EVERY_BYTES = 256 << 20
_libc: Any = None  # the C library once looked up (False: none with malloc_trim)


def _malloc_trim() -> None:
    """Hand the heap's free pages back to the system (glibc only; elsewhere nothing).

    The prepared parts arrive from the worker processes as many arrays of a few MB,
    which glibc places on its heap once its mmap threshold has risen; freeing them
    leaves the pages resident until the heap is trimmed, so without this a stack of
    15,000 frames held twice the cache's memory at its peak (measured: 5.5 GB for a
    2.25 GB cache; 24 GB and an out-of-memory kill for an 11 GB one)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    if _libc and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)


def _stack_releasing(parts: list[list]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate the [images, labels, sdf] of ``parts`` along frames, setting each
    part's entry to None once it is copied and trimming the heap as it goes: when the
    caller holds no other reference, peak memory is about the cache's size plus a few
    hundred MB rather than twice the cache (15,000 frames of 256² are about 11 GB)."""
    n = sum(len(p[0]) for p in parts)
    out = []
    for k in range(3):
        first = parts[0][k]
        dtype = np.result_type(*(p[k].dtype for p in parts))
        stacked = np.empty((n, *first.shape[1:]), dtype=dtype)
        at = freed = 0
        for p in parts:
            if p[k].shape[1:] != first.shape[1:]:
                raise ValueError(f"frames of different shapes: {p[k].shape} and {first.shape}")
            stacked[at:at + len(p[k])] = p[k]
            at += len(p[k])
            freed += p[k].nbytes
            p[k] = None
            if freed >= _TRIM_EVERY_BYTES:
                _malloc_trim()
                freed = 0
        out.append(stacked)
    _malloc_trim()
    return out[0], out[1], out[2]


def build_cache(
    sources: Sequence[Source] = (), phantom_seeds: Sequence[int] = (),
    phantom_overrides: dict[str, Any] | None = None, *, n_classes: int, spacing_mm: float,
    canvas: int, frames_per_case: int | None = None, workers: int = 0,
    override_share: float = 1.0,
) -> FrameCache:
    """Prepare every source and phantom case and stack their frames.

    Args:
        sources: explicit (frames, labels, spacing_mm) sources (all frames used).
        phantom_seeds: phantom cases to generate.
        phantom_overrides: keyword overrides for ``generate_case``; drawn values
            as in :func:`resolve_overrides`.
        override_share: the share of phantom cases the overrides apply to, spread
            evenly (:func:`shared_positions`); the others keep the defaults.
        n_classes, spacing_mm, canvas: as in :func:`prepare_source`.
        frames_per_case: evenly spaced frames kept per phantom case (None: all).
        workers: processes preparing sources and generating phantom cases in parallel
            (0: in this process).
    """
    chosen = shared_positions(len(phantom_seeds), override_share)
    jobs = [(int(s), phantom_overrides if use else None, n_classes, spacing_mm, canvas,
             frames_per_case) for s, use in zip(phantom_seeds, chosen, strict=True)]
    per_source = partial(_source_job, n_classes=n_classes, spacing_mm=spacing_mm,
                         canvas=canvas)
    if workers and len(jobs) + len(sources) > 1:
        ctx = multiprocessing.get_context("spawn")  # safe after CUDA was initialised
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=_init_worker) as pool:
            parts = list(pool.map(per_source, sources)) + list(pool.map(_phantom_job, jobs))
    else:
        parts = [per_source(s) for s in sources] + [_phantom_job(j) for j in jobs]
    if not parts:
        raise ValueError("no training data: give sources or phantom seeds")
    case_index = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
    parts = [list(p) for p in parts]  # mutable, so that copied arrays can be dropped
    images, labels, sdf = _stack_releasing(parts)
    return FrameCache(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        sdf=torch.from_numpy(sdf),
        case_index=torch.from_numpy(case_index.astype(np.int64)),
    )


def project_source(path: str | Path, organs: Sequence[str]) -> Source:
    """The manually corrected frames of a project file as a training source.

    Args:
        path: a ``.pvt`` project file.
        organs: the training organs, in label order; the project must use the same.

    Raises:
        ProjectError: the file cannot be read.
        ValueError: other organs, or no corrected frame in the project.
    """
    from core.project import load_project, manual_frames  # late: optional at import time

    project = load_project(path)
    if tuple(project.organs) != tuple(organs):
        raise ValueError(f"{path}: organs {list(project.organs)} differ from the training "
                         f"organs {list(organs)}")
    frames = manual_frames(project)
    if not frames or project.labels is None:
        raise ValueError(f"{path}: no manually corrected frame to train on")
    return (project.series.frames[frames], project.labels[frames].copy(),
            project.series.spacing_mm)


def labelled_case_folders(top: str | Path) -> list[Path]:
    """The labelled case folders under ``top`` (sub-folders holding a ``truth.npy``),
    sorted by name.

    Raises:
        ValueError: ``top`` is not a folder or holds no labelled case.
    """
    top = Path(top)
    folders = sorted(p for p in top.iterdir() if (p / "truth.npy").is_file()) if (
        top.is_dir()) else []
    if not folders:
        raise ValueError(f"{top}: no labelled case folders (sub-folders with series.* and "
                         f"truth.npy)")
    return folders


def read_labelled_case(folder: str | Path, n_classes: int) -> tuple[Any, np.ndarray]:
    """A labelled cine stored as a folder: ``series.*`` (any readable series file) or a
    ``series/`` folder (one DICOM file per frame, say), and ``truth.npy`` ((T,H,W)
    integer labels, the organs' order, 0 background), as the generators under
    ``benchmarks/`` write them.

    Returns:
        (the :class:`~core.series.CineSeries`, uint8 labels (T,H,W)).

    Raises:
        ValueError: no series or truth in the folder, or truth that does not fit it.
        ReaderError: the series cannot be read.
    """
    from core.io import read_series  # late: the readers are optional at import time

    folder = Path(folder)
    series_files = sorted(p for p in folder.glob("series.*") if p.is_file())
    if (folder / "series").is_dir():
        series_files.append(folder / "series")
    truth_path = folder / "truth.npy"
    if not series_files or not truth_path.is_file():
        raise ValueError(f"{folder}: a labelled case needs series.* (or a series/ "
                         f"folder) and truth.npy")
    series = read_series(series_files[0])
    labels = np.load(truth_path, allow_pickle=False)
    if labels.shape != series.frames.shape:
        raise ValueError(f"{truth_path}: labels {labels.shape} do not fit the series "
                         f"{series.frames.shape}")
    if labels.dtype.kind not in "iub" or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{truth_path}: labels must be integers in 0..{n_classes - 1}")
    return series, labels.astype(np.uint8)


def labelled_folder_source(folder: str | Path, n_classes: int,
                           frames_per_case: int | None = None) -> Source:
    """:func:`read_labelled_case` as a training source.

    Args:
        folder: the case folder.
        n_classes: classes including background; larger labels are refused.
        frames_per_case: evenly spaced frames kept (None: all).
    """
    series, labels = read_labelled_case(folder, n_classes)
    idx = even_frames(len(labels), frames_per_case)
    if idx is None:
        idx = np.arange(len(labels))
    return np.asarray(series.frames)[idx], labels[idx], tuple(series.spacing_mm)
