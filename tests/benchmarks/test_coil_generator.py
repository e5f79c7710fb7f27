"""The multi-coil DICOM generator (benchmarks/coil_generator.py): one case end to end."""

import json

import numpy as np

from core.io import read_series
from core.segment.data import labelled_case_folders, read_labelled_case

SEED = 24  # 15 frames, stored upside down (flip_rows): the reader must undo it


def test_one_case_end_to_end(load_script, tmp_path):
    script = load_script("coil_generator")
    assert script.main(["--seeds", str(SEED), "--out", str(tmp_path)]) == 0
    folder = tmp_path / f"coil_{SEED:03d}"
    assert labelled_case_folders(tmp_path) == [folder]
    assert sorted(p.name for p in folder.iterdir()) == ["params.json", "series.dcm", "truth.npy"]
    params = json.loads((folder / "params.json").read_text())

    series = read_series(folder / "series.dcm")
    truth = np.load(folder / "truth.npy")
    assert truth.dtype == np.uint8
    assert series.frames.shape == truth.shape == tuple(params["shape"])
    t_n, h, w = truth.shape
    assert 15 <= t_n <= 40 and 224 <= h <= 288 and 224 <= w <= 288
    assert np.allclose(series.spacing_mm, params["spacing_mm"])
    assert all(1.1 <= s <= 1.5 for s in series.spacing_mm)
    assert np.all(np.diff(series.times_s) > 0)
    assert series.meta["orientation"] == "sagittal (canonical)"
    assert 0 < series.frames.max() <= 65535 and np.all(series.frames == np.rint(series.frames))
    _, labels = read_labelled_case(folder, 4)
    assert np.array_equal(labels, truth)

    assert set(np.unique(truth)) == {0, 1, 2, 3}
    from scipy import ndimage as ndi

    for t in range(t_n):
        for k in (1, 2, 3):  # every organ in every frame, one piece
            assert ndi.label(truth[t] == k)[1] == 1, (t, k)
        cols = [np.nonzero(truth[t] == k)[1].mean() for k in (1, 3)]
        assert cols[0] < cols[1]  # bladder anterior (left) of the rectum

    # deterministic: the generator gives exactly what was written
    frames, labels2, spacing, p2 = script.generate(SEED)
    assert np.array_equal(frames, series.frames)
    assert np.array_equal(labels2, truth)
    assert spacing == tuple(params["spacing_mm"]) and p2["snr"] == params["snr"]
