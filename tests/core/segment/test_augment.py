import numpy as np
import pytest
import torch

from core.segment.augment import (
    AugmentConfig,
    add_ghosts,
    augment_batch,
    augment_intensity,
    paste_decoys,
    paste_organ_copies,
    swell_organs,
    vary_organs,
)
from core.segment.preprocess import signed_distance


def _labels(n=4, size=64):
    yy, xx = np.mgrid[0:size, 0:size]
    lab = np.zeros((n, size, size), np.int64)
    for k in range(n):
        lab[k][(yy - 24) ** 2 + (xx - 22 - k) ** 2 < 100] = 1
        lab[k][(abs(yy - 40) < 6) & (abs(xx - 44) < 9)] = 2
        lab[k][(yy - 46) ** 2 / 30 + (xx - 20) ** 2 / 60 < 1] = 3
    return torch.from_numpy(lab)


def _sdf(lab, spacing=1.0):
    return torch.from_numpy(np.stack([signed_distance(f, 4, spacing) for f in lab.numpy()]))


def test_identity_config_changes_nothing():
    lab = _labels()
    img = lab[:, None].float()
    cfg = AugmentConfig(rotation_deg=0, scale=(1, 1), shear=0, translate=0, p_elastic=0)
    g = torch.Generator().manual_seed(0)
    out, olab, osdf = augment_batch(img, lab, _sdf(lab), cfg, g, intensity=False)
    assert torch.equal(olab, lab)
    assert torch.allclose(out, img, atol=1e-5)  # no flips or shifts
    assert torch.allclose(osdf, _sdf(lab), atol=1e-4)


def test_image_equal_to_labels_stays_aligned():
    lab = _labels()
    g = torch.Generator().manual_seed(1)
    out, olab, _ = augment_batch(lab[:, None].float(), lab, None, AugmentConfig(), g,
                                 intensity=False)
    agree = (out[:, 0].round().long() == olab).float().mean()
    assert agree > 0.97, float(agree)
    assert not torch.equal(olab, lab)  # something did move
    assert set(olab.unique().tolist()) <= {0, 1, 2, 3}


def test_warped_sdf_matches_exact_sdf_of_warped_labels():
    lab = _labels(n=3)
    cfg = AugmentConfig(rotation_deg=10, scale=(0.8, 1.25), shear=0.0, translate=0.05,
                        p_elastic=0)
    g = torch.Generator().manual_seed(2)
    _, olab, osdf = augment_batch(lab[:, None].float(), lab, _sdf(lab), cfg, g, intensity=False)
    exact = _sdf(olab)
    for c in (1, 2, 3):
        near = exact[:, c].abs() < 8  # near the contours (far values see the canvas border)
        err = (osdf[:, c] - exact[:, c]).abs()[near]
        assert float(err.mean()) < 0.6, (c, float(err.mean()))
        sign_ok = (torch.sign(osdf[:, c]) == torch.sign(exact[:, c]))[near].float().mean()
        assert sign_ok > 0.97


