"""Prepared training frames kept on disk between runs (core.segment.datastore)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.segment import datastore
from core.segment.data import build_cache
from core.segment.train import TrainConfig

ROOT = Path(__file__).resolve().parents[3]


def _caches(make_case, seeds=(1, 2)):
    sources = []
    for seed in seeds:
        series, labels = make_case(seed, t=2, shape=(40, 36), spacing=(1.3, 1.2))
        sources.append((series.frames, labels, series.spacing_mm))
    common = dict(n_classes=4, spacing_mm=1.5, canvas=32)
    return build_cache(sources, (), **common), build_cache(sources[:1], (), **common)


def _same(a, b):
    for name in ("images", "labels", "sdf", "case_index"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and torch.equal(x, y), name


def test_an_entry_loads_back_bit_identical_and_leaves_nothing_partial(tmp_path, make_case):
    caches = _caches(make_case)
    assert datastore.load_entry(tmp_path, "k1") is None
    entry = datastore.save_entry(tmp_path, "k1", caches, {"prepare_s": 1.5})
    assert entry == tmp_path / "k1" and datastore.entry_exists(tmp_path, "k1")
    back = datastore.load_entry(tmp_path, "k1")
    _same(back[0], caches[0])
    _same(back[1], caches[1])
    info = json.loads((entry / "key.json").read_text())
    assert info["train_frames"] == 4 and info["val_frames"] == 2 and info["prepare_s"] == 1.5
    # Storing the same key again keeps the entry and leaves no temporary folder behind.
    datastore.save_entry(tmp_path, "k1", caches)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]


def test_a_failed_save_leaves_no_entry(tmp_path, make_case, monkeypatch):
    caches = _caches(make_case)
    real = type(caches[0]).save

    def failing(self, folder):
        if Path(folder).name == "val":
            raise OSError("disk full")
        real(self, folder)

    monkeypatch.setattr(type(caches[0]), "save", failing)
    with pytest.raises(OSError, match="disk full"):
        datastore.save_entry(tmp_path, "k2", caches)
    assert list(tmp_path.iterdir()) == []
    assert datastore.load_entry(tmp_path, "k2") is None


def test_a_folder_without_its_key_file_is_not_an_entry(tmp_path, make_case):
    caches = _caches(make_case)
    caches[0].save(tmp_path / "k3" / "train")  # as a crash mid-way would leave it
    assert not datastore.entry_exists(tmp_path, "k3")
    assert datastore.load_entry(tmp_path, "k3") is None


def test_the_key_follows_settings_labelled_files_and_code(tmp_path, write_labelled_case,
                                                          monkeypatch):
    rng = np.random.default_rng(0)
    labels = np.zeros((3, 24, 20), np.uint8)
    labels[:, 5:12, 4:10] = 1
    folders = [write_labelled_case(tmp_path / f"c{i}", rng.random((3, 24, 20)), labels)
               for i in range(2)]
    settings = datastore.data_settings(TrainConfig(cases=2, case_seed0=3))
    key = datastore.data_key(settings, folders, 4)
    assert key == datastore.data_key(settings, folders, 4)  # deterministic
    others = [
        datastore.data_key(datastore.data_settings(TrainConfig(cases=2, case_seed0=4)),
                           folders, 4),
        datastore.data_key(datastore.data_settings(TrainConfig(cases=2, case_seed0=3,
                                                               canvas=224, crop=224)),
                           folders, 4),
        datastore.data_key(settings, folders, 5),
        datastore.data_key(settings, folders[::-1], 4),
        datastore.data_key(settings, folders[:1], 4),
    ]
    assert len({key, *others}) == len(others) + 1
    # A labelled case rewritten (its truth changed) is another key.
    truth = folders[1] / "truth.npy"
    st = truth.stat()
    np.save(truth, labels[::-1].copy())
    os.utime(truth, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert datastore.data_key(settings, folders, 4) != key
    # So is any change of the code that prepares frames.
    key_now = datastore.data_key(settings, folders, 4)
    monkeypatch.setattr(datastore, "code_fingerprint", lambda root=None: "other")
    assert datastore.data_key(settings, folders, 4) != key_now


def test_the_code_fingerprint_reads_every_listed_file(tmp_path):
    for rel in datastore.DATA_CODE:
        p = tmp_path / rel
        if p.suffix == ".py":
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("x = 1\n")
        else:
            (p / "sub").mkdir(parents=True)
            (p / "sub" / "m.py").write_text("y = 1\n")
            (p / "notes.txt").write_text("not code\n")
    before = datastore.code_fingerprint(tmp_path)
    (tmp_path / "core/phantom/notes.txt").write_text("changed\n")
    assert datastore.code_fingerprint(tmp_path) == before  # only .py files count
    (tmp_path / "core/phantom/sub/m.py").write_text("y = 2\n")
    assert datastore.code_fingerprint(tmp_path) != before
    (tmp_path / "core/series.py").unlink()
    with pytest.raises(FileNotFoundError, match="series.py"):
        datastore.code_fingerprint(tmp_path)


def test_everything_the_data_path_imports_is_fingerprinted():
    """Import the data path with every reader and phantom module (readers load lazily) in
    a fresh interpreter; each core module it pulls in must be among DATA_CODE's files."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import core.io, core.phantom, core.project, core.segment.data\n"
        "for pkg in (core.io, core.phantom):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items()\n"
        "                        if n == 'core' or n.startswith('core.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    listed = {str(p) for p in datastore.code_files(ROOT)}
    missing = [f for f in out if str(Path(f).resolve()) not in listed]
    assert out and not missing, missing
