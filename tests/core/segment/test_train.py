import json

import numpy as np
import pytest
import torch

from core.segment import train as train_module
from core.segment.infer import Segmenter
from core.segment.model_io import load_model
from core.segment.train import TrainConfig, seed_ranges, train


def _config(ellipse_case, **kw):
    sources = []
    for seed in range(2):
        series, labels = ellipse_case(seed, t=3, shape=(40, 40), spacing=(1.5, 1.5))
        sources.append((series.frames, labels, series.spacing_mm))
    base = dict(loss="dice_adaptive", epochs=2, steps_per_epoch=3, batch_size=2, cases=0,
                val_cases=0, canvas=48, crop=32, base_channels=4, depth=2, norm="batch",
                spacing_mm=2.0, device="cpu", log_every=1, sources=sources, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_training_yields_progress_and_model(tmp_path, make_case):
    records = list(train(_config(make_case), tmp_path))
    stages = [r.stage for r in records]
    assert stages[0] == "data" and stages[-1] == "done"
    steps = [r for r in records if r.stage == "train"]
    assert [r.done for r in steps] == [1, 2, 3, 4, 5, 6] and steps[0].total == 6
    assert all(np.isfinite(r.data["loss"]) for r in steps)
    vals = [r for r in records if r.stage == "validate"]
    assert len(vals) == 2 and 0 <= vals[-1].data["dsc_mean"] <= 1
    model, cfg = load_model(records[-1].data["result"])
    assert cfg["loss"] == "dice_adaptive" and cfg["spacing_mm"] == 2.0
    assert cfg["training"]["n_sources"] == 2 and cfg["training"]["epochs_done"] == 2
    series, _ = make_case(5, t=2, shape=(40, 40))
    res = Segmenter(records[-1].data["result"], device="cpu").predict(series)
    assert res.labels.shape == (2, 40, 40)


def test_cancel_leaves_checkpoint_and_resume_continues(tmp_path, make_case):
    gen = train(_config(make_case, epochs=3), tmp_path)
    for r in gen:
        if r.stage == "validate":
            break
    gen.close()  # cancel after the first epoch
    assert not (tmp_path / "model.json").exists()
    _, cfg = load_model(tmp_path / "last")  # loadable checkpoint
    assert cfg["training"]["epochs_done"] == 1
    state = json.loads((tmp_path / "last_state.json").read_text())
    assert state["epoch"] == 1 and state["step"] == 3
    records = list(train(_config(make_case, epochs=3), tmp_path, resume=True))
    steps = [r.done for r in records if r.stage == "train"]
    assert steps == [4, 5, 6, 7, 8, 9]  # continues after the checkpoint
    assert [r.done for r in records if r.stage == "validate"] == [2, 3]


def test_resume_reproduces_uninterrupted_run(tmp_path, make_case):
    full = list(train(_config(make_case), tmp_path / "a"))
    gen = train(_config(make_case), tmp_path / "b")
    for r in gen:
        if r.stage == "validate":
            break
    gen.close()
    resumed = list(train(_config(make_case), tmp_path / "b", resume=True))
    la = [r.data["loss"] for r in full if r.stage == "train"][3:]
    lb = [r.data["loss"] for r in resumed if r.stage == "train"]
    assert np.allclose(la, lb, rtol=1e-4, atol=1e-5)
    ma, _ = load_model(tmp_path / "a" / "model")
    mb, _ = load_model(tmp_path / "b" / "model")
    for (k, va), vb in zip(ma.state_dict().items(), mb.state_dict().values(), strict=True):
        assert torch.allclose(va.float(), vb.float(), atol=1e-4), k


def test_config_checks():
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="ce")
    with pytest.raises(ValueError, match="multiple of 16"):
        TrainConfig(crop=100)


def test_seed_ranges():
    assert seed_ranges([7, 1, 3, 2]) == [[1, 3], [7, 7]]
    assert seed_ranges([]) == []


