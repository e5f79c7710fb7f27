"""Project file: round trip, atomic saves, damaged and newer files, the series reader."""

import errno
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import core.atomic
import core.io.project_file as project_file
import core.project
from core.errors import ProjectError, ReaderError
from core.io import read_series
from core.project import (
    SCHEMA_VERSION,
    Project,
    load_project,
    manual_frames,
    new_project,
    save_project,
    set_auto_labels,
    set_manual_labels,
)
from core.series import CineSeries

T, H, W = 4, 12, 10


def make_project() -> Project:
    rng = np.random.default_rng(3)
    meta = {
        "subject_id": "S-001",
        "patient_name": "Müller^Zoë 王",
        "patient_id": "ID-Ω-42",
        "series_description": "cine sag — strain",
        "warnings": ["assumed spacing ✓"],
    }
    series = CineSeries(rng.random((T, H, W)).astype(np.float32) * 1000, (1.25, 0.9),
                        np.array([0.0, 1.1, 2.3, 3.4]), meta)
    labels = rng.integers(0, 4, (T, H, W)).astype(np.uint8)
    points = rng.normal(size=(T, 5, 2)) * 10
    points[2, 1] = np.nan
    valid = np.ones((T, 5), bool)
    valid[2, 1] = False
    landmark = rng.normal(size=(T, 2))
    landmark[0] = np.nan
    return Project(
        series=series,
        organs=("bladder", "uterus_vagina", "rectum"),
        labels=labels,
        provenance=[{"source": "auto", "model_id": "unet-v1", "time": "2026-01-01T00:00:00+00:00"}
                    for _ in range(T)],
        confidence=rng.random((T, 3)).astype(np.float32),
        tracks={"bladder": {"points": points, "valid": valid},
                "rectum": {"points": points[:, :3] + 1, "valid": valid[:, :3]}},
        landmarks={"coccyx_tip": landmark, "inferior_pubic_point": landmark * 2},
        settings={"rest_frame": 0, "n_points": 5, "note": "ünïcode", "nested": {"a": [1, 2.5]}},
    )


def assert_projects_equal(a: Project, b: Project) -> None:
    np.testing.assert_array_equal(a.series.frames, b.series.frames)
    assert a.series.frames.dtype == b.series.frames.dtype == np.float32
    assert a.series.spacing_mm == b.series.spacing_mm
    np.testing.assert_array_equal(a.series.times_s, b.series.times_s)
    assert a.series.meta == b.series.meta
    assert a.organs == b.organs
    np.testing.assert_array_equal(a.labels, b.labels)
    assert b.labels.dtype == np.uint8
    assert a.provenance == b.provenance
    np.testing.assert_array_equal(a.confidence, b.confidence)
    assert a.tracks.keys() == b.tracks.keys()
    for organ in a.tracks:
        np.testing.assert_array_equal(a.tracks[organ]["points"], b.tracks[organ]["points"])
        np.testing.assert_array_equal(a.tracks[organ]["valid"], b.tracks[organ]["valid"])
        assert b.tracks[organ]["valid"].dtype == bool
    assert a.landmarks.keys() == b.landmarks.keys()
    for name in a.landmarks:
        np.testing.assert_array_equal(a.landmarks[name], b.landmarks[name])
    assert a.settings == b.settings


def test_round_trip_keeps_every_field(tmp_path):
    project = make_project()
    path = save_project(project, tmp_path / "case.pvt")
    back = load_project(path)
    assert_projects_equal(project, back)
    assert np.isnan(back.tracks["bladder"]["points"][2, 1]).all()
    assert back.series.meta["patient_name"] == "Müller^Zoë 王"
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "pelvitrack-project"
        assert f.attrs["schema_version"] == SCHEMA_VERSION == 1
        assert bool(f.attrs["contains_identity"]) is True
        assert f["series/frames"].chunks == (1, H, W)
        assert f["series/frames"].compression == "gzip"
        assert f["labels"].compression == "gzip"
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]


def test_an_uncompressed_save_reads_the_same(tmp_path):
    project = make_project()
    path = save_project(project, tmp_path / "quick.pvt", compress=False)
    assert_projects_equal(project, load_project(path))
    with h5py.File(path, "r") as f:
        assert f["series/frames"].compression is None and f["labels"].compression is None
        assert f["series/frames"].chunks == (1, H, W)