def test_reproducible_and_normalised():
    lab = _labels()
    img = 100 + 50 * lab[:, None].float() + torch.randn(4, 1, 64, 64)
    img = (img - 100) / 150
    a = augment_batch(img, lab, None, None, torch.Generator().manual_seed(5))
    b = augment_batch(img, lab, None, None, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    x = augment_intensity(img, AugmentConfig(), torch.Generator().manual_seed(6))
    assert torch.isfinite(x).all() and x.shape == img.shape
    q = torch.quantile(x.flatten(1), torch.tensor([0.01, 0.99]), dim=1)
    assert torch.allclose(q[0], torch.zeros(4), atol=0.02)
    assert torch.allclose(q[1], torch.ones(4), atol=0.02)
    # never inverts: organ 3 (brightest before) stays brighter than background on average
    for k in range(4):
        assert x[k, 0][lab[k] == 3].mean() > x[k, 0][lab[k] == 0].mean()


def test_band_gain_draws_dark_curved_bands_only_when_asked():
    from core.segment.augment import band_gain

    cfg = AugmentConfig(p_band=1.0, band_depth=(0.8, 0.8), band_cycles=3.0)
    gain = band_gain(torch.Generator().manual_seed(3), 16, (64, 64), cfg, torch.device("cpu"))
    assert gain.shape == (16, 1, 64, 64)
    assert float(gain.min()) >= 0.2 - 1e-6 and float(gain.max()) <= 1.0
    banded = gain.flatten(1).amin(1) < 0.3  # the band centre reached: gain near 1 - depth
    assert int(banded.sum()) >= 10  # a weak field can miss the band phase
    for k in torch.nonzero(banded).flatten().tolist():
        dark = gain[k, 0] < 0.5
        # a band is a line, not a blotch: it covers part of the image, most stays bright
        assert 0 < float(dark.float().mean()) < 0.5
        assert float((gain[k, 0] > 0.9).float().mean()) > 0.3
    off = band_gain(torch.Generator().manual_seed(3), 16, (64, 64),
                    AugmentConfig(p_band=0.0), torch.device("cpu"))
    assert torch.equal(off, torch.ones_like(off))


@pytest.mark.parametrize("option", ["p_band", "p_lut"])
def test_default_intensity_augmentation_unchanged_by_the_optional_ones(option):
    # 0 (the default) draws nothing more: saved recipes train exactly as before
    img = torch.rand(4, 1, 32, 32)
    a = augment_intensity(img, AugmentConfig(), torch.Generator().manual_seed(8))
    b = augment_intensity(img, AugmentConfig(**{option: 1e-9}),
                          torch.Generator().manual_seed(8))
    c = augment_intensity(img, AugmentConfig(**{option: 0.0}), torch.Generator().manual_seed(8))
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_random_curves_reorder_the_tissues():
    lab = _labels(n=16)
    img = (lab[:, None].float() + 1) / 4  # background darkest, organ 3 brightest
    cfg = AugmentConfig(p_lut=1.0, p_bias=0, p_noise=0, p_blur=0, p_lowres=0,
                        contrast=(1, 1))
    x = augment_intensity(img, cfg, torch.Generator().manual_seed(9))
    means = torch.stack([torch.stack([x[k, 0][lab[k] == c].mean() for c in range(4)])
                         for k in range(16)])
    monotone = (means.diff(dim=1) > 0).all(dim=1)
    assert int((~monotone).sum()) >= 8  # most samples no longer keep the order
    assert torch.isfinite(x).all()
    # each class keeps one value (a curve of intensity, not noise): tissues stay separable
    for k in range(16):
        for c in range(4):
            assert float(x[k, 0][lab[k] == c].std()) < 1e-3


def _decoy_case(n=8, size=64):
    lab = _labels(n=n, size=size)
    level = torch.tensor([0.1, 0.9, 0.5, 0.3])  # background, then organs 1..3
    return level[lab][:, None].clone(), lab


def test_decoys_off_by_default_draw_nothing():
    img, lab = _decoy_case()
    g = torch.Generator().manual_seed(4)
    out = paste_decoys(img, lab, AugmentConfig(), g)
    assert out is img
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())
    # so augment_batch gives exactly what it gave before decoys existed
    a = augment_batch(img, lab, None, AugmentConfig(), torch.Generator().manual_seed(5))
    b = augment_batch(img, lab, None, AugmentConfig(p_decoy=0.0),
                      torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a[:2], b[:2], strict=True))


def test_decoys_are_organ_bright_and_stay_clear_of_the_organs():
    img, lab = _decoy_case(n=16)
    cfg = AugmentConfig(p_decoy=1.0, decoy_size=(0.1, 0.2), decoy_margin=3)
    out = paste_decoys(img, lab, cfg, torch.Generator().manual_seed(6))
    organ = (lab > 0).float()[:, None]
    near = torch.nn.functional.max_pool2d(organ, 7, stride=1, padding=3)[:, 0] > 0
    changed = (out - img).abs()[:, 0] > 1e-6
    assert not (changed & near).any()  # organs and a 3-pixel rim are untouched
    assert int(changed.any(dim=(1, 2)).sum()) >= 12  # most samples got a decoy
    # blends of the background (0.1) and one organ's level x 0.8-1.2, nothing beyond
    assert float(out[changed[:, None]].min()) >= 0.1 - 1e-6
    assert float(out[changed[:, None]].max()) <= 1.2 * 0.9 + 1e-6
    full = 0  # samples where a decoy's inside reaches an organ's brightness
    for k in range(16):
        if changed[k].any():
            v = float(out[k, 0][changed[k]].max())
            full += any(0.8 * lv - 1e-4 <= v <= 1.2 * lv + 1e-4 for lv in (0.9, 0.5, 0.3))
    assert full >= 8


PASTERS = [("p_decoy", paste_decoys), ("p_copy", paste_organ_copies)]


