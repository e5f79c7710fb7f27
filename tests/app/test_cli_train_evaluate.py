"""CLI: ``pelvitrack train`` and ``pelvitrack evaluate`` on tiny inputs."""

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch

from app.cli import main
from app.commands.evaluate import _read_truth
from core.segment.model_io import load_model, save_model
from core.segment.unet import UNet


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
    assert "bladder" in out and "HD95" in out and "as `analyze` writes them" in out
    rc = main(["evaluate", "--model", str(tmp_path / "tiny"), "--series",
               str(tmp_path / "cine.tif"), "--truth", str(tmp_path / "truth.npy"), "--raw",
               "--device", "cpu"])
    assert rc == 0 and "(model labels alone)" in capsys.readouterr().out
    df = pd.read_csv(tmp_path / "frames.csv")
    assert set(df.columns) >= {"case", "organ", "frame", "dsc", "hd95_mm", "asd_mm"}
    assert len(df) == 3 * 3 and df["dsc"].between(0, 1).all()


def test_evaluate_phantom_cases_names_the_phantom_revision(tmp_path, capsys):
    save_model(UNet(base_channels=4, depth=2), {"organs": ["bladder", "uterus_vagina", "rectum"]},
               tmp_path / "tiny")
    rc = main(["evaluate", "--model", str(tmp_path / "tiny"), "--phantom-seeds", "3,4",
               "--phantom-option", "shape=[64,64]", "--phantom-option", "n_frames=2",
               "--raw", "--device", "cpu"])
    assert rc == 0
    assert "on 2 case(s), phantom revision 2, 4 frames" in capsys.readouterr().out


