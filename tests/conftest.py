"""Shared test configuration."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    """A test hung in C (the GIL held) ends the run with its stacks (tests/hard_timeout.py)."""
    import hard_timeout

    if not config.pluginmanager.is_registered(hard_timeout):
        config.pluginmanager.register(hard_timeout, "pelvitrack_hard_timeout")

# Exported ONNX graphs (core.segment.onnx_backend) go to a folder of this test session,
# never to the user's ~/.cache; shared by all tests of the session, like a real cache.
# The folder is removed when the test session ends.
if "PELVITRACK_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["PELVITRACK_CACHE"] = tempfile.mkdtemp(prefix="pelvitrack-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PELVITRACK_CACHE"], ignore_errors=True)


def _write_labelled_case(folder, frames, labels, spacing=(1.2, 1.3)):
    """A labelled case folder as training reads it: series.nii.gz (canonical frames,
    diag(spacing) affine, 0.5 s apart) and truth.npy."""
    import nibabel as nib
    import numpy as np

    folder.mkdir(parents=True)
    img = nib.Nifti1Image(np.ascontiguousarray(frames.transpose(2, 1, 0)).astype(np.float32),
                          np.diag([spacing[1], spacing[0], 1.0, 1.0]))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 0.5
    nib.save(img, folder / "series.nii.gz")
    np.save(folder / "truth.npy", labels)
    return folder



@pytest.fixture(scope="session")
def write_labelled_case():
    """``write_labelled_case(folder, frames, labels, spacing=(row, col))``."""
    return _write_labelled_case