@pytest.mark.parametrize("key", [key for key, _ in PASTERS])
def test_decoys_and_copies_leave_labels_and_distances_unchanged(key):
    img, lab = _decoy_case()
    sdf = _sdf(lab)
    a = augment_batch(img, lab, sdf, AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_batch(img, lab, sdf, AugmentConfig(**{key: 1.0}),
                      torch.Generator().manual_seed(7))
    assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    assert not torch.equal(a[0], b[0])


@pytest.mark.parametrize(("key", "paste"), PASTERS)
def test_no_organ_no_decoy_and_no_copy(key, paste):
    img = torch.full((3, 1, 32, 32), 0.2)
    lab = torch.zeros(3, 32, 32, dtype=torch.long)
    out = paste(img, lab, AugmentConfig(**{key: 1.0}), torch.Generator().manual_seed(1))
    assert torch.equal(out, img)


def _textured_organ(n=12, size=96):
    """One square organ (label 1, 16 x 16) whose pixels alternate 0.6 / 0.9 in stripes."""
    lab = torch.zeros(n, size, size, dtype=torch.long)
    lab[:, 40:56, 40:56] = 1
    img = torch.full((n, 1, size, size), 0.1)
    stripes = torch.tensor([0.6, 0.9])[torch.arange(16) // 2 % 2]
    img[:, 0, 40:56, 40:56] = stripes[:, None]
    return img, lab


def test_organ_copies_off_by_default_draw_nothing():
    img, lab = _textured_organ()
    g = torch.Generator().manual_seed(4)
    assert paste_organ_copies(img, lab, AugmentConfig(), g) is img
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())


def test_organ_copies_carry_the_organs_texture_and_stay_clear_of_it():
    img, lab = _textured_organ(n=24)
    cfg = AugmentConfig(p_copy=1.0, copy_scale=(1.0, 1.0), decoy_margin=3)
    out = paste_organ_copies(img, lab, cfg, torch.Generator().manual_seed(8))
    near = torch.zeros_like(lab, dtype=torch.bool)
    near[:, 37:59, 37:59] = True
    changed = (out - img).abs()[:, 0] > 1e-6
    assert not (changed & near).any()  # the organ and a 3-pixel rim are untouched
    assert int(changed.any(dim=(1, 2)).sum()) >= 16  # most copies land in the image
    textured = 0
    for k in range(24):
        full = out[k, 0][changed[k] & ((out[k, 0] - 0.1).abs() > 0.4)]
        # nothing brighter than the organ's brightest stripe x 1.2, nothing new in area
        assert float(out[k, 0].max()) <= 0.9 * 1.2 + 1e-5
        assert int(changed[k].sum()) <= 1.3 * 18 * 18
        textured += full.numel() > 20 and float(full.max() / full.min()) > 1.2
    assert textured >= 8  # the stripes (0.6 / 0.9) come along, not a flat fill


def test_organ_copies_land_inside_the_body_when_there_is_one():
    img, lab = _textured_organ(n=16)
    img[:, :, :, 64:] = 0.4  # a body on the right third of the image, air elsewhere (0.1)
    cfg = AugmentConfig(p_copy=1.0, copy_scale=(0.6, 0.6), decoy_margin=3)
    out = paste_organ_copies(img, lab, cfg, torch.Generator().manual_seed(9))
    changed = (out - img).abs()[:, 0] > 1e-6
    cols = torch.arange(96).float()
    centres = [float((changed[k].float().sum(0) * cols).sum() / changed[k].sum())
               for k in range(16) if changed[k].any()]
    assert len(centres) >= 12 and all(c > 60 for c in centres)


def _body(n=16, size=64):
    """A bright block (the 'body') on the left half of an otherwise dark image."""
    img = torch.zeros(n, 1, size, size)
    img[:, :, 8:40, 4:28] = 1.0
    return img


def test_ghosts_off_by_default_draw_nothing():
    img = _body()
    g = torch.Generator().manual_seed(2)
    assert add_ghosts(img, AugmentConfig(), g) is img
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(2).get_state())