def test_evaluate_a_folder_of_labelled_cases(tmp_path, capsys, write_labelled_case):
    save_model(UNet(base_channels=4, depth=2), {"organs": ["bladder", "uterus_vagina", "rectum"]},
               tmp_path / "tiny")
    rng = np.random.default_rng(0)
    truth = np.zeros((3, 32, 32), np.uint8)
    truth[:, 8:20, 8:20] = 1
    for name in ("case_b", "case_a"):
        write_labelled_case(tmp_path / "cases" / name, rng.random((3, 32, 32)), truth)
    (tmp_path / "cases" / "notes").mkdir()  # no truth.npy: not a case
    rc = main(["evaluate", "--model", str(tmp_path / "tiny"), "--cases",
               str(tmp_path / "cases"), "--raw", "--device", "cpu",
               "--out", str(tmp_path / "frames.csv")])
    assert rc == 0 and "on 2 case(s), 6 frames" in capsys.readouterr().out
    df = pd.read_csv(tmp_path / "frames.csv")
    assert df["case"].unique().tolist() == ["case_a", "case_b"]
    np.save(tmp_path / "cases" / "case_a" / "truth.npy", truth[:2])
    rc = main(["evaluate", "--model", str(tmp_path / "tiny"), "--cases",
               str(tmp_path / "cases"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "case_a" in err and "do not fit" in err and "Traceback" not in err


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


def _project_with_corrections(path, n_manual: int):
    from core.project import new_project, save_project, set_auto_labels, set_manual_labels
    from core.series import CineSeries

    rng = np.random.default_rng(1)
    frames = rng.normal(100, 10, (4, 48, 48)).astype(np.float32)
    labels = np.zeros((4, 48, 48), np.uint8)
    labels[:, 10:30, 12:30] = 1
    frames[labels == 1] += 80
    project = new_project(CineSeries(frames, (1.5, 1.5), np.arange(4.0), {}))
    set_auto_labels(project, labels, model_id="m")
    for t in range(n_manual):
        fixed = labels[t].copy()
        fixed[30:36, 12:30] = 3
        set_manual_labels(project, t, fixed)
    save_project(project, path)


def test_train_fine_tunes_on_corrected_project_frames(tmp_path):
    torch.manual_seed(0)
    save_model(UNet(base_channels=6, depth=2, norm="batch"),
               {"organs": ["bladder", "uterus_vagina", "rectum"]}, tmp_path / "wide")
    _project_with_corrections(tmp_path / "corrected.pvt", n_manual=2)
    out = tmp_path / "tuned"
    rc = main(["train", "--out", str(out), "--project", str(tmp_path / "corrected.pvt"),
               "--init-model", str(tmp_path / "wide"), "--cases", "0", "--val-cases", "0",
               "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--crop", "32",
               "--base-channels", "4", "--depth", "2", "--device", "cpu", "--dice-first", "1"])
    assert rc == 0
    model, cfg = load_model(out / "model")
    assert cfg["training"]["loss_kw"] == {"lam": 1.0, "dice_first": 1.0}
    assert model.config["base_channels"] == 4
    assert cfg["training"]["n_sources"] == 1 and cfg["training"]["cases"] == 0
    assert cfg["training"]["init_model_id"] == load_model(tmp_path / "wide")[1]["model_id"]


def test_train_project_without_corrections_is_a_clear_error(tmp_path, capsys):
    _project_with_corrections(tmp_path / "plain.pvt", n_manual=0)
    rc = main(["train", "--out", str(tmp_path / "x"), "--project",
               str(tmp_path / "plain.pvt"), "--cases", "0", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "plain.pvt" in err and "no manually corrected frame" in err
    assert "Traceback" not in err


def test_train_bad_reference_dice_is_a_clear_error(tmp_path, capsys):
    rc = main(["train", "--out", str(tmp_path / "x"), "--dice-first", "0", "--cases", "1",
               "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "dice_first must be a finite number > 0, got 0.0" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()  # refused before the model folder is made
    rc = main(["train", "--out", str(tmp_path / "y"), "--dice-first", "1", "--loss",
               "dice_fixed", "--cases", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "dice_first needs loss dice_adaptive, not dice_fixed" in err
    assert not (tmp_path / "y").exists()


def test_nifti_truth_is_reoriented_like_its_series(tmp_path):
    import nibabel as nib

    from core.io import read_series

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (3, 10, 8)).astype(np.uint8)  # canonical (T, H, W)
    affine = np.eye(4)
    affine[:3, 0] = (0.0, -1.0, 0.0)  # column index towards posterior
    affine[:3, 1] = (0.0, 0.0, 1.0)  # row index towards the head: stored upside down
    affine[:3, 2] = (1.0, 0.0, 0.0)  # sagittal
    stored = np.ascontiguousarray(np.transpose(truth[:, ::-1, :], (2, 1, 0)))
    for name, data in (("truth.nii.gz", stored), ("cine.nii.gz", stored.astype(np.float32))):
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm", "sec")
        img.header["pixdim"][4] = 0.5
        nib.save(img, tmp_path / name)
    np.testing.assert_array_equal(_read_truth(str(tmp_path / "truth.nii.gz")), truth)
    series = read_series(tmp_path / "cine.nii.gz")
    np.testing.assert_array_equal(series.frames, truth)
    assert series.meta["orientation_ops"] == ["flip rows"]


def test_train_fine_tune_preset_uses_the_recipe_and_the_start_models_architecture(tmp_path):
    torch.manual_seed(0)
    save_model(UNet(base_channels=4, depth=2, norm="batch"),
               {"organs": ["bladder", "uterus_vagina", "rectum"]}, tmp_path / "start")
    _project_with_corrections(tmp_path / "corrected.pvt", n_manual=2)
    out = tmp_path / "tuned"
    rc = main(["train", "--out", str(out), "--fine-tune", "--project",
               str(tmp_path / "corrected.pvt"), "--init-model", str(tmp_path / "start"),
               "--epochs", "1", "--steps-per-epoch", "1", "--cases", "0", "--device", "cpu"])
    assert rc == 0
    model, cfg = load_model(out / "model")
    t = cfg["training"]
    assert (t["lr"], t["batch_size"], t["crop"], t["warmup_steps"]) == (1e-4, 12, 192, 20)
    assert t["loss_kw"] == {"lam": 1.0, "dice_first": 1.0}
    assert model.config["base_channels"] == 4 and t["epochs"] == 1 and t["cases"] == 0
    assert t["init_model_id"] == load_model(tmp_path / "start")[1]["model_id"]


def test_train_fine_tune_without_a_project_is_a_clear_error(tmp_path, capsys):
    rc = main(["train", "--out", str(tmp_path / "x"), "--fine-tune", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "--fine-tune needs at least one --project" in err
    assert "Traceback" not in err
