"""Frame-wise segmentation of a cine series with a trained U-Net.

:class:`Segmenter` resamples each series to the model's training spacing,
normalises intensities exactly as in training, runs the network in batches,
resamples the class scores back to the original matrix, takes the argmax and
cleans the result (largest connected component per organ, holes filled).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from core.device import pick_device
from core.errors import ModelError
from core.progress import Progress
from core.segment.model_io import DEFAULT_SPACING_MM, load_model
from core.segment.preprocess import (
    DEFAULT_PERCENTILES,
    normalize_intensity,
    pad_to_multiple,
    resample_images,
    target_shape,
)
from core.segment.unet import UNet, fuse_batchnorm
from core.series import CineSeries


@dataclass
class SegmentationResult:
    """Labels and confidence of a segmented series.

    Attributes:
        labels: uint8 (T, H, W), 0 background, i+1 for ``organs[i]``.
        confidence: float32 (T, n_organs) in [0, 1]: mean max-softmax inside the
            predicted organ (0 where the organ is absent from the frame).
        model_id: short hash of the model weights.
        organs: organ names of the model.
    """

    labels: np.ndarray
    confidence: np.ndarray
    model_id: str
    organs: tuple[str, ...]


def _bbox(m: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero(m.any(1))
    cols = np.flatnonzero(m.any(0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def postprocess(labels: np.ndarray, n_organs: int) -> np.ndarray:
    """Keep the largest connected component of each organ and fill its holes.

    Works on the organ's bounding box (fast); holes are background regions of the
    box, 4-connected, that do not touch the box border (same result as
    :func:`scipy.ndimage.binary_fill_holes`); they are filled only where the label
    is background, so other organs inside an organ stay.

    Args:
        labels: uint8 (H, W) labels.
        n_organs: number of organ classes (labels 1..n_organs).

    Returns:
        Cleaned uint8 (H, W) labels; removed pieces become background.
    """
    out = np.asarray(labels, dtype=np.uint8).copy()
    for c in range(1, n_organs + 1):
        m = out == c
        if not m.any():
            continue
        box = _bbox(m)
        sub, msub = out[box], m[box]  # views into out
        cc, n = ndimage.label(msub)
        if n > 1:
            sizes = np.bincount(cc.ravel())
            sizes[0] = 0
            sub[msub & (cc != int(np.argmax(sizes)))] = 0
            m = out == c
            box = _bbox(m)
            sub, msub = out[box], m[box]
        bg, nb = ndimage.label(np.pad(~msub, 1, constant_values=True))
        if nb > 1:
            holes = (bg != bg[0, 0])[1:-1, 1:-1] & (sub == 0)
            sub[holes] = c
    return out


class Segmenter:
    """Segment cine series with a U-Net model file.

    Args:
        model: model path (stem, .json or .safetensors), None for the shipped
            default model, or an already built :class:`UNet` (then give ``config``).
        device: ``"auto"`` (cuda → mps → cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` …
        config: model config when ``model`` is a :class:`UNet` instance.
    """

    def __init__(self, model: str | os.PathLike | UNet | None = None, device: str = "auto",
                 config: dict[str, Any] | None = None) -> None:
        if isinstance(model, UNet):
            if config is None:
                raise ModelError("a UNet instance needs its config (organs, spacing_mm)")
            net, cfg = model, dict(config)
        else:
            net, cfg = load_model(model)
        self.config = cfg
        self.organs: tuple[str, ...] = tuple(cfg.get("organs", ()))
        if net.config["n_classes"] != len(self.organs) + 1:
            raise ModelError(
                f"model has {net.config['n_classes']} classes but config names "
                f"{len(self.organs)} organs"
            )
        self.spacing_mm = float(cfg.get("spacing_mm", DEFAULT_SPACING_MM))
        norm = cfg.get("normalization") or {}
        self.percentiles = tuple(norm.get("percentiles", DEFAULT_PERCENTILES))
        self.model_id = str(cfg.get("model_id", "unsaved"))
        self.device = pick_device(device)
        self.net = fuse_batchnorm(net).to(self.device)
        if self.device.type in ("cuda", "cpu"):
            self.net = self.net.to(memory_format=torch.channels_last)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        if self.device.type in ("cuda", "cpu"):
            x = x.contiguous(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return self.net(x).float()
        return self.net(x).float()

    def segment(self, series: CineSeries, batch_size: int | None = None) -> Iterator[Progress]:
        """Segment every frame of ``series``.

        Args:
            series: the cine series (T, H, W) with its spacing.
            batch_size: frames per network call (default 64 on GPU, 2 on CPU: larger
                CPU batches were slower on 2 cores, docs/performance.md).

        Yields:
            Progress records (stage ``"segment"``, frames done / T); the last has
            stage ``"done"`` and ``data["result"]`` a :class:`SegmentationResult`.
        """
        if not isinstance(series, CineSeries):
            raise TypeError(f"expected a CineSeries, got {type(series).__name__}")
        if batch_size is None:
            batch_size = 64 if self.device.type == "cuda" else 2
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        t_frames, h, w = series.frames.shape
        n_org = len(self.organs)
        frames = normalize_intensity(series.frames, self.percentiles)
        size = target_shape((h, w), series.spacing_mm, self.spacing_mm)
        labels = np.zeros((t_frames, h, w), dtype=np.uint8)
        conf = np.zeros((t_frames, n_org), dtype=np.float32)
        yield Progress("segment", 0, t_frames, "segmenting")
        with torch.inference_mode():
            for start in range(0, t_frames, batch_size):
                stop = min(t_frames, start + batch_size)
                x = torch.from_numpy(frames[start:stop, None]).to(self.device)
                x = resample_images(x, size)
                x, crop = pad_to_multiple(x, self.net.multiple, value=0.0)
                logits = self._forward(x)[..., crop[0], crop[1]]
                probs = resample_images(logits, (h, w)).softmax(1)  # on the model's device
                pmax, lab = probs.max(1)
                lab_np = lab.to(torch.uint8).cpu().numpy()
                pmax_np = pmax.float().cpu().numpy()
                for i in range(stop - start):
                    clean = postprocess(lab_np[i], n_org)
                    labels[start + i] = clean
                    counts = np.bincount(clean.ravel(), minlength=n_org + 1)[1:]
                    sums = np.bincount(clean.ravel(), weights=pmax_np[i].ravel(),
                                       minlength=n_org + 1)[1:]
                    conf[start + i] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
                yield Progress("segment", stop, t_frames, f"frame {stop}/{t_frames}")
        result = SegmentationResult(labels, conf, self.model_id, self.organs)
        yield Progress("done", t_frames, t_frames, "segmentation done", {"result": result})

    def predict(self, series: CineSeries, batch_size: int | None = None) -> SegmentationResult:
        """Run :meth:`segment` to the end and return its result."""
        result = None
        for p in self.segment(series, batch_size):
            if p.stage == "done":
                result = p.data["result"]
        assert result is not None
        return result


_SHARED: dict[tuple[str, str, int, str], Segmenter] = {}


def shared_segmenter(model: str | os.PathLike | None = None, device: str = "auto") -> Segmenter:
    """A :class:`Segmenter` reused across calls for the same model file and device.

    Building a Segmenter (reading and hashing the weights, folding BatchNorm) takes
    ~0.1 s and holds the GIL in long stretches; the GUI analyses series one after
    the other with the same model, so it builds it once.  The key holds the weights'
    modification time and size, so a model file replaced on disk (e.g. retrained)
    is loaded again.

    Args:
        model: model stem / file, or None for the shipped default model.
        device: as for :class:`Segmenter`.
    """
    from core.segment.model_io import default_model_path, model_paths

    weights, _ = model_paths(model if model is not None else default_model_path())
    try:
        st = weights.stat()
    except OSError:
        return Segmenter(model, device=device)  # raises the ModelError naming the file
    key = (str(weights.resolve()), str(pick_device(device)), st.st_mtime_ns, str(st.st_size))
    if key not in _SHARED:
        _SHARED.clear()  # one model at a time is enough
        _SHARED[key] = Segmenter(model, device=device)
    return _SHARED[key]