def test_ghosts_are_faint_copies_shifted_by_half_or_a_third_of_the_field():
    n, size = 64, 64
    img = _body(n, size)
    cfg = AugmentConfig(p_ghost=1.0, ghost_amp=(0.2, 0.3))
    out = add_ghosts(img, cfg, torch.Generator().manual_seed(5))
    shifts = set()
    for k in range(n):
        diff = (out[k, 0] - img[k, 0]).abs()
        outside = img[k, 0] == 0  # where there was nothing, a ghost is all that shows
        ghost = outside & (out[k, 0] > 1e-6)
        assert ghost.any()
        # the ghost's level outside the body is the drawn amplitude, within its range
        assert 0.2 - 1e-5 <= float(out[k, 0][ghost].max()) <= 0.3 + 1e-5
        # it is the block moved (with wrap-around) along one axis only
        found = [(dim, sh) for dim, side in ((2, size), (3, size)) for sh in (side // 2, side // 3)
                 if torch.equal(ghost, torch.roll(img[k, 0] > 0, sh, dim - 2) & outside)]
        assert len(found) == 1, k
        shifts.add(found[0])
        # inside the body the image changes by at most the amplitude
        assert float(diff.max()) <= 0.3 + 1e-5
    assert shifts == {(2, 32), (2, 21), (3, 32), (3, 21)}  # all four kinds are drawn


def test_ghosts_leave_labels_and_distances_and_unchosen_samples_unchanged():
    lab = _labels(n=16)
    img = lab[:, None].float() / 3
    sdf = _sdf(lab)
    a = augment_batch(img, lab, sdf, AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_batch(img, lab, sdf, AugmentConfig(p_ghost=1.0),
                      torch.Generator().manual_seed(7))
    assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    assert not torch.equal(a[0], b[0])
    x = torch.rand(32, 1, 16, 16) - 0.2  # negative values too, as normalised images have
    out = add_ghosts(x, AugmentConfig(p_ghost=0.5), torch.Generator().manual_seed(3))
    same = (out == x).flatten(1).all(1)
    assert 4 <= int(same.sum()) <= 28  # about half the samples untouched, bit for bit


_STILL = dict(rotation_deg=0, scale=(1, 1), shear=0, translate=0, p_elastic=0)


def _two_organs(n=8, size=96):
    """A disc (label 1, radius 10 px, centre (30, 30)) and a box (label 3) far from it."""
    yy, xx = np.mgrid[0:size, 0:size]
    lab = np.zeros((n, size, size), np.int64)
    lab[:, (yy - 30) ** 2 + (xx - 30) ** 2 <= 100] = 1
    lab[:, 80:90, 80:90] = 3
    return torch.from_numpy(lab)


def test_swelling_off_by_default_draws_nothing():
    lab = _labels(n=6)
    img, sdf = lab[:, None].float(), _sdf(lab)
    a = augment_batch(img, lab, sdf, AugmentConfig(), torch.Generator().manual_seed(4))
    b = augment_batch(img, lab, sdf, AugmentConfig(swell_scale=(3.0, 3.0)),
                      torch.Generator().manual_seed(4))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_swelling_zooms_the_drawn_organ_about_its_centre_and_scales_its_distances():
    lab = _two_organs()
    img, sdf = lab[:, None].float(), _sdf(lab)
    cfg = AugmentConfig(**_STILL, p_swell=1.0, swell_scale=(1.5, 1.5), swell_reach=1.6)
    g = torch.Generator().manual_seed(1)
    out, olab, osdf = augment_batch(img, lab, sdf, cfg, g, intensity=False)
    disc = olab == 1
    # each sample draws one organ: the disc grows 1.5 times in radius (area 2.25 times),
    # about the same centre, or the box grows and the disc stays as it was
    grew = disc.flatten(1).sum(1) > 1.5 * (lab == 1).flatten(1).sum(1)
    assert 0 < int(grew.sum()) < len(lab)  # both organs are drawn in 8 samples
    for k in range(len(lab)):
        if grew[k]:
            assert abs(int(disc[k].sum()) / int((lab[k] == 1).sum()) - 2.25) < 0.12
            rows, cols = torch.nonzero(disc[k], as_tuple=True)
            assert abs(float(rows.float().mean()) - 30) < 0.5
            assert abs(float(cols.float().mean()) - 30) < 0.5
            # the box lies beyond the taper (1.6 x 15 px): untouched
            assert torch.equal(olab[k] == 3, lab[k] == 3)
            # the distance at the disc's centre is 1.5 times the original (inside < 0)
            assert float(osdf[k, 1, 30, 30]) == pytest.approx(1.5 * float(sdf[k, 1, 30, 30]),
                                                             rel=0.03)
            assert float(osdf[k, 1, 30, 30]) < -14
        else:
            assert torch.equal(disc[k], lab[k] == 1)
            assert int((olab[k] == 3).sum()) > 1.5 * int((lab[k] == 3).sum())


def test_swelling_never_folds_and_leaves_unchosen_samples_bit_identical():
    lab = _labels(n=16)
    cfg = AugmentConfig(**_STILL, p_swell=0.5, swell_scale=(2.0, 2.0), swell_reach=1.1)
    n, size = lab.shape[0], lab.shape[-1]
    grid = torch.nn.functional.affine_grid(torch.eye(2, 3).expand(n, 2, 3), [n, 1, size, size],
                                           align_corners=True)
    new, mag = swell_organs(grid, lab, cfg, torch.Generator().manual_seed(9))
    same = (new == grid).flatten(1).all(1)
    assert 2 <= int(same.sum()) <= 14
    assert torch.equal(mag[same], torch.ones_like(mag[same]))
    assert float(mag.min()) > 0 and float(mag.max()) <= 2.0 + 1e-4
    # along every row the sampled x positions keep their order: no fold, even with the
    # steepest taper
    assert bool((new[..., 0].diff(dim=2) > 0).all())
    assert bool((new[..., 1].diff(dim=1) > 0).all())


def test_organ_variation_off_by_default_draws_nothing():
    lab = _labels(n=6)
    img = lab[:, None].float() / 3
    g = torch.Generator().manual_seed(4)
    assert vary_organs(img, lab, AugmentConfig(), g) is img
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())
    a = augment_batch(img, lab, _sdf(lab), AugmentConfig(), torch.Generator().manual_seed(5))
    b = augment_batch(img, lab, _sdf(lab), AugmentConfig(p_organ=0.0, organ_gain=3.0),
                      torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_organ_variation_changes_organs_only_and_leaves_labels_and_distances():
    lab = _two_organs(n=32)
    img = torch.full((32, 1, 96, 96), 0.5)
    cfg = AugmentConfig(p_organ=0.5, organ_gain=0.9, organ_texture=0.6, organ_offset=0.4)
    out = vary_organs(img, lab, cfg, torch.Generator().manual_seed(2))
    changed = (out != img)[:, 0]
    same = ~changed.flatten(1).any(1)
    assert 6 <= int(same.sum()) <= 26  # about half the samples untouched, bit for bit
    # only the organs and a rim of about two pixels around them change
    near = torch.from_numpy(np.stack([
        np.abs(signed_distance(f, 4, 1.0)).min(0) <= 2.5 for f in lab.numpy()]))
    inside = lab > 0
    assert not bool((changed & ~(inside | near)).any())
    for k in torch.nonzero(~same).flatten().tolist():
        varied = [o for o in (1, 3) if bool(changed[k][lab[k] == o].any())]
        assert varied  # at least one organ of a chosen sample
        for o in varied:  # the gain is bounded: exp(±(gain + texture)), plus the offset
            v = out[k, 0][lab[k] == o]
            assert float(v.min()) >= 0.5 * np.exp(-1.5) - 1e-6
            assert float(v.max()) <= 0.5 * np.exp(1.5) + 0.4 + 1e-6
    # which organ changes varies: each is left alone in some chosen sample
    alone = {o: sum(1 for k in torch.nonzero(~same).flatten().tolist()
                    if not bool(changed[k][lab[k] == o].any())) for o in (1, 3)}
    assert alone[1] > 0 and alone[3] > 0
    a = augment_batch(img, lab, _sdf(lab), AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_batch(img, lab, _sdf(lab), AugmentConfig(p_organ=1.0),
                      torch.Generator().manual_seed(7))
    assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    assert not torch.equal(a[0], b[0])


def test_organ_variation_can_turn_a_dark_organ_bright_and_make_it_blotchy():
    lab = _two_organs(n=64)
    img = torch.where(lab[:, None] > 0, 0.05, 0.6)  # dark organs (urine on T1)
    out = vary_organs(img, lab, AugmentConfig(p_organ=1.0), torch.Generator().manual_seed(3))
    disc = lab == 1
    means = torch.stack([out[k, 0][disc[k]].mean() for k in range(64)])
    assert float(means.max()) > 0.3  # brighter than the background's half
    core = torch.from_numpy(np.stack([signed_distance(f, 4, 1.0)[1] < -3 for f in lab.numpy()]))
    cv = torch.stack([out[k, 0][core[k]].std() / out[k, 0][core[k]].mean() for k in range(64)])
    assert float(cv.max()) > 0.15  # not flat inside (it was): blotches
