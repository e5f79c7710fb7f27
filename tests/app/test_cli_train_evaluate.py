"""CLI: ``pelvitrack train`` and ``pelvitrack evaluate`` on tiny inputs."""

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch

from app.cli import main
from app.commands.evaluate import parse_seeds
from core.segment.model_io import load_model, save_model
from core.segment.unet import UNet


def test_parse_seeds():
    assert parse_seeds("1000-1003") == [1000, 1001, 1002, 1003]
    assert parse_seeds("1,5, 7-8") == [1, 5, 7, 8]
    with pytest.raises(ValueError):
        parse_seeds("9-3")


def test_evaluate_series_with_truth(tmp_path, capsys):
    torch.manual_seed(0)
    save_model(UNet(base_channels=4, depth=2), {"organs": ["bladder", "uterus_vagina", "rectum"]},
               tmp_path / "tiny")
    rng = np.random.default_rng(0)
    frames = (rng.random((3, 32, 32)) * 1000).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "cine.tif") as tif:
        for f in frames:  # one page per frame
            tif.write(f, contiguous=False)
    truth = np.zeros((3, 32, 32), np.uint8)
    truth[:, 8:20, 8:20] = 1
    np.save(tmp_path / "truth.npy", truth)
    rc = main(["evaluate", "--model", str(tmp_path / "tiny"), "--series",
               str(tmp_path / "cine.tif"), "--truth", str(tmp_path / "truth.npy"),
               "--out", str(tmp_path / "frames.csv"), "--device", "cpu"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "bladder" in out and "HD95" in out
    df = pd.read_csv(tmp_path / "frames.csv")
    assert set(df.columns) >= {"case", "organ", "frame", "dsc", "hd95_mm", "asd_mm"}
    assert len(df) == 3 * 3 and df["dsc"].between(0, 1).all()


def test_evaluate_missing_model(tmp_path, capsys):
    rc = main(["evaluate", "--model", str(tmp_path / "none"), "--phantom-seeds", "1000"])
    assert rc == 2 and "none.json" in capsys.readouterr().err


def test_train_tiny_on_phantom(tmp_path):
    pytest.importorskip("core.phantom")
    out = tmp_path / "m"
    rc = main(["train", "--out", str(out), "--loss", "dice_fixed", "--epochs", "1",
               "--steps-per-epoch", "2", "--batch-size", "2", "--cases", "1", "--val-cases", "1",
               "--frames-per-case", "2", "--crop", "64", "--base-channels", "4", "--depth", "2",
               "--device", "cpu"])
    assert rc == 0
    _, cfg = load_model(out / "model")
    assert cfg["loss"] == "dice_fixed" and cfg["training"]["epochs_done"] == 1
