"""Opt-in phantom options for a bladder that is hard to see: ``absent_bladder`` (a labelled
speck painted as fat) and ``iso_urine`` (urine as grey as the myometrium)."""

import numpy as np
import pytest
from phantom_helpers import SMALL, areas_mm2, in_one_piece, pair_fixture

from core.phantom import generate_case
from core.phantom.case import build_model
from core.phantom.tissues import FAT, MYOMETRIUM, URINE

KW = SMALL


pair = pair_fixture("absent_bladder", [3, 12])


def test_the_bladder_is_a_speck_above_its_neck(pair):
    full, absent = pair
    speck = areas_mm2(absent, 1)
    assert (speck > 0).all() and (speck < 150).all()
    assert (speck < 0.1 * areas_mm2(full, 1)).all()  # a drawn bladder holds far more
    for la in absent.labels:
        assert in_one_piece(la == 1)
        for k in (2, 3):  # uterus/vagina and rectum still there, each in one piece
            assert in_one_piece(la == k)
    # Where the full bladder's base was: in the lower part of its extent.
    rows_full = np.nonzero(full.labels[0] == 1)[0]
    rows_absent = np.nonzero(absent.labels[0] == 1)[0]
    assert rows_full.min() < rows_absent.mean() <= rows_full.max() + 10


@pytest.mark.parametrize("seed", [3, 12])
def test_nothing_to_see_where_it_is_labelled(seed):
    # The signal painted inside the bladder's level set is the fat's level (its texture
    # aside), where the drawn bladder of the same seed holds urine.
    for absent, level in ((True, FAT), (False, URINE)):
        model, _ = build_model(seed, absent_bladder=absent, shape=(160, 160), n_frames=3)
        table = np.asarray(model.params["contrast_table"])
        signal, bladder = model.soft_stack[0], model.soft_stack[1]
        inside = signal[bladder < -0.5]
        assert inside.size > 0
        assert 0.8 < np.median(inside) / table[level] < 1.25


@pytest.mark.parametrize("contrast", ["t2", "bssfp", "t1"])
def test_iso_urine_changes_only_the_urine_level(contrast):
    kw = dict(shape=(96, 96), n_frames=2, contrast=contrast)
    a = generate_case(5, **kw)
    b = generate_case(5, iso_urine=True, **kw)
    ta, tb = np.asarray(a.params["contrast_table"]), np.asarray(b.params["contrast_table"])
    changed = np.nonzero(ta != tb)[0]
    assert list(changed) == [URINE]
    assert 0.7 * tb[MYOMETRIUM] - 1e-9 <= tb[URINE] <= 1.3 * tb[MYOMETRIUM] + 1e-9
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.series.frames, b.series.frames)


def test_drawn_from_their_own_streams():
    kw = dict(shape=(96, 96), n_frames=2)
    a = generate_case(9, **kw)
    b = generate_case(9, absent_bladder=True, iso_urine=True, **kw)
    for key in ("shape", "spacing_mm", "contrast", "snr", "n_frames"):
        assert a.params[key] == b.params[key]


def test_the_speck_outlasts_coarse_pixels():
    # At 2.5 mm pixels a speck of 1 mm would be smoothed away; it is drawn at least 1.5
    # output pixels wide, and a layout that loses it anyway is drawn again.
    for seed in range(8):
        case = generate_case(seed, absent_bladder=True, shape=(96, 96), n_frames=2)
        assert all((lab == 1).any() for lab in case.labels)
