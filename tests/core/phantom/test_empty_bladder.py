"""The opt-in nearly empty bladder: a thin disc above the neck, far smaller than a full one."""

import numpy as np
import pytest
from scipy import ndimage

from core.phantom import generate_case

KW = dict(shape=(160, 160), n_frames=3)


@pytest.fixture(scope="module", params=[3, 12])
def pair(request):
    seed = request.param
    return generate_case(seed, **KW), generate_case(seed, empty_bladder=True, **KW)


def test_the_bladder_is_small_thin_and_whole(pair):
    full, empty = pair
    assert empty.params["empty_bladder"] is True and full.params["empty_bladder"] is False
    px_mm2 = float(np.prod(empty.series.spacing_mm))
    for lf, le in zip(full.labels, empty.labels, strict=True):
        area = (le == 1).sum() * px_mm2
        assert 0 < area < 600  # a full bladder holds thousands of mm² in this slice
        assert area < 0.8 * (lf == 1).sum() * px_mm2
        assert ndimage.label(le == 1)[1] == 1  # one piece
        # Thin: half-thickness drawn at most 8 mm; lobes and one pixel of EDT add a little.
        half = ndimage.distance_transform_edt(le == 1).max() * min(empty.series.spacing_mm)
        assert half <= 10.5
        for k in (2, 3):  # uterus/vagina and rectum still there, each in one piece
            assert ndimage.label(le == k)[1] == 1


def test_the_bladder_sits_behind_the_symphysis(pair):
    full, empty = pair
    # Its centroid stays near where the full bladder's base (neck side) was: within the
    # lower part of the full bladder's extent, not up in the abdomen.
    rows_full = np.nonzero(full.labels[0] == 1)[0]
    rows_empty = np.nonzero(empty.labels[0] == 1)[0]
    assert rows_empty.mean() > rows_full.min()
    assert rows_empty.max() <= rows_full.max() + 10


def test_drawn_from_its_own_stream():
    # Only the bladder changes: the images away from it are drawn from the same stream.
    a = generate_case(5, **KW)
    b = generate_case(5, empty_bladder=True, **KW)
    assert a.params["shape"] == b.params["shape"]
    assert a.params["spacing_mm"] == b.params["spacing_mm"]
    assert a.params["contrast"] == b.params["contrast"]
    assert not np.array_equal(a.labels == 1, b.labels == 1)
