"""Prepared training frames kept on disk between runs (``train_default.py --data-store``).

Preparing the frames of a fine-tune (generating phantom cases, reading the labelled
cases, resampling, distance maps) takes about half of a CPU run.  A store keeps the
prepared (training, validation) caches under a key that changes whenever anything that
made them changes:

- the run's data settings (organs, spacing, canvas, frames per case, phantom seeds and
  overrides, validation seeds),
- every labelled case folder, by its files' names, sizes and modification times (the
  cases' order included),
- the source of the code that prepares frames (:data:`DATA_CODE`: the phantom, the
  readers, preprocessing) and the numpy / scipy / torch versions.

A stale entry is never loaded, because its key differs; it stays on disk until removed.
An entry is written under a temporary name and renamed once complete, so a crash or a
cancel never leaves a partial entry that a later run would take for a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import torch

from core.segment.data import FrameCache

#: The code that decides what a prepared frame holds, relative to the repository root
#: (folders: every ``.py`` beneath).  tests/test_datastore.py checks that everything the
#: data path imports lies in here.
DATA_CODE = ("core/__init__.py", "core/atomic.py", "core/errors.py", "core/organs.py",
             "core/series.py", "core/project.py", "core/io", "core/phantom",
             "core/segment/__init__.py", "core/segment/data.py",
             "core/segment/preprocess.py")

ROOT = Path(__file__).resolve().parents[2]
FORMAT = 1  # bump when the entry layout changes


def code_files(root: Path = ROOT) -> list[Path]:
    """The files of :data:`DATA_CODE`, sorted."""
    files: set[Path] = set()
    for rel in DATA_CODE:
        p = root / rel
        if p.is_dir():
            files.update(p.rglob("*.py"))
        elif p.is_file():
            files.add(p)
        else:
            raise FileNotFoundError(f"{p}: listed in DATA_CODE but missing")
    return sorted(files)


def code_fingerprint(root: Path = ROOT) -> str:
    """sha256 of the data code's paths and contents."""
    h = hashlib.sha256()
    for f in code_files(root):
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def folder_fingerprint(folder: str | Path) -> list:
    """A labelled case folder as its files' (relative path, size, mtime_ns), sorted."""
    folder = Path(folder)
    rows = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            rows.append([p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns])
    return [folder.resolve().as_posix(), rows]


def data_key(settings: dict[str, Any], labelled: Sequence[str | Path] = (),
             labelled_frames: int | None = None) -> str:
    """The store key of a run's prepared frames.

    Args:
        settings: the data settings (JSON-able), e.g. :func:`data_settings` of the config.
        labelled: the labelled case folders trained on, in the order they are read.
        labelled_frames: frames kept per labelled case.
    """
    blob = {
        "format": FORMAT,
        "settings": settings,
        "labelled": [folder_fingerprint(f) for f in labelled],
        "labelled_frames": labelled_frames,
        "code": code_fingerprint(),
        "versions": [np.__version__, scipy.__version__, torch.__version__],
    }
    text = json.dumps(blob, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def data_settings(cfg: Any) -> dict[str, Any]:
    """The fields of a :class:`~core.segment.train.TrainConfig` that shape its frames."""
    return {
        "organs": list(cfg.organs), "spacing_mm": cfg.spacing_mm, "canvas": cfg.canvas,
        "frames_per_case": cfg.frames_per_case, "case_seeds": list(cfg.train_seeds()),
        "phantom_overrides": cfg.phantom_overrides, "override_share": cfg.override_share,
        "val_seed0": cfg.val_seed0, "val_cases": cfg.val_cases,
    }


def entry_exists(store: str | Path, key: str) -> bool:
    """Whether a complete entry of ``key`` is in the store."""
    return (Path(store) / key / "key.json").is_file()


def load_entry(store: str | Path, key: str) -> tuple[FrameCache, FrameCache] | None:
    """The (training, validation) caches stored under ``key``, or None when absent."""
    entry = Path(store) / key
    if not entry_exists(store, key):
        return None
    return FrameCache.load(entry / "train"), FrameCache.load(entry / "val")


def save_entry(store: str | Path, key: str, caches: tuple[FrameCache, FrameCache],
               note: dict[str, Any] | None = None) -> Path:
    """Store the (training, validation) caches under ``key``; returns the entry folder.

    Written to a temporary folder and renamed when complete; an existing entry of the
    same key (the same data) is kept as it is.
    """
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    entry = store / key
    tmp = store / f".{key}.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        caches[0].save(tmp / "train")
        caches[1].save(tmp / "val")
        info = {"key": key, "train_frames": len(caches[0]), "val_frames": len(caches[1]),
                **(note or {})}
        (tmp / "key.json").write_text(json.dumps(info, indent=1, default=list))
        if not entry.exists():
            try:
                os.replace(tmp, entry)
            except OSError:  # another run stored the same key meanwhile
                if not entry.exists():
                    raise
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return entry
