import numpy as np
import pytest

from core.series import CineSeries


def _series(**kw):
    args = dict(frames=np.zeros((3, 4, 5)), spacing_mm=(1.2, 1.3), times_s=[1.0, 2.0, 3.5])
    args.update(kw)
    return CineSeries(**args)


def test_series_normalises_types_and_times():
    s = _series()
    assert s.frames.dtype == np.float32
    assert s.shape == (4, 5) and s.n_frames == 3
    np.testing.assert_allclose(s.times_s, [0.0, 1.0, 2.5])
    assert s.frame_interval_s == pytest.approx(1.25)
    assert s.meta["warnings"] == [] and s.meta["orientation"] == "unknown"


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(frames=np.zeros((4, 5))), r"expected \(T,H,W\) frames, got shape \(4, 5\)"),
        (dict(frames=np.zeros((1, 4, 5)), times_s=[0.0]), "at least 2 frames"),
        (dict(spacing_mm=(0.0, 1.0)), "spacing_mm"),
        (dict(times_s=[0.0, 2.0, 1.0]), "strictly increasing"),
        (dict(times_s=[0.0, 1.0]), "expected 3 frame times"),
    ],
)
def test_series_rejects_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg):
        _series(**kw)


def test_pixel_to_mm_uses_column_for_x():
    s = _series()
    x, y = s.pixel_to_mm(np.array([2.0]), np.array([3.0]))
    assert x[0] == pytest.approx(3 * 1.3) and y[0] == pytest.approx(2 * 1.2)
