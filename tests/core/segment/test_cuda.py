"""The CUDA paths: bfloat16 autocast inference and mixed-precision (AMP) training.

Skipped where no CUDA device is present (CI); run on a lent GPU machine with
``python -m pytest -m gpu tests/core/segment/test_cuda.py``.
"""

import numpy as np
import pytest
import torch

from core.phantom.case import generate_case
from core.segment.infer import Segmenter
from core.segment.model_io import load_model
from core.segment.train import TrainConfig, train

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_shipped_model_on_cuda_agrees_with_the_cpu():
    case = generate_case(11, n_frames=6)
    cpu = Segmenter(device="cpu", backend="torch").predict(case.series)
    on_gpu = Segmenter(device="cuda")
    gpu = on_gpu.predict(case.series)
    again = Segmenter(device="cuda").predict(case.series)
    assert gpu.labels.shape == cpu.labels.shape == case.labels.shape
    # the second zoom pass runs on whole frames, batched, on the GPU
    assert on_gpu.zoom_roi_mm == 0.0
    np.testing.assert_array_equal(gpu.labels, again.labels)  # deterministic on the GPU
    # bfloat16 autocast moves a few boundary pixels, never an organ
    assert (gpu.labels == cpu.labels).mean() > 0.995
    for k in (1, 2, 3):
        a, b = gpu.labels == k, cpu.labels == k
        assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.97  # Dice over the series
        assert abs(gpu.confidence[:, k - 1] - cpu.confidence[:, k - 1]).max() < 0.05


def test_training_on_cuda_with_amp_saves_a_model_the_cpu_loads(tmp_path, make_case):
    sources = []
    for seed in range(2):
        series, labels = make_case(seed, t=3, shape=(40, 40), spacing=(1.5, 1.5))
        sources.append((series.frames, labels, series.spacing_mm))
    cfg = TrainConfig(loss="dice_adaptive", epochs=2, steps_per_epoch=4, batch_size=4, cases=0,
                      val_cases=0, canvas=48, crop=32, base_channels=4, depth=2, norm="batch",
                      spacing_mm=2.0, device="cuda", log_every=1, sources=sources, seed=3)
    assert cfg.amp
    records = list(train(cfg, tmp_path))
    steps = [r for r in records if r.stage == "train"]
    assert len(steps) == 8 and all(np.isfinite(r.data["loss"]) for r in steps)
    model, saved = load_model(records[-1].data["result"])  # loads on the CPU
    assert saved["training"]["epochs_done"] == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    series, _ = make_case(5, t=2, shape=(40, 40))
    res = Segmenter(records[-1].data["result"], device="cuda").predict(series)
    assert res.labels.shape == (2, 40, 40)
