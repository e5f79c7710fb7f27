"""The opt-in pelvis after hysterectomy: uterus and cervix gone, the vagina alone to its vault."""

import numpy as np
import pytest
from phantom_helpers import SMALL, in_one_piece, pair_fixture
from scipy import ndimage

KW = SMALL


pair = pair_fixture("hysterectomy", [4, 11])


def test_label_two_is_the_vagina_alone(pair):
    whole, after = pair
    for lw, la in zip(whole.labels, after.labels, strict=True):
        area_w, area_a = (lw == 2).sum(), (la == 2).sum()
        assert 0 < area_a < 0.6 * area_w
        assert in_one_piece(la == 2)  # one piece
        # No uterine body: the organ is a tube, far thinner than the body was.
        thick_w = ndimage.distance_transform_edt(lw == 2).max()
        thick_a = ndimage.distance_transform_edt(la == 2).max()
        assert thick_a < 0.75 * thick_w
        # The vault sits below where the fundus was.
        assert np.nonzero(la == 2)[0].min() > np.nonzero(lw == 2)[0].min() + 5
        for k in (1, 3):  # bladder and rectum are still there, each in one piece
            assert in_one_piece(la == k)


def test_bowel_loops_take_the_space_above_the_vault(pair):
    whole, after = pair
    assert "vault_loops" not in whole.params["anatomy"]
    loops = after.params["anatomy"]["vault_loops"]
    assert 1 <= len(loops) <= 3
    ub = after.params["anatomy"]["uterus_body"]
    centre, (ra, rb), ang = np.asarray(ub["centre"]), ub["radii"], ub["angle"]
    rot = np.array([[np.cos(ang), np.sin(ang)], [-np.sin(ang), np.cos(ang)]])
    for lp in loops:
        assert 8.0 <= lp["radii"][0] <= 18.0 and lp["radii"][1] <= lp["radii"][0]
        # Centred where the uterine body would have been.
        x, y = rot @ (np.asarray(lp["centre"]) - centre)
        assert (x / ra) ** 2 + (y / rb) ** 2 <= 0.7 + 1e-9


def _painted(seed, loops):
    from core.phantom import layout, opt_in
    from core.phantom.grid import Canvas
    from core.phantom.paint import paint

    lay = layout.draw_layout(np.random.default_rng(seed))
    lay["hysterectomy"] = True
    if loops:
        opt_in.vault_loops(lay, np.random.default_rng([seed, 0xF3]))
    canvas = Canvas.build((240.0, 240.0), 1.0, 40.0, (80.0, 150.0), 0.0)
    return lay, canvas, paint(canvas, lay, np.random.default_rng(seed + 1))


@pytest.mark.parametrize("seed", [4, 21, 33])
def test_vault_loops_change_the_tissue_not_the_labels(seed):
    from core.phantom import tissues as T
    from core.phantom.shapes import blob_sdf

    _, _, bare = _painted(seed, loops=False)
    lay, canvas, looped = _painted(seed, loops=True)
    np.testing.assert_array_equal(looped.organs, bare.organs)  # truth unchanged
    np.testing.assert_array_equal(looped.rigid, bare.rigid)
    changed = looped.soft != bare.soft
    assert changed.sum() > 50
    inside_any = np.zeros(canvas.shape, bool)
    for lp in lay["vault_loops"]:
        inside_any |= blob_sdf(canvas.X, canvas.Y, lp["centre"], lp["radii"], lp["angle"]) < 0
    assert not (changed & ~inside_any).any()  # nothing outside the loops
    assert not (changed & (bare.organs.min(0) <= 1.0)).any()  # never over an organ
    bowel = (T.MIXED, T.BOWEL_WALL, T.STOOL, T.FLUID, T.GAS)
    assert np.isin(looped.soft[changed], bowel).all()