def test_minimal_project_round_trip_and_any_file_name(tmp_path):
    project = new_project(make_project().series)
    assert project.labels is None
    assert [p["source"] for p in project.provenance] == ["none"] * T
    back = load_project(save_project(project, tmp_path / "no_suffix"))
    assert back.labels is None and back.confidence is None
    assert back.tracks == {} and back.landmarks == {} and back.settings == {}
    assert back.provenance == project.provenance


def test_manual_and_auto_labels_record_provenance():
    project = new_project(make_project().series)
    frame = np.zeros((H, W), np.uint8)
    frame[2:5, 3:6] = 2
    set_auto_labels(project, np.ones((T, H, W), np.uint8), "unet-v1")
    set_manual_labels(project, 1, frame)
    np.testing.assert_array_equal(project.labels[1], frame)
    rec = project.provenance[1]
    assert rec["source"] == "manual" and rec["edited_from"] == "unet-v1"
    assert rec["time"].endswith("+00:00") and rec["time"][:4].isdigit()
    assert manual_frames(project) == [1]
    updated = set_auto_labels(project, np.full((T, H, W), 3, np.uint8), "unet-v2")
    assert updated == [0, 2, 3]
    np.testing.assert_array_equal(project.labels[1], frame)  # manual frame kept
    assert project.provenance[0]["model_id"] == "unet-v2"
    assert project.labels[0].max() == 3
    with pytest.raises(ValueError, match=r"expected \(H,W\) = \(12, 10\)"):
        set_manual_labels(project, 0, np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="frame 9 out of range 0..3"):
        set_manual_labels(project, 9, frame)
    with pytest.raises(ValueError, match=r"labels must lie in 0..3"):
        set_manual_labels(project, 0, frame + 5)


def test_project_validation_messages():
    series = make_project().series
    with pytest.raises(ValueError, match=r"labels must be \(T,H,W\) = \(4, 12, 10\)"):
        Project(series, labels=np.zeros((3, H, W), np.uint8))
    with pytest.raises(ValueError, match="provenance must be a list of 4"):
        Project(series, provenance=[{"source": "auto"}])
    with pytest.raises(ValueError, match="must be one of"):
        Project(series, provenance=[{"source": "guess"}] * T)
    with pytest.raises(ValueError, match=r"tracks\['bladder'\]\['points'\] must be \(T=4,N,2\)"):
        Project(series, tracks={"bladder": {"points": np.zeros((T, 5)), "valid": np.ones((T, 5))}})
    with pytest.raises(ValueError, match=r"landmarks\['x'\] must be \(T,2\)"):
        Project(series, landmarks={"x": np.zeros((T, 3))})


def _old_file(tmp_path):
    path = tmp_path / "case.pvt"
    old = make_project()
    save_project(old, path)
    return path, old, path.read_bytes()


def _changed(project: Project) -> Project:
    project.settings["note"] = "new version"
    project.labels[:] = 0
    return project


def test_crash_mid_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path, old, old_bytes = _old_file(tmp_path)
    monkeypatch.setattr(core.atomic, "WRITE_CHUNK", 1000)
    real = core.atomic.write_chunk
    seen = {"n": 0}

    def crash(fh, chunk):
        if seen["n"] == 3:
            seen["tmp"] = fh.name
            seen["size"] = os.path.getsize(fh.name)
            raise RuntimeError("simulated crash")  # the process "dies" mid-write
        real(fh, chunk)
        fh.flush()
        seen["n"] += 1

    monkeypatch.setattr(core.atomic, "write_chunk", crash)
    with pytest.raises(ProjectError, match="could not save: simulated crash") as info:
        save_project(_changed(make_project()), path)
    assert info.value.path == str(path)
    assert os.path.basename(seen["tmp"]).startswith(".case.pvt.tmp-")
    assert seen["size"] == 3000  # part of the temp file was on disk ...
    assert path.read_bytes() == old_bytes  # ... yet the old file is intact
    assert_projects_equal(old, load_project(path))
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]  # and no temp file is left


def test_error_while_building_the_file_keeps_old_file(tmp_path, monkeypatch):
    path, old, old_bytes = _old_file(tmp_path)
    real = project_file._write_tracks

    def crash(f, project):
        real(f, project)
        raise RuntimeError("simulated failure in the HDF5 writer")

    monkeypatch.setattr(project_file, "_write_tracks", crash)
    with pytest.raises(ProjectError, match="could not save: simulated failure"):
        save_project(_changed(make_project()), path)
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]