def test_explicit_case_seeds_are_trained_on_and_recorded(tmp_path, make_case, monkeypatch):
    seen = []
    real = train_module.build_cache

    def spy(sources, phantom_seeds=(), **kw):
        seen.append(tuple(phantom_seeds))
        return real(sources, (), **kw)  # the tiny sources stand in for the phantom cases

    monkeypatch.setattr(train_module, "build_cache", spy)
    cfg = _config(make_case, epochs=1, case_seeds=[503, 504, 900], case_seed0=7, cases=99)
    assert cfg.cases == 3 and cfg.train_seeds() == (503, 504, 900)
    records = list(train(cfg, tmp_path))
    assert seen[0] == (503, 504, 900)
    _, model_cfg = load_model(records[-1].data["result"])
    assert model_cfg["training"]["train_phantom_seeds"] == [[503, 504], [900, 900]]
    assert model_cfg["training"]["case_seeds"] == [[503, 504], [900, 900]]
    # one run keeps the older [first, last] record
    assert TrainConfig(case_seeds=(4, 5, 6)).to_dict()["case_seeds"] == [[4, 6]]
    assert train_module._seed_record(range(10, 20)) == [10, 19]
    with pytest.raises(ValueError, match="distinct"):
        TrainConfig(case_seeds=(1, 1))


@pytest.mark.parametrize("width, depth, change", [(6, 2, "pruned"), (4, 1, "deepened")])
def test_fine_tune_from_another_shape_starts_from_its_changed_weights(tmp_path, make_case,
                                                                       width, depth, change):
    """A wider model is pruned to the training width, a shallower one deepened to the
    training depth (width 4, depth 2 in ``_config``)."""
    from core.segment.model_io import save_model
    from core.segment.unet import UNet, deepen_unet, prune_unet

    torch.manual_seed(0)
    start = UNet(1, 4, base_channels=width, depth=depth, norm="batch")
    save_model(start, {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 2.0},
               tmp_path / "start")
    _, start_cfg = load_model(tmp_path / "start")
    cfg = _config(make_case, epochs=1, steps_per_epoch=1, lr=0.0,
                  init_model=str(tmp_path / "start"))
    records = list(train(cfg, tmp_path / "run"))
    tuned, tuned_cfg = load_model(records[-1].data["result"])
    assert (tuned.config["base_channels"], tuned.config["depth"]) == (4, 2)
    assert tuned_cfg["training"]["init_model"] == str(tmp_path / "start")
    assert tuned_cfg["training"]["init_model_id"] == start_cfg["model_id"]
    # lr 0: the convolutions are exactly the pruned or deepened ones (BatchNorm statistics
    # moved), but for a deepened model's new bottleneck and up-convolution, drawn at random
    expected = (prune_unet(start, 4) if change == "pruned" else deepen_unet(start)).state_dict()
    new_level = ("bottleneck.", "ups.0.") if change == "deepened" else ()
    for name, value in tuned.state_dict().items():
        if name.startswith(new_level):
            assert value.shape == expected[name].shape
        elif name.endswith(".weight") and value.ndim == 4:
            torch.testing.assert_close(value, expected[name], msg=name)


def test_fine_tune_refuses_an_unfit_model(tmp_path, make_case):
    from core.errors import ModelError
    from core.segment.model_io import save_model
    from core.segment.unet import UNet

    save_model(UNet(1, 3, base_channels=6, depth=2, norm="batch"),
               {"organs": ["bladder", "rectum"], "spacing_mm": 2.0}, tmp_path / "two")
    with pytest.raises(ModelError, match="organs"):
        list(train(_config(make_case, init_model=str(tmp_path / "two")), tmp_path / "a"))
    save_model(UNet(1, 4, base_channels=2, depth=2, norm="batch"),
               {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 2.0},
               tmp_path / "narrow")
    with pytest.raises(ModelError, match="width 2 cannot start a width 4"):
        list(train(_config(make_case, init_model=str(tmp_path / "narrow")), tmp_path / "b"))


