"""The opt-in nearly empty bladder: a thin disc above the neck, far smaller than a full one."""

import numpy as np
from phantom_helpers import SMALL, areas_mm2, in_one_piece, pair_fixture
from scipy import ndimage

from core.phantom import generate_case

KW = SMALL


pair = pair_fixture("empty_bladder", [3, 12])


def test_the_bladder_is_small_thin_and_whole(pair):
    full, empty = pair
    area = areas_mm2(empty, 1)
    assert (area > 0).all() and (area < 600).all()  # a full one holds thousands of mm²
    assert (area < 0.8 * areas_mm2(full, 1)).all()
    for le in empty.labels:
        assert in_one_piece(le == 1)  # one piece
        # Thin: half-thickness drawn at most 8 mm; lobes and one pixel of EDT add a little.
        half = ndimage.distance_transform_edt(le == 1).max() * min(empty.series.spacing_mm)
        assert half <= 10.5
        for k in (2, 3):  # uterus/vagina and rectum still there, each in one piece
            assert in_one_piece(le == k)


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
