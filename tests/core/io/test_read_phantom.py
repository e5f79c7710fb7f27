"""A phantom DICOM series with shuffled file names reads back in time order."""

from __future__ import annotations

import numpy as np
import pytest

from core.io import read_series
from core.series import CineSeries


def _quantum(frames: np.ndarray) -> float:
    """Half a stored step of the uint16 rescale the DICOM writer uses."""
    lo = min(float(frames.min()), 0.0)
    return (float(frames.max()) - lo) / 65000 / 2 * 1.001 + 1e-6


def test_written_series_reads_back_with_spacing_times_and_frames(tmp_path):
    dicom_write = pytest.importorskip("core.io.dicom_write")
    if not hasattr(dicom_write, "write_dicom_series"):
        pytest.skip("core.io.dicom_write.write_dicom_series not there yet")
    rng = np.random.default_rng(5)
    frames = rng.random((7, 20, 14)).astype(np.float32) * 900 + np.arange(7)[:, None, None]
    times = np.cumsum([0.0, 1.3, 1.1, 1.7, 0.9, 1.25, 1.5])
    series = CineSeries(frames=frames, spacing_mm=(0.8, 1.25), times_s=times,
                        meta={"subject_id": "phantom-0005"})
    paths = dicom_write.write_dicom_series(series, tmp_path / "dicom", shuffle_names=True,
                                           seed=5, patient_id="PH5")
    assert all(p.suffix == "" for p in paths)
    s = read_series(tmp_path / "dicom")
    assert s.shape == (20, 14) and s.n_frames == 7
    assert s.spacing_mm == pytest.approx((0.8, 1.25), rel=1e-9)
    np.testing.assert_allclose(s.times_s, times, atol=1e-6)
    np.testing.assert_allclose(s.frames, frames, atol=_quantum(frames))
    assert s.meta["orientation"] == "sagittal (canonical)" and s.meta["orientation_ops"] == []
    assert s.meta["patient_id"] == "PH5" and s.subject.startswith("subj-")
    assert s.warnings == []


def test_phantom_case_folder_reads_back(tmp_path):
    phantom = pytest.importorskip("core.phantom")
    if not (hasattr(phantom, "generate_case") and hasattr(phantom, "write_case")):
        pytest.skip("core.phantom.generate_case / write_case not there yet")
    case = phantom.generate_case(7, shape=(48, 48), n_frames=5)
    folder = phantom.write_case(case, tmp_path, shuffle_names=True)
    truth = case.series
    s = read_series(folder)  # the case folder: DICOM in a sub-folder, truth.h5 skipped
    assert s.n_frames == truth.n_frames == 5
    assert s.spacing_mm == pytest.approx(truth.spacing_mm, rel=1e-9)
    np.testing.assert_allclose(s.times_s, truth.times_s, atol=1e-6)
    np.testing.assert_allclose(s.frames, truth.frames, atol=_quantum(truth.frames))
