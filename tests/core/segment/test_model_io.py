import json

import pytest
import torch

from core.errors import ModelError
from core.segment.model_io import (
    average_models,
    default_model_path,
    load_model,
    model_paths,
    resolve_model,
    save_model,
)
from core.segment.unet import UNet


def _saved(tmp_path):
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, norm="batch")
    return net, save_model(net, {"organs": ["a", "b", "c"], "loss": "dice"}, tmp_path / "m")


def test_round_trip(tmp_path):
    net, (w, c) = _saved(tmp_path)
    assert w.name == "m.safetensors" and c.name == "m.json"
    cfg = json.loads(c.read_text())
    assert len(cfg["model_id"]) == 12 and cfg["architecture"]["norm"] == "batch"
    for p in (tmp_path / "m", c, w):
        loaded, cfg2 = load_model(p)
        assert cfg2["model_id"] == cfg["model_id"]
        x = torch.randn(1, 1, 16, 16)
        with torch.no_grad():
            assert torch.equal(loaded(x), net.eval()(x))


def test_missing_files(tmp_path):
    _saved(tmp_path)
    w, c = model_paths(tmp_path / "m")
    w.unlink()
    with pytest.raises(ModelError, match="m.safetensors"):
        load_model(tmp_path / "m")
    with pytest.raises(ModelError, match="nope.json"):
        load_model(tmp_path / "nope")


def test_damaged_weights(tmp_path):
    _, (w, _) = _saved(tmp_path)
    w.write_bytes(w.read_bytes()[:200])
    with pytest.raises(ModelError, match="m.safetensors"):
        load_model(tmp_path / "m", check_id=False)
    with pytest.raises(ModelError, match="m.safetensors"):
        load_model(tmp_path / "m")


def test_damaged_or_mismatched_config(tmp_path):
    _, (w, c) = _saved(tmp_path)
    good = c.read_text()
    c.write_text("{not json")
    with pytest.raises(ModelError, match="m.json"):
        load_model(c)
    cfg = json.loads(good)
    cfg["organs"] = ["a", "b"]
    c.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="3 organs|4 classes"):
        load_model(c)
    cfg = json.loads(good)
    cfg["architecture"]["base_channels"] = 8
    cfg["model_id"] = ""
    c.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="do not fit"):
        load_model(c)
    cfg = json.loads(good)
    cfg["model_id"] = "0" * 12
    c.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="do not match"):
        load_model(c)


def test_default_path():
    assert default_model_path().name == "default"
    assert default_model_path().parent.name == "models"


def test_the_name_default_means_the_shipped_model_unless_the_folder_has_one(tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped_id = load_model(None)[1]["model_id"]
    assert resolve_model("default") == default_model_path()
    assert load_model("default")[1]["model_id"] == shipped_id
    _saved(tmp_path)
    (tmp_path / "m.json").rename(tmp_path / "default.json")
    (tmp_path / "m.safetensors").rename(tmp_path / "default.safetensors")
    assert str(resolve_model("default")) == "default"
    assert load_model("default")[1]["model_id"] != shipped_id


def _net(seed):
    torch.manual_seed(seed)
    net = UNet(base_channels=4, depth=2, norm="batch")
    for m in net.modules():  # distinct BatchNorm statistics, averaged like the weights
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    return net


def test_average_models_weights_every_float_tensor_and_records_parents(tmp_path):
    cfg = {"organs": ["a", "b", "c"], "loss": "dice", "metrics": {"dsc_mean": 0.9},
           "training": {"lr": 0.1}}
    a, b = _net(0), _net(1)
    save_model(a, cfg, tmp_path / "a")
    save_model(b, {**cfg, "training": {"lr": 0.2, "augment": {"p_decoy": 0.3}}}, tmp_path / "b")
    model, out_cfg = average_models([tmp_path / "a", tmp_path / "b"], [3, 1], tmp_path / "ab")
    sa, sb, sm = a.state_dict(), b.state_dict(), model.state_dict()
    for k, v in sm.items():
        if v.is_floating_point():
            assert torch.allclose(v, 0.75 * sa[k] + 0.25 * sb[k], atol=1e-6), k
    ids = [load_model(tmp_path / n)[1]["model_id"] for n in "ab"]
    assert out_cfg["training"]["averaged_from"] == [
        {"model_id": ids[0], "weight": 0.75, "training": {"lr": 0.1}},
        {"model_id": ids[1], "weight": 0.25,
         "training": {"lr": 0.2, "augment": {"p_decoy": 0.3}}}]  # every parent's recipe
    assert out_cfg["training"]["lr"] == 0.1 and "metrics" not in out_cfg
    reloaded, cfg2 = load_model(tmp_path / "ab")  # saved with a matching model_id
    assert cfg2["model_id"] == out_cfg["model_id"] not in ids
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(reloaded(x), model.eval()(x), atol=1e-6)


def test_average_models_refuses_unlike_models_and_bad_weights(tmp_path):
    save_model(_net(0), {"organs": ["a", "b", "c"]}, tmp_path / "a")
    save_model(UNet(base_channels=8, depth=2),
               {"organs": ["a", "b", "c"]}, tmp_path / "wide")
    with pytest.raises(ModelError, match="wide.*architecture differs"):
        average_models([tmp_path / "a", tmp_path / "wide"])
    with pytest.raises(ValueError, match="one non-negative weight"):
        average_models([tmp_path / "a", tmp_path / "a"], [1.0])
    with pytest.raises(ValueError, match="at least two"):
        average_models([tmp_path / "a"])
    assert not (tmp_path / "ab.json").exists()
