"""core.batch: which series a batch analyses, and under which names."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from track.synthetic import ORGANS3, make_case

import core.batch
from core.batch import BatchItem, analyze_many, expand_inputs
from core.errors import Cancelled, ReaderError


def _nifti(path, shape):
    nib.save(nib.Nifti1Image(np.zeros(shape, np.float32), np.eye(4)), str(path))
    return path


def test_names_come_from_the_inputs_and_never_collide(tmp_path):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p2").mkdir()
    a = _nifti(tmp_path / "p1" / "cine.nii.gz", (8, 8, 4))
    b = _nifti(tmp_path / "p2" / "cine.nii.gz", (8, 8, 4))
    c = _nifti(tmp_path / "p2" / "Cine 2.nii", (8, 8, 4))
    # one name in two folders: the folder above tells them apart; the same input
    # twice gets a number
    items = expand_inputs([a, b, c, a])
    assert [i.name for i in items] == ["p1_cine", "p2_cine", "Cine_2", "p1_cine_2"]
    assert [i.source for i in items] == [a, b, c, a]
    d = _nifti(tmp_path / "p2" / "p1_cine.nii", (8, 8, 4))
    # a numbered or prefixed one never takes a name that another input has
    assert [i.name for i in expand_inputs([d, a, b, a])] == [
        "p1_cine", "p1_cine_2", "p2_cine", "p1_cine_3"]
    assert [i.name for i in expand_inputs([c, c])] == ["Cine_2", "Cine_2_2"]
    assert all(i.series_uid is None and i.slice_index is None for i in items)


def test_each_series_splits_a_multi_slice_cine_into_its_slices(tmp_path):
    multi = _nifti(tmp_path / "multi.nii.gz", (8, 8, 3, 5))     # (W, H, Z, T)
    single = _nifti(tmp_path / "single.nii.gz", (8, 8, 5))
    items = expand_inputs([multi, single], each_series=True)
    assert [(i.name, i.slice_index) for i in items] == [
        ("multi_slice0", 0), ("multi_slice1", 1), ("multi_slice2", 2), ("single", None)]
    assert expand_inputs([multi])[0].slice_index is None         # the reader then asks
    assert items[1].label == f"{multi}, slice 1"


def test_a_missing_input_is_an_error_before_anything_runs(tmp_path):
    with pytest.raises(ReaderError, match="gone.dcm: no such file or folder"):
        expand_inputs([_nifti(tmp_path / "x.nii", (4, 4, 3)), tmp_path / "gone.dcm"])


def test_a_batch_item_names_its_series(tmp_path):
    item = BatchItem(tmp_path, "study_s2", series_uid="1.2.3")
    assert item.label == f"{tmp_path}, series 1.2.3"


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Cancelled])
def test_a_stopped_batch_keeps_what_it_wrote_and_its_record(tmp_path, monkeypatch, stop):
    from core.pipeline import analyze

    case = make_case(shape=48, n_frames=4, spacing=2.0, seed=3)

    def steps(source, **_options):
        if source.name == "third":
            raise stop()
        if source.name == "second":
            raise ReaderError(source, "damaged")
        yield from analyze(case.series, labels=case.labels, organs=ORGANS3, n_points=16)

    monkeypatch.setattr(core.batch, "analysis_steps", steps)
    items = [BatchItem(tmp_path / n, n) for n in ("first", "second", "third", "fourth")]
    out = tmp_path / "out"
    seen = []
    with pytest.raises(stop):
        for p in analyze_many(items, out, overlay=False):
            seen.append((p.stage, p.done, p.total))
    assert ("item", 1, 4) in seen and ("item", 2, 4) in seen
    assert all(stage != "done" for stage, *_ in seen)
    assert (out / "first" / "analysis.pvt").is_file()
    assert not (out / "third").exists() and not (out / "fourth").exists()
    log = pd.read_csv(out / "batch.csv")
    assert list(log["name"]) == ["first", "second"]
    assert list(log["status"]) == ["done", "failed"]
    assert log["error"][1] == f"{tmp_path / 'second'}: damaged"
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["input"]) == {"first"} and list(summary["organ"]) == list(ORGANS3)
