import json

import pytest
import torch

from core.errors import ModelError
from core.segment.model_io import (
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