def test_disk_full_gives_project_error_and_keeps_old_file(tmp_path, monkeypatch):
    path, old, old_bytes = _old_file(tmp_path)
    monkeypatch.setattr(core.atomic, "WRITE_CHUNK", 4096)
    real = core.atomic.write_chunk
    calls = []

    def full(fh, chunk):
        calls.append(len(chunk))
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fh, chunk)

    monkeypatch.setattr(core.atomic, "write_chunk", full)
    with pytest.raises(ProjectError, match="could not save: No space left on device"):
        save_project(_changed(make_project()), path)
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]


_FSIZE_SCRIPT = """
import resource, signal, sys
import numpy as np
from core.errors import ProjectError
from core.project import Project, save_project
from core.series import CineSeries
path, limit = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
frames = np.random.default_rng(0).random((4, 128, 128)).astype(np.float32)
try:
    save_project(Project(CineSeries(frames, (1, 1), [0, 1, 2, 3])), path)
except ProjectError as exc:
    print("ProjectError:", exc.reason)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX resource limits")
def test_real_write_failure_file_size_limit(tmp_path):
    """A real OS write error (file size limit, like a full disk) in a child process."""
    path, old, old_bytes = _old_file(tmp_path)
    res = subprocess.run(
        [sys.executable, "-c", _FSIZE_SCRIPT, str(path), str(len(old_bytes) + 4096)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "ProjectError: could not save: File too large" in res.stdout
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]


def test_failure_at_replace_keeps_old_file(tmp_path, monkeypatch):
    path, old, old_bytes = _old_file(tmp_path)

    def no_replace(src, dst):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(ProjectError, match="could not save: Permission denied"):
        save_project(_changed(make_project()), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["case.pvt"]


def test_save_refuses_foreign_target_and_missing_folder(tmp_path):
    foreign = tmp_path / "scan.nii.gz"
    foreign.write_bytes(b"precious data")
    with pytest.raises(ProjectError, match="refusing to overwrite"):
        save_project(make_project(), foreign)
    assert foreign.read_bytes() == b"precious data"
    with pytest.raises(ProjectError, match="does not exist"):
        save_project(make_project(), tmp_path / "nope" / "a.pvt")


@pytest.mark.parametrize("kind", ["random", "truncated", "missing_group", "foreign_hdf5"])
def test_damaged_files_raise_project_error_naming_the_file(tmp_path, kind):
    path = tmp_path / "bad.pvt"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        save_project(make_project(), path)
        if kind == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif kind == "missing_group":
            with h5py.File(path, "a") as f:
                del f["series"]
        else:
            with h5py.File(path, "a") as f:
                f.attrs["format"] = "something-else"
    with pytest.raises(ProjectError, match="damaged project file") as info:
        load_project(path)
    assert "bad.pvt" in str(info.value)


def test_newer_schema_asks_for_upgrade(tmp_path):
    path = save_project(make_project(), tmp_path / "new.pvt")
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION + 1)
    msg = r"made by a newer PelviTrack \(schema 2 > 1\); please upgrade"
    with pytest.raises(ProjectError, match=msg):
        load_project(path)
    with pytest.raises(ReaderError, match=msg):
        read_series(path)


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "absent.pvt")


def test_read_series_on_a_project_returns_its_series(tmp_path):
    project = make_project()
    path = save_project(project, tmp_path / "any-name.h5")
    assert project_file.READER.name == "project"
    assert project_file.READER.can_read(path)
    series = read_series(path)
    np.testing.assert_array_equal(series.frames, project.series.frames)
    assert series.spacing_mm == project.series.spacing_mm
    np.testing.assert_array_equal(series.times_s, project.series.times_s)
    assert series.meta["source_path"] == str(path) and series.meta["format"] == "project"
    assert series.meta["subject_id"] == "S-001"
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    assert not project_file.READER.can_read(other)
    text = tmp_path / "t.pvt"
    text.write_text("hello")
    assert not project_file.READER.can_read(text)


def test_settings_that_are_not_json_give_project_error(tmp_path):
    project = make_project()
    project.settings["callback"] = object()
    with pytest.raises(ProjectError, match="settings cannot be stored as JSON"):
        save_project(project, tmp_path / "x.pvt")
    assert os.listdir(tmp_path) == []
    project.settings = {"np": np.float32(1.5), "arr": np.arange(3), "tuple": (1, 2)}
    back = load_project(save_project(project, tmp_path / "x.pvt"))
    assert back.settings == {"np": 1.5, "arr": [0, 1, 2], "tuple": [1, 2]}
