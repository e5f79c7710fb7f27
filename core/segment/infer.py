"""Frame-wise segmentation of a cine series with a trained U-Net.

:class:`Segmenter` resamples each series to the model's training spacing,
normalises intensities exactly as in training, runs the network in batches,
resamples the class scores back to the original matrix, takes the argmax and
cleans the result (one connected piece per organ, preferring pieces that touch
another organ; holes filled).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.device import pick_device
from core.errors import ModelError
from core.progress import Progress
from core.segment.model_io import DEFAULT_SPACING_MM, load_model
from core.segment.postprocess import (  # noqa: F401 (re-exported)
    CLUSTER_MM,
    DEFAULT_PIECE_WEIGHT,
    DEFAULT_TOUCH_MM,
    check_piece_weight,
    check_touch_mm,
    choose_pieces_in_time,
    postprocess,
)
from core.segment.preprocess import (
    DEFAULT_PERCENTILES,
    normalize_intensity,
    pad_to_multiple,
    resample_images,
    target_shape,
)
from core.segment.unet import UNet, fuse_batchnorm
from core.segment.zoom import (  # noqa: F401 (re-exported)
    ROI_ORGAN_PROBABILITY,
    add_box_pass,
    box_margin_on,
    check_zoom_roi_mm,
    organ_box,
)
from core.series import CineSeries

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
#: The two-pass test-time zoom: the frame zoomed out and in by 7 %.
ZOOM_PAIR: tuple[float, ...] = (0.93, 1.07)
#: Test-time zoom factors of :class:`Segmenter` (see its ``scales``): two passes
#: (:data:`ZOOM_PAIR`), the second on the organs' box (:data:`DEFAULT_ZOOM_ROI_MM`), since
#: rule 136 (2026-12-07): against one pass, summed HD95 -2.3 % on 192 fresh cases of a
#: generator never trained on, 30-32 frames/s on 2 CPU cores.  Whole-frame passes were
#: the default until 2026-12-01, then one pass (their 23-27 frames/s sat on the 25
#: frames/s target, rules 131 and 133); docs/segmentation.md.  ``--scales 1``: one pass.
DEFAULT_SCALES: tuple[float, ...] = ZOOM_PAIR
#: Allowed test-time zoom factors.
SCALE_RANGE = (0.5, 2.0)
#: Weight of each neighbouring frame when class probabilities are smoothed in time
#: (:class:`Segmenter` ``temporal_weight``): p'_t = (1 - 2w) p_t + w (p_{t-1} + p_{t+1}).
#: 0.15 since rule 132 (docs/segmentation.md): on 546 fresh cases of gp (a generator
#: never trained on), twenty-one other generators and the phantom, mean summed HD95
#: -0.23 % (lower on 333, p = 6.7e-7), no set more than 1.7 % higher; rule 9 had kept it
#: off on phantom cases alone. ``--temporal-weight 0`` turns it off.
DEFAULT_TEMPORAL_WEIGHT = 0.15
#: With several zoom passes, the passes after the first run on the CPU frame by frame only
#: on the box around the frame's first-pass organs widened by this margin in mm, the first
#: pass standing in outside it (:mod:`core.segment.zoom`); 0 = whole frames (as on a GPU,
#: and for a frame with no organ pixel).  40 mm since rule 136 (docs/segmentation.md).
DEFAULT_ZOOM_ROI_MM = 40.0


def check_temporal_weight(weight: float) -> float:
    """``weight`` as a float in [0, 0.5) (the frame itself must keep the largest share)."""
    w = float(weight)
    if not 0.0 <= w < 0.5:
        raise ValueError(f"temporal weight must be in [0, 0.5), got {weight}")
    return w


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """Test-time zoom factors as a tuple; ValueError unless 1+ factors in SCALE_RANGE."""
    zooms = tuple(float(z) for z in scales)
    if not zooms or not all(SCALE_RANGE[0] <= z <= SCALE_RANGE[1] for z in zooms):
        raise ValueError(f"scales must be zoom factors in [{SCALE_RANGE[0]}, "
                         f"{SCALE_RANGE[1]}], got {tuple(scales)!r}")
    return zooms


def _network_input(frames: np.ndarray, spacing_mm, model_spacing_mm: float, multiple: int,
                   device: torch.device) -> tuple[torch.Tensor, tuple[slice, slice]]:
    size = target_shape(frames.shape[-2:], spacing_mm, model_spacing_mm)
    x = torch.from_numpy(np.ascontiguousarray(frames[:, None])).to(device)
    x = resample_images(x, size)
    return pad_to_multiple(x, multiple, value=0.0)


#: Phantom cases (training seeds 0–3 of the shipped model) and frames per case whose
#: frames calibrate the int8 graph.
CALIBRATION_SEEDS = (0, 1, 2, 3)
CALIBRATION_FRAMES = 8


@functools.lru_cache(maxsize=4)
def _calibration_frames(model_spacing_mm: float, percentiles: tuple[float, float],
                        multiple: int, seeds: tuple[int, ...] = CALIBRATION_SEEDS,
                        n_frames: int = CALIBRATION_FRAMES) -> tuple[np.ndarray, ...]:
    from core.phantom import generate_case

    out = []
    for seed in seeds:
        case = generate_case(seed, n_frames=n_frames)
        frames = normalize_intensity(case.series.frames, percentiles)
        x, _ = _network_input(frames, case.series.spacing_mm, model_spacing_mm, multiple,
                              torch.device("cpu"))
        out.extend(x[i:i + 1].numpy() for i in range(len(x)))
    return tuple(out)


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


class Segmenter:
    """Segment cine series with a U-Net model file.

    Args:
        model: model path (stem, .json or .safetensors), None for the shipped
            default model, or an already built :class:`UNet` (then give ``config``).
        device: ``"auto"`` (cuda → mps → cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` …
        config: model config when ``model`` is a :class:`UNet` instance.
        backend: how the network runs: ``"torch"``; ``"onnx"`` (ONNX Runtime float32,
            CPU only, same labels as torch); ``"onnx-int8"`` (ONNX Runtime with 8-bit
            weights and activations, CPU only, about 1.5× faster than float, as accurate
            on the held-out phantom sets: docs/performance.md); ``"auto"`` (default):
            on the CPU ``"onnx-int8"`` when ``onnxruntime`` is installed, falling back to
            ``"onnx"`` then ``"torch"`` with a warning if one fails; elsewhere ``"torch"``.
            The first int8 use of a model calibrates it on phantom frames (a few
            seconds); the graph is then cached (:mod:`core.segment.onnx_backend`).
        scales: zoom factors of test-time augmentation: each frame is also resampled as
            if its pixels were ``scale`` times larger, and the class probabilities of all
            passes (back on the original matrix) are averaged. None = :data:`DEFAULT_SCALES`
            (:data:`ZOOM_PAIR`, two zoomed passes); ``(1.0,)`` = one pass per frame.
        temporal_weight: each frame's class probabilities are mixed with its two
            neighbours' (in acquisition order) with this weight each before the labels
            are taken; None = :data:`DEFAULT_TEMPORAL_WEIGHT`, 0 = frames alone. It
            breaks near-ties between organs that flip from one frame to the next.
        zoom_roi_mm: with several ``scales``, the passes after the first run only on the
            box around each frame's organs in the first pass, widened by this many mm
            (:func:`organ_box`); None = :data:`DEFAULT_ZOOM_ROI_MM`, 0 = every pass on the
            whole frame, as on a GPU always (:func:`box_margin_on`).
        touch_mm: post-processing keeps, per organ, the piece with the largest area ×
            (2 if within ``touch_mm`` of another organ, else 1) × a factor falling with
            its distance to the other organs; None = :data:`DEFAULT_TOUCH_MM`, 0 = the
            largest piece (:func:`postprocess`).
        piece_weight: > 0 chooses each organ's piece over the whole series, keeping the
            same piece from frame to frame (:func:`choose_pieces_in_time`, this weight on
            the agreement of consecutive frames); None = :data:`DEFAULT_PIECE_WEIGHT`, 0 =
            each frame alone.  The labels are then written when the last frame is done.
    """

    def __init__(self, model: str | os.PathLike | UNet | None = None, device: str = "auto",
                 config: dict[str, Any] | None = None, backend: str = "auto",
                 scales: Sequence[float] | None = None,
                 temporal_weight: float | None = None,
                 touch_mm: float | None = None, piece_weight: float | None = None,
                 zoom_roi_mm: float | None = None) -> None:
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
        self.scales = check_scales(DEFAULT_SCALES if scales is None else scales)
        self.temporal_weight = check_temporal_weight(
            DEFAULT_TEMPORAL_WEIGHT if temporal_weight is None else temporal_weight)
        self.touch_mm = check_touch_mm(DEFAULT_TOUCH_MM if touch_mm is None else touch_mm)
        self.piece_weight = check_piece_weight(
            DEFAULT_PIECE_WEIGHT if piece_weight is None else piece_weight)
        self.device = pick_device(device)
        self.zoom_roi_mm = box_margin_on(self.device.type, check_zoom_roi_mm(
            DEFAULT_ZOOM_ROI_MM if zoom_roi_mm is None else zoom_roi_mm))
        self.net = fuse_batchnorm(net).to(self.device)
        if self.device.type in ("cuda", "cpu"):
            self.net = self.net.to(memory_format=torch.channels_last)
        self._ort = None
        self.backend = "torch"
        for choice in self._backend_choices(backend):
            if choice == "torch":
                break
            from core.segment.onnx_backend import OrtNetwork

            precision = "int8" if choice == "onnx-int8" else "fp32"
            try:
                self._ort = OrtNetwork(self.net, precision, calibration=self.calibration_inputs,
                                       calibration_id=self.calibration_id(),
                                       method=self.calibration_method)
            except Exception as exc:  # export/quantization problems of a library version
                if backend != "auto":
                    raise ModelError(f"{choice} backend failed: {exc}") from exc
                warnings.warn(f"{choice} backend failed ({exc}); trying the next one",
                              RuntimeWarning, stacklevel=2)
                continue
            self.backend = choice
            break

    def _backend_choices(self, backend: str) -> list[str]:
        """Backends to try in order; "auto" falls back from one to the next."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        from core.segment.onnx_backend import available

        if backend == "auto":
            if self.device.type == "cpu" and available():
                return ["onnx-int8", "onnx", "torch"]
            return ["torch"]
        if backend != "torch":
            if self.device.type != "cpu":
                raise ValueError(f"backend {backend!r} runs on the CPU only "
                                 f"(device is {self.device})")
            if not available():
                raise ValueError(f"backend {backend!r} needs onnxruntime "
                                 "(pip install onnxruntime onnx)")
        return [backend]

    def network_input(self, frames: np.ndarray, spacing_mm: tuple[float, float] | float,
                      ) -> tuple[torch.Tensor, tuple[slice, slice]]:
        """Normalised frames (N, H, W) as the network sees them: resampled to the
        model's spacing and padded to the network's multiple; with the crop back."""
        return _network_input(frames, spacing_mm, self.spacing_mm, self.net.multiple,
                              self.device)

    def calibration_inputs(self) -> list[np.ndarray]:
        """Network inputs (1, 1, H, W) for int8 calibration: the frames of fixed phantom
        cases (training seeds 0–3 of the shipped model, 8 frames each), prepared exactly
        as :meth:`segment` prepares a series (computed once per process)."""
        return list(_calibration_frames(self.spacing_mm, self.percentiles, self.net.multiple))

    #: int8 calibration method (``core.segment.onnx_backend.CALIBRATION_METHODS``).
    calibration_method = "minmax"

    def calibration_id(self) -> str:
        """Names the frames of :meth:`calibration_inputs` (phantom revision, seeds, grid,
        normalisation) for the int8 graph cache."""
        from core.phantom.case import PHANTOM_REVISION

        return (f"phantom-r{PHANTOM_REVISION}|seeds{CALIBRATION_SEEDS}|{CALIBRATION_FRAMES}f|"
                f"{self.spacing_mm}mm|p{tuple(self.percentiles)}|x{self.net.multiple}")

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._ort is not None:
            return self._ort(x)
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
        t_frames, h, w_img = series.frames.shape
        frames = normalize_intensity(series.frames, self.percentiles)
        labels = np.zeros((t_frames, h, w_img), dtype=np.uint8)
        conf = np.zeros((t_frames, len(self.organs)), dtype=np.float32)
        # with the piece choice over time, the raw labels and top probabilities are kept
        # until the last frame is done
        over_time = self.piece_weight > 0 and t_frames > 1
        raw = np.zeros_like(labels) if over_time else None
        top = np.zeros((t_frames, h, w_img), dtype=np.float32) if over_time else None
        yield Progress("segment", 0, t_frames, "segmenting")
        w = self.temporal_weight
        prev = pending = None  # raw probabilities: last finished frame, frames waiting
        done = 0
        with torch.inference_mode():
            for start in range(0, t_frames, batch_size):
                stop = min(t_frames, start + batch_size)
                probs = self._zoom_passes(frames[start:stop], series.spacing_mm)
                if w > 0:  # a frame is finished once its next neighbour is known
                    block = probs if pending is None else torch.cat([pending, probs])
                    last = stop == t_frames
                    ready = len(block) if last else len(block) - 1
                    padded = torch.cat([block[:1] if prev is None else prev, block]
                                       + ([block[-1:]] if last else []))
                    probs = ((1 - 2 * w) * padded[1:ready + 1]
                             + w * (padded[:ready] + padded[2:ready + 2]))
                    if ready:
                        prev = block[ready - 1:ready]
                    pending = block[ready:]
                if len(probs):
                    self._finish(probs, done, labels, conf, series.spacing_mm, raw, top)
                done += len(probs)
                yield Progress("segment", done, t_frames, f"frame {done}/{t_frames}")
        if over_time:
            labels[:] = choose_pieces_in_time(raw, len(self.organs), series.spacing_mm,
                                              self.touch_mm, CLUSTER_MM, self.piece_weight)
            for t in range(t_frames):
                conf[t] = _confidence(labels[t], top[t], len(self.organs))
        result = SegmentationResult(labels, conf, self.model_id, self.organs)
        yield Progress("done", t_frames, t_frames, "segmentation done", {"result": result})

    def _zoom_passes(self, frames: np.ndarray, spacing_mm: tuple[float, float]
                     ) -> torch.Tensor:
        """Class probabilities (N, C, H, W) of normalised frames (N, H, W), averaged over
        the zoom passes; with :attr:`zoom_roi_mm` the later passes cover only each frame's
        own organ box (:func:`add_box_pass`)."""
        h, w_img = frames.shape[-2:]
        first = probs = None
        for zoom in self.scales:  # on the model's device
            x, crop = self.network_input(frames, (spacing_mm[0] * zoom, spacing_mm[1] * zoom))
            if first is None or self.zoom_roi_mm <= 0:
                logits = self._forward(x)[..., crop[0], crop[1]]
                p = resample_images(logits, (h, w_img)).softmax(1)
                if first is None:
                    first, probs = p, (p.clone() if len(self.scales) > 1 else p)
                else:
                    probs.add_(p)
                continue
            add_box_pass(probs, first, x, crop, spacing_mm, self.zoom_roi_mm, self._forward,
                         self.net.multiple)
        if len(self.scales) > 1:
            probs /= len(self.scales)
        return probs

    def _finish(self, probs: torch.Tensor, first: int, labels: np.ndarray,
                conf: np.ndarray, spacing_mm: tuple[float, float],
                raw: np.ndarray | None = None, top: np.ndarray | None = None) -> None:
        """Labels (post-processed) and confidence of frames ``first``… from their class
        probabilities (N, C, H, W), written into ``labels`` and ``conf``; with ``raw``,
        the network's labels and top probabilities are written into ``raw`` and ``top``
        instead (the piece choice over time comes after the last frame)."""
        n_org = len(self.organs)
        pmax, lab = probs.max(1)
        lab_np = lab.to(torch.uint8).cpu().numpy()
        pmax_np = pmax.float().cpu().numpy()
        if raw is not None and top is not None:
            raw[first:first + len(lab_np)] = lab_np
            top[first:first + len(lab_np)] = pmax_np
            return
        for i in range(len(lab_np)):
            clean = postprocess(lab_np[i], n_org, spacing_mm, self.touch_mm, CLUSTER_MM)
            labels[first + i] = clean
            conf[first + i] = _confidence(clean, pmax_np[i], n_org)

    def predict(self, series: CineSeries, batch_size: int | None = None) -> SegmentationResult:
        """Run :meth:`segment` to the end and return its result."""
        result = None
        for p in self.segment(series, batch_size):
            if p.stage == "done":
                result = p.data["result"]
        assert result is not None
        return result


def _confidence(labels: np.ndarray, top: np.ndarray, n_organs: int) -> np.ndarray:
    """(n_organs,) mean top class probability over each organ's pixels (0 if absent)."""
    counts = np.bincount(labels.ravel(), minlength=n_organs + 1)[1:]
    sums = np.bincount(labels.ravel(), weights=top.ravel().astype(np.float64),
                       minlength=n_organs + 1)[1:]
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


_SHARED: dict[tuple, Segmenter] = {}


def shared_segmenter(model: str | os.PathLike | None = None, device: str = "auto",
                     backend: str = "auto", scales: Sequence[float] | None = None,
                     temporal_weight: float | None = None,
                     touch_mm: float | None = None,
                     piece_weight: float | None = None,
                     zoom_roi_mm: float | None = None) -> Segmenter:
    """A :class:`Segmenter` reused across calls for the same model file and device.

    Building a Segmenter (reading and hashing the weights, folding BatchNorm) takes
    ~0.1 s and holds the GIL in long stretches; the GUI analyses series one after
    the other with the same model, so it builds it once.  The key holds the weights'
    modification time and size, so a model file replaced on disk (e.g. retrained)
    is loaded again.

    Args:
        model: model stem / file, or None for the shipped default model.
        device, backend, scales, temporal_weight, touch_mm, piece_weight, zoom_roi_mm:
            as for :class:`Segmenter`.
    """
    from core.segment.model_io import model_paths, resolve_model

    weights, _ = model_paths(resolve_model(model))
    try:
        st = weights.stat()
    except OSError:
        # raises the ModelError naming the file
        return Segmenter(model, device=device, backend=backend, scales=scales,
                         temporal_weight=temporal_weight, touch_mm=touch_mm,
                         piece_weight=piece_weight, zoom_roi_mm=zoom_roi_mm)
    key = (str(weights.resolve()), str(pick_device(device)), st.st_mtime_ns, str(st.st_size),
           backend, None if scales is None else tuple(scales), temporal_weight, touch_mm,
           piece_weight, zoom_roi_mm)
    if key not in _SHARED:
        _SHARED.clear()  # one model at a time is enough
        _SHARED[key] = Segmenter(model, device=device, backend=backend, scales=scales,
                                 temporal_weight=temporal_weight, touch_mm=touch_mm,
                                 piece_weight=piece_weight, zoom_roi_mm=zoom_roi_mm)
    return _SHARED[key]