class _IntensityIsLabel(torch.nn.Module):
    """A stand-in network whose answer is the label the intensity encodes (label / 3)."""

    def forward(self, x):
        classes = torch.arange(4, dtype=x.dtype).view(1, 4, 1, 1)
        return -50.0 * (3 * x - classes) ** 2


def test_frame_difficulty_is_zero_where_right_and_near_one_where_all_missed():
    from core.segment.data import FrameCache
    from core.segment.hard_frames import frame_difficulty

    labels = torch.zeros(3, 16, 16, dtype=torch.uint8)
    labels[:, 2:6, 2:6], labels[:, 8:12, 2:6], labels[:, 8:12, 8:12] = 1, 2, 3
    labels[2] = 0  # nothing to find
    images = (labels.float() / 3).unsqueeze(1)
    images[1] = 0  # frame 1: the model sees background only and misses all three organs
    cache = FrameCache(images.half(), labels, torch.zeros(3, 4, 16, 16).half(),
                       torch.arange(3))
    d = frame_difficulty(_IntensityIsLabel(), cache, torch.device("cpu"), batch=2)
    assert d.shape == (3,)
    assert d[0] < 0.01 and d[2] < 0.01
    assert d[1] > 0.9


def test_hard_probabilities_follow_difficulty_with_a_cap():
    from core.segment.hard_frames import hard_probabilities

    d = np.r_[np.full(99, 0.1), 0.2, 50.0]  # one frame far beyond the others
    p = hard_probabilities(d)
    assert p.sum() == pytest.approx(1.0)
    assert p[99] == pytest.approx(2 * p[0])
    assert p[100] <= p[99] * 1.01  # capped at the 99th percentile
    assert np.allclose(hard_probabilities(np.zeros(4)), 0.25)


def test_hard_share_needs_an_initial_model_and_a_share():
    with pytest.raises(ValueError, match="init_model"):
        TrainConfig(hard_share=0.5)
    with pytest.raises(ValueError, match="hard_share"):
        TrainConfig(hard_share=1.5, init_model="default")


def test_hard_sampling_scores_once_and_a_resumed_run_draws_the_same(tmp_path, make_case):
    from core.segment.model_io import save_model
    from core.segment.unet import UNet

    torch.manual_seed(0)
    save_model(UNet(1, 4, base_channels=4, depth=2, norm="batch"),
               {"organs": ["bladder", "uterus_vagina", "rectum"], "spacing_mm": 2.0},
               tmp_path / "start")
    kw = dict(init_model=str(tmp_path / "start"), hard_share=0.5)
    full = list(train(_config(make_case, **kw), tmp_path / "a"))
    notes = [r.message for r in full if r.stage == "data"]
    assert any(n.startswith("frame difficulty median") for n in notes)
    difficulty = np.load(tmp_path / "a" / "frame_difficulty.npy")
    assert difficulty.shape == (6,) and np.all((difficulty >= 0) & (difficulty <= 1))
    _, cfg = load_model(full[-1].data["result"])
    assert cfg["training"]["hard_share"] == 0.5
    gen = train(_config(make_case, **kw), tmp_path / "b")
    for r in gen:
        if r.stage == "validate":
            break
    gen.close()
    resumed = list(train(_config(make_case, **kw), tmp_path / "b", resume=True))
    assert any("kept from the interrupted run" in r.message for r in resumed
               if r.stage == "data")
    la = [r.data["loss"] for r in full if r.stage == "train"][3:]
    lb = [r.data["loss"] for r in resumed if r.stage == "train"]
    assert np.allclose(la, lb, rtol=1e-4, atol=1e-5)
    # a fresh run into a folder that holds another run's scores scores the frames anew
    np.save(tmp_path / "a" / "frame_difficulty.npy", np.zeros(6))
    again = list(train(_config(make_case, **kw), tmp_path / "a"))
    assert any(r.message == "scoring the training frames with the initial model"
               for r in again if r.stage == "data")
    assert np.allclose(np.load(tmp_path / "a" / "frame_difficulty.npy"), difficulty)
