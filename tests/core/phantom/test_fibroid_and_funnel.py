"""The opt-in fibroid uterus (larger, lumpy, dark bulges) and bladder-neck funnel (the
bladder lifted off a neck that stays put)."""

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case

KW = dict(shape=(160, 160), n_frames=2)
SEEDS = (0, 4, 5)


def _pair(seed, key):
    return generate_case(seed, **KW), generate_case(seed, **{key: True}, **KW)


def _pieces(labels):
    return [ndimage.label(labels == k)[1] for k in (1, 2, 3)]


@pytest.mark.parametrize("seed", SEEDS)
def test_fibroids_enlarge_the_uterus_with_dark_bulges(seed):
    plain, fib = _pair(seed, "fibroid_uterus")
    assert fib.params["fibroid_uterus"] is True
    fibroids = fib.params["anatomy"]["uterus_body"]["fibroids"]
    assert 1 <= len(fibroids) <= 3
    assert all(5.0 <= f["radii"][0] <= 20.0 and f["radii"][1] <= f["radii"][0]
               for f in fibroids)
    for lp, lf, frame in zip(plain.labels, fib.labels, fib.series.frames, strict=True):
        assert (lf == 2).sum() > (lp == 2).sum()
        assert _pieces(lf) == [1, 1, 1]
        # What the fibroids add to the uterus is darker than urine (T2 and bSSFP).
        added = (lf == 2) & (lp != 2)
        assert added.sum() > 20
        assert frame[added].mean() < frame[lf == 1].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_funnel_lifts_the_bladder_off_a_neck_that_stays(seed):
    plain, fun = _pair(seed, "neck_funnel")
    length = fun.params["anatomy"]["bladder"]["funnel_mm"]
    assert 6.0 <= length <= 20.0
    row_mm = fun.series.spacing_mm[0]
    for lp, lf in zip(plain.labels, fun.labels, strict=True):
        rows_p, rows_f = np.nonzero(lp == 1)[0], np.nonzero(lf == 1)[0]
        # The bulk rises (image rows grow inferiorly) by a good part of the funnel ...
        assert (rows_p.mean() - rows_f.mean()) * row_mm >= 0.25 * length
        # ... while the lowest point, at the neck, stays within a few pixels.
        assert abs(int(rows_p.max()) - int(rows_f.max())) <= 3
        assert _pieces(lf) == [1, 1, 1]


@pytest.mark.parametrize("key", ["fibroid_uterus", "neck_funnel"])
def test_drawn_from_its_own_stream(key):
    plain, opt = _pair(5, key)
    for name in ("shape", "spacing_mm", "contrast", "snr"):
        assert plain.params[name] == opt.params[name]
