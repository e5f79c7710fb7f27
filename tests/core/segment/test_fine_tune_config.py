"""fine_tune_config: the documented recipe, the starting model's architecture, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.segment.finetune import fine_tune_config
from core.segment.model_io import save_model
from core.segment.unet import UNet

ORGANS = ["bladder", "uterus_vagina", "rectum"]


def _project(path, manual: bool):
    from core.project import new_project, save_project, set_auto_labels, set_manual_labels
    from core.series import CineSeries

    frames = np.random.default_rng(0).normal(100, 10, (3, 40, 40)).astype(np.float32)
    labels = np.zeros((3, 40, 40), np.uint8)
    labels[:, 10:25, 10:25] = 1
    project = new_project(CineSeries(frames, (1.2, 1.2), np.arange(3.0), {}))
    set_auto_labels(project, labels, model_id="m")
    if manual:
        set_manual_labels(project, 2, labels[2])
    save_project(project, path)
    return path


def test_recipe_and_architecture_of_the_starting_model(tmp_path):
    torch.manual_seed(0)
    save_model(UNet(base_channels=8, depth=3, norm="group"), {"organs": ORGANS},
               tmp_path / "start")
    p = _project(tmp_path / "a.pvt", manual=True)
    cfg = fine_tune_config([p, p], tmp_path / "start", epochs=2, steps_per_epoch=7,
                           phantom_cases=3, seed=4, device="cpu")
    assert (cfg.lr, cfg.batch_size, cfg.crop, cfg.warmup_steps) == (1e-4, 12, 192, 20)
    assert cfg.loss == "dice_adaptive" and cfg.loss_kw == {"lam": 1.0, "dice_first": 1.0}
    assert (cfg.base_channels, cfg.depth, cfg.norm) == (8, 3, "group")
    assert (cfg.epochs, cfg.steps_per_epoch, cfg.cases, cfg.val_cases, cfg.seed) == (
        2, 7, 3, 1, 4)
    assert cfg.init_model == str(tmp_path / "start") and len(cfg.sources) == 2
    assert len(cfg.sources[0][0]) == 1  # the one corrected frame
    assert "a.pvt" in cfg.sources_note
    only = fine_tune_config([p], tmp_path / "start", phantom_cases=0)
    assert only.cases == 0 and only.val_cases == 0


def test_the_shipped_model_is_the_default_start(tmp_path):
    cfg = fine_tune_config([_project(tmp_path / "a.pvt", manual=True)])
    assert cfg.init_model == "default" and cfg.base_channels == 16 and cfg.depth == 4


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="at least one project"):
        fine_tune_config([])
    plain = _project(tmp_path / "plain.pvt", manual=False)
    with pytest.raises(ValueError, match="plain.pvt: no manually corrected frame"):
        fine_tune_config([plain])
    from core.errors import ModelError

    with pytest.raises(ModelError, match="nowhere"):
        fine_tune_config([plain], tmp_path / "nowhere")
