"""benchmarks/landmark_generator.py: one case end to end, read back through core.io."""

import json

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 23  # a short case (15 frames)


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("landmark_generator")


def test_case_written_and_read_back(script, tmp_path):
    assert script.main(["--seeds", str(SEED), "--out", str(tmp_path)]) == 0
    folder = tmp_path / f"landmark_{SEED:03d}"
    assert sorted(p.name for p in folder.iterdir()) == ["params.json", "series.nii",
                                                        "truth.npy"]
    series = read_series(folder / "series.nii")
    labels = np.load(folder / "truth.npy")
    params = json.loads((folder / "params.json").read_text())
    n, h, w = series.frames.shape
    assert labels.dtype == np.uint8 and labels.shape == (n, h, w)
    assert 15 <= n <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert params["shape"] == [n, h, w] and params["seed"] == SEED
    # spacing: in range, as recorded, and the voxel sizes of the uncompressed NIfTI
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert series.spacing_mm == pytest.approx(params["spacing_mm"], abs=1e-4)
    assert sorted(nib.load(folder / "series.nii").header.get_zooms()[:2]) == \
        pytest.approx(sorted(series.spacing_mm), abs=1e-4)
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    cols = np.arange(w)
    for frame in labels:
        for k in (1, 2, 3):  # every organ in every frame, one piece each
            assert ndimage.label(frame == k)[1] == 1
        bladder = (frame == 1).sum(0) @ cols / (frame == 1).sum()
        rectum = (frame == 3).sum(0) @ cols / (frame == 3).sum()
        assert bladder < rectum  # anterior is left after canonical reading
    # generate() again: the same frames (as stored) and labels, in read_series order
    frames2, labels2, spacing2, params2 = script.generate(SEED)
    np.testing.assert_array_equal(frames2, series.frames)
    np.testing.assert_array_equal(labels2, labels)
    assert spacing2 == pytest.approx(series.spacing_mm, abs=1e-4)
    assert params2["pathologies"] == params["pathologies"]


