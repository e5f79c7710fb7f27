"""Where the later test-time zoom passes run: the box around the organs of the first pass,
and its cut of the network input at the network's stride (rule 136, docs/segmentation.md).

:class:`core.segment.infer.Segmenter` runs, with several zoom factors, every pass after
the first frame by frame only on :func:`organ_box` of the frame's first-pass
probabilities, cut from the padded network input by :func:`stride_cut`
(:func:`add_box_pass`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from core.segment.preprocess import resample_images

#: Organ probability (1 - background) of a pixel that the later zoom passes must cover.
ROI_ORGAN_PROBABILITY = 0.1


def check_zoom_roi_mm(margin: float) -> float:
    """``margin`` as a float >= 0 (mm around the first pass's organs; 0 = whole frame)."""
    m = float(margin)
    if not 0.0 <= m < float("inf"):
        raise ValueError(f"zoom ROI margin must be a finite number of mm >= 0, got {margin}")
    return m


def box_margin_on(device_type: str, margin_mm: float) -> float:
    """The zoom ROI margin a Segmenter on ``device_type`` uses: ``margin_mm`` on the CPU,
    0 (every pass on whole frames, batched) elsewhere.

    The box pass calls the network frame by frame, which pays on the CPU, where the time
    follows the pixels, and not on a GPU, where a call at batch 1 costs more than a
    frame in a batch of 64 (one H200: 1.62 against 0.12 ms a frame, docs/performance.md),
    so that there the box pass would slow the second pass about thirteenfold.  The two
    give the same accuracy (rule 136, docs/segmentation.md).
    """
    return margin_mm if device_type == "cpu" else 0.0


def organ_box(probs: torch.Tensor, spacing_mm: tuple[float, float], margin_mm: float,
              min_organ_probability: float = ROI_ORGAN_PROBABILITY,
              ) -> tuple[slice, slice] | None:
    """Rows and columns around the organs of class probabilities (N, C, H, W), channel 0
    the background: the box of every pixel of any frame whose organ probability
    (1 - background) is at least ``min_organ_probability``, widened by ``margin_mm`` on
    each side and clipped to the frame; None when no pixel qualifies."""
    mask = (probs[:, 0] <= 1.0 - min_organ_probability).any(0)
    rows = torch.nonzero(mask.any(1)).flatten()
    if not len(rows):
        return None
    cols = torch.nonzero(mask.any(0)).flatten()
    h, w = mask.shape
    mr = int(np.ceil(margin_mm / float(spacing_mm[0])))
    mc = int(np.ceil(margin_mm / float(spacing_mm[1])))
    return (slice(max(0, int(rows[0]) - mr), min(h, int(rows[-1]) + 1 + mr)),
            slice(max(0, int(cols[0]) - mc), min(w, int(cols[-1]) + 1 + mc)))


def stride_cut(box: tuple[slice, slice], shape: tuple[int, int], crop: tuple[slice, slice],
               padded: tuple[int, int], multiple: int,
               ) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The part of a padded network input that covers ``box`` of the original matrix.

    Args:
        box: rows, columns of the original matrix ``shape`` (H, W).
        shape: the original matrix.
        crop: the rows, columns of the padded network input that hold the frame
            (resampled, before padding).
        padded: the padded network input's (H', W').
        multiple: the network's stride: the cut starts and ends at its multiples, so the
            network sees the cut part at the same phase as the whole input.

    Returns:
        The cut (rows, columns of the padded input) and the box of original pixels that
        bilinear interpolation takes only from network pixels at least two inside the cut
        (the pixels whose probabilities a pass on the cut gives as a whole-input pass
        would, up to the cut's missing context).
    """
    cuts, inner = [], []
    for sl, size, part, full in ((box[0], shape[0], crop[0], padded[0]),
                                 (box[1], shape[1], crop[1], padded[1])):
        off, n_net = part.start, part.stop - part.start
        scale = n_net / size  # network pixels per original pixel
        lo = int(np.floor(sl.start * scale + off) // multiple * multiple)
        hi = min(full, int(-(-np.ceil(sl.stop * scale + off) // multiple) * multiple))
        cuts.append(slice(lo, hi))
        # original pixel i's centre lies at (i + 0.5) * scale - 0.5 + off
        a = 0 if lo <= off else int(np.ceil((lo - off + 2.5) / scale - 0.5))
        b = size if hi >= off + n_net else int(np.floor((hi - off - 2.5) / scale - 0.5)) + 1
        inner.append(slice(max(0, a), min(size, max(a, b))))
    return (cuts[0], cuts[1]), (inner[0], inner[1])


def add_box_pass(probs: torch.Tensor, first: torch.Tensor, x: torch.Tensor,
                 crop: tuple[slice, slice], spacing_mm: tuple[float, float], margin_mm: float,
                 forward: Callable[[torch.Tensor], torch.Tensor], multiple: int) -> None:
    """Add one later zoom pass to ``probs`` (N, C, H, W, in place), frame by frame.

    Each frame's pass runs on the cut of its network input ``x`` (N, 1, H', W', padded;
    ``crop`` holds the frame) around :func:`organ_box` of its first-pass probabilities
    ``first`` (N, C, H, W) widened by ``margin_mm``; outside the cut's valid box the
    first pass stands for this one.  A frame with no organ pixel gets the whole input.
    ``forward`` is the network (logits); ``multiple`` its stride.
    """
    shape = tuple(probs.shape[-2:])
    whole = (slice(0, shape[0]), slice(0, shape[1]))  # its cut is the whole input
    for i in range(len(x)):
        box = organ_box(first[i:i + 1], spacing_mm, margin_mm) or whole
        cut, box = stride_cut(box, shape, crop, tuple(x.shape[2:]), multiple)
        part = forward(x[i:i + 1, :, cut[0], cut[1]])
        logits = part.new_zeros((1, part.shape[1], *x.shape[2:]))
        logits[..., cut[0], cut[1]] = part
        p = resample_images(logits[..., crop[0], crop[1]], shape).softmax(1)
        inside = probs[i, :, box[0], box[1]] + p[0, :, box[0], box[1]]
        probs[i].add_(first[i])
        probs[i, :, box[0], box[1]] = inside
