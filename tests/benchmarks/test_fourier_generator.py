"""benchmarks/fourier_generator.py: cases are written, read back and labelled sensibly."""

import json

import numpy as np
import pytest
from scipy import ndimage

from core.io import read_series

SEED = 2  # a short T2 case (15 frames)
T1_SEED = 3  # a T1-weighted gradient-echo case


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("fourier_generator")


@pytest.fixture(scope="module")
def case(script):
    return script.generate(SEED)


def test_case_written_and_read_back(script, case, tmp_path):
    assert script.main(["--seeds", str(SEED), "--out", str(tmp_path)]) == 0
    folder = tmp_path / f"fourier_{SEED:03d}"
    series = read_series(folder / "series.dcm")
    labels = np.load(folder / "truth.npy")
    params = json.loads((folder / "params.json").read_text())
    assert labels.dtype == np.uint8
    assert labels.shape == series.frames.shape
    n, h, w = labels.shape
    assert 12 <= n <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert params["shape"] == [n, h, w]
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert np.allclose(series.spacing_mm, params["spacing_mm"])
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    for t in range(n):
        for k in (1, 2, 3):
            _, pieces = ndimage.label(labels[t] == k)
            assert pieces == 1, (t, k)
        cols = [np.nonzero(labels[t] == k)[1].mean() for k in (1, 3)]
        assert cols[0] < cols[1]
    frames, again, spacing, _ = case
    assert np.array_equal(again, labels)
    assert np.allclose(frames, series.frames, rtol=1e-6, atol=1e-3)
    assert np.allclose(spacing, series.spacing_mm)


def test_contrast_and_motion(script, case):
    frames, labels, spacing, params = case
    t1_frames, t1_labels, _, t1_params = script.generate(T1_SEED)
    assert params["sequence"] != t1_params["sequence"] == "t1_gre"

    def urine(f, lab):  # bladder signal relative to the image median, first frame
        return np.median(f[0][lab[0] == 1]) / np.median(f[0])

    assert urine(t1_frames, t1_labels) < 0.7 * urine(frames, labels)
    lowest = [np.nonzero(labels[t] == 1)[0].max() * spacing[0] for t in range(len(labels))]
    assert max(lowest) - min(lowest) > 5.0
