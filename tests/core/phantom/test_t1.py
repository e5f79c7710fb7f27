"""The opt-in T1-weighted gradient-echo contrast (dark urine), with and without fat
suppression (the water image of a Dixon series)."""

from pathlib import Path

import numpy as np
import pydicom
import pytest

from core.phantom import generate_case, write_case
from core.phantom.case import build_model
from core.phantom.tissues import FAT, MARROW, MUSCLE, URINE, draw_contrast


@pytest.mark.parametrize("seed", range(30))
def test_t1_levels_put_urine_below_soft_tissue_and_fat(seed):
    table = draw_contrast("t1", np.random.default_rng(seed))
    assert table[URINE] < table[MUSCLE] < table[FAT]
    assert table[MARROW] > table[MUSCLE]
    water = draw_contrast("t1", np.random.default_rng(seed), fat_suppressed=True)
    assert water[URINE] < water[MUSCLE] and water[FAT] < water[MUSCLE]


@pytest.mark.parametrize("seed", range(30))
def test_t2_and_bssfp_keep_urine_bright(seed):
    for contrast in ("t2", "bssfp"):
        for fs in (False, True):
            table = draw_contrast(contrast, np.random.default_rng(seed), fat_suppressed=fs)
            assert table[URINE] > table[MUSCLE] and table[URINE] > 0.5


def test_the_phantom_never_draws_t1_itself():
    for seed in range(60):
        model, _ = build_model(seed, shape=(64, 64), n_frames=2)
        assert model.params["contrast"] in ("t2", "bssfp")


@pytest.mark.parametrize("fat_suppressed", [False, True])
def test_t1_case_shows_dark_urine_in_the_bladder(fat_suppressed):
    kw = dict(shape=(128, 128), n_frames=2, snr=40.0, bias_strength=0.0,
              fat_suppressed=fat_suppressed)
    t1 = generate_case(3, contrast="t1", **kw)
    t2 = generate_case(3, contrast="t2", **kw)
    for case in (t1, t2):
        assert case.params["fat_suppressed"] is fat_suppressed
    # Same anatomy and labels, only the signal levels change.
    np.testing.assert_array_equal(t1.labels, t2.labels)

    def bladder_to_uterus(case):  # median signal of the bladder over that of the uterus
        frame, lab = case.series.frames[0], case.labels[0]
        return float(np.median(frame[lab == 1]) / np.median(frame[lab == 2]))

    assert bladder_to_uterus(t1) < 0.6 and bladder_to_uterus(t2) > 1.5

    def noise(contrast):  # spread in the air over the bright end of the noise-free image
        frame = generate_case(3, contrast=contrast, **kw).series.frames[0]
        clean = generate_case(3, contrast=contrast, **{**kw, "snr": float("inf")})
        clean = clean.series.frames[0]
        air = clean < 1e-3 * clean.max()
        assert air.mean() > 0.1
        return float(frame[air].std() / np.percentile(clean, 99))

    # The stated SNR holds for both contrasts (a T1 water image, whose urine is dark, takes
    # its noise from the brightest tissue), within a factor of two.
    assert 0.5 < noise("t1") / noise("t2") < 2.0


def test_t1_case_is_written_as_a_spoiled_gradient_echo(tmp_path: Path):
    folder = write_case(generate_case(2, contrast="t1", shape=(64, 64), n_frames=2), tmp_path,
                        shuffle_names=False)
    ds = pydicom.dcmread(sorted((folder / "dicom").iterdir())[0])
    assert (ds.ScanningSequence, ds.SequenceVariant, ds.SequenceName) == ("GR", "SP", "fl2d")
    assert "(t1)" in ds.SeriesDescription
    t2 = write_case(generate_case(2, contrast="t2", shape=(64, 64), n_frames=2),
                    tmp_path / "t2", shuffle_names=False)
    assert pydicom.dcmread(sorted((t2 / "dicom").iterdir())[0]).ScanningSequence == "SE"
