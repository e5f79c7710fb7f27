"""benchmarks/average_models.py: the command line of the model soup."""

import pytest
import torch

from core.segment.model_io import load_model, save_model
from core.segment.unet import UNet


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("average_models")


def _save(path, seed):
    torch.manual_seed(seed)
    save_model(UNet(base_channels=4, depth=2, norm="batch"), {"organs": ["a", "b", "c"]}, path)


def test_fraction_weights_give_a_uniform_soup(script, tmp_path, capsys):
    for i, name in enumerate("abc"):
        _save(tmp_path / name, i)
    out = tmp_path / "soup"
    rc = script.main([str(tmp_path / n) for n in "abc"] + ["--weights", "1/3", "1/3", "1/3",
                                                          "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    weights = [p["weight"] for p in load_model(out)[1]["training"]["averaged_from"]]
    assert weights == pytest.approx([1 / 3] * 3, abs=1e-6)
    sa = [load_model(tmp_path / n)[0].state_dict() for n in "abc"]
    for k, v in load_model(out)[0].state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(v, sum(s[k] for s in sa) / 3, atol=1e-6), k


def test_a_weight_that_is_no_number_is_refused_in_one_line(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        script.main(["a", "b", "--weights", "1/0", "x", "--out", str(tmp_path / "s")])
    assert exc.value.code == 2
    assert "not a number or fraction: '1/0'" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
