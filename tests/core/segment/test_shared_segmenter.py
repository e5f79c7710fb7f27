"""The shared Segmenter is reused for the same model file and rebuilt when it changes."""

import os
import shutil

import pytest

from core.errors import ModelError
from core.segment.infer import shared_segmenter
from core.segment.model_io import default_model_path, model_paths


def test_reused_for_same_file_and_device_and_rebuilt_when_file_changes(tmp_path):
    weights, config = model_paths(default_model_path())
    if not weights.exists():
        pytest.skip("no shipped model")
    for src in (weights, config):
        shutil.copyfile(src, tmp_path / src.name)
    stem = tmp_path / "default"
    a = shared_segmenter(stem, device="cpu")
    assert shared_segmenter(stem, device="auto" if a.device.type == "cpu" else "cpu") is not None
    assert shared_segmenter(stem, device="cpu") is a
    assert shared_segmenter(stem, device="cpu", touch_mm=0.0) is not a  # another option
    a = shared_segmenter(stem, device="cpu")
    st = (tmp_path / weights.name).stat()
    os.utime(tmp_path / weights.name, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert shared_segmenter(stem, device="cpu") is not a


def test_missing_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError):
        shared_segmenter(tmp_path / "nothing", device="cpu")
