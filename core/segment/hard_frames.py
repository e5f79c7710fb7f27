"""Frames a model gets wrong, drawn more often in a fine-tune (``TrainConfig.hard_share``).

A frame's difficulty is the initial model's soft Dice loss on it; the hard draws of a
batch follow those difficulties, capped at their 99th percentile.  Also the one loop
that runs a model over a frame cache in batches (validation uses it too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.progress import Progress
from core.segment.data import FrameCache
from core.segment.losses import dice_loss, one_hot


def map_batches(model: torch.nn.Module, cache: FrameCache, device: torch.device,
                fn: Callable[[torch.Tensor, int], Any], batch: int = 16,
                amp: bool = False) -> list[Any]:
    """``fn(logits, start)`` for each batch of ``cache``'s frames (no augmentation, the
    whole canvas, float32 logits; bf16 autocast on CUDA when ``amp``), in eval and
    inference mode; the model's training mode is restored after."""
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, len(cache), batch):
                x = cache.images[start : start + batch].to(device).float()
                if device.type == "cuda":
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16,
                                    enabled=amp and device.type == "cuda"):
                    logits = model(x)
                out.append(fn(logits.float(), start))
    finally:
        model.train(was_training)
    return out


def frame_difficulty(model: torch.nn.Module, cache: FrameCache, device: torch.device,
                     batch: int = 32) -> np.ndarray:
    """Each frame's soft Dice loss under ``model`` (no augmentation, the whole canvas):
    :func:`core.segment.losses.dice_loss` of the frame alone, 0 where the model is right,
    an organ absent from both the truth and the prediction counting as right."""

    def soft_dice_loss(logits: torch.Tensor, start: int) -> torch.Tensor:
        prob = torch.softmax(logits, 1)
        y = cache.labels[start : start + len(logits)].to(logits.device)
        truth = one_hot(y, prob.shape[1])
        return torch.stack([dice_loss(prob[i : i + 1], truth[i : i + 1])
                            for i in range(len(prob))]).cpu()

    out = map_batches(model, cache, device, soft_dice_loss, batch=batch)
    return torch.cat(out).numpy().astype(np.float64)


def hard_probabilities(difficulty: np.ndarray) -> np.ndarray:
    """Sampling probabilities proportional to ``difficulty`` capped at its 99th
    percentile (a few frames no model can get right do not take the hard draws);
    uniform where every frame is perfect."""
    d = np.clip(np.nan_to_num(difficulty, nan=0.0), 0.0, None)
    d = np.minimum(d, np.percentile(d, 99)) if d.size else d
    total = d.sum()
    return d / total if total > 0 else np.full(d.shape, 1.0 / max(1, d.size))


def hard_sampling(model: torch.nn.Module, cache: FrameCache, device: torch.device,
                  out: Path, resuming: bool) -> Generator[Progress, None, np.ndarray]:
    """The hard draws' probabilities; the difficulties are computed once, by the initial
    model, and kept in ``out/frame_difficulty.npy`` so a resumed run draws as the
    uninterrupted one would (a fresh run scores anew).  Yields progress records; returns
    the probabilities."""
    path = out / "frame_difficulty.npy"
    difficulty = (np.load(path, allow_pickle=False) if resuming and path.is_file()
                  else None)
    if difficulty is None or difficulty.shape != (len(cache),):
        yield Progress("data", 0, 1, "scoring the training frames with the initial model")
        t0 = time.perf_counter()
        difficulty = frame_difficulty(model, cache, device)
        np.save(path, difficulty, allow_pickle=False)
        note = f" ({time.perf_counter() - t0:.1f} s)"
    else:
        note = " (kept from the interrupted run)"
    q = np.percentile(difficulty, [50, 90, 99]) if difficulty.size else np.zeros(3)
    yield Progress("data", 1, 1, f"frame difficulty median {q[0]:.3f}, 90th percentile "
                   f"{q[1]:.3f}, 99th {q[2]:.3f}{note}",
                   {"difficulty_median": float(q[0]), "difficulty_p90": float(q[1]),
                    "difficulty_p99": float(q[2])})
    return hard_probabilities(difficulty)
