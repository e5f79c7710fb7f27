"""benchmarks/int8_fidelity.py: the disagreement score and its argument checks."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("int8_fidelity")


def test_disagreement_is_one_minus_dice_averaged_over_frames_and_organs(script):
    a = np.zeros((2, 4, 4), np.uint8)
    a[:, :2, :2] = 1  # organ 1: four pixels per frame
    b = a.copy()
    assert script.disagreement(a, b, 2) == 0.0  # organ 2 empty in both: Dice 1
    b[1, 0, 0] = 0  # frame 1 loses one pixel of organ 1: Dice 6/7
    assert script.disagreement(a, b, 2) == pytest.approx((1 - 6 / 7) / 4)


def test_unknown_variant_is_refused(script, capsys):
    with pytest.raises(SystemExit) as info:
        script.main(["--variants", "minmax,nonsense", "--seeds", "600"])
    assert info.value.code == 2
    assert "unknown variants ['nonsense']" in capsys.readouterr().err


def test_every_variant_names_a_known_method(script):
    from core.segment.onnx_backend import CALIBRATION_METHODS

    for seeds, n_frames, method in script.VARIANTS.values():
        assert method in CALIBRATION_METHODS and seeds and n_frames >= 1
