"""Contours drawn on MRI frames: single frames (for the GUI) and GIF/MP4 videos."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.atomic import replaced_atomically
from core.organs import organ_colour

__all__ = ["display_window", "render_overlay_frame", "write_overlay_video"]

Colours = Callable[[str, int], tuple[int, int, int]] | Mapping[str, tuple[int, int, int]]

#: Output frames are upscaled until their longer side reaches this many pixels.
TARGET_SIZE_PX = 512
_SUPERSAMPLE = 4  # contours are drawn this many times larger, then reduced: anti-aliasing


def display_window(frames: np.ndarray) -> tuple[float, float]:
    """Grey window (low, high) of an image or series: its 1st and 99th percentiles."""
    arr = np.asarray(frames, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1.0, 99.0])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def _colour(colours: Colours, organ: str, index: int) -> tuple[int, int, int]:
    if isinstance(colours, Mapping):
        return tuple(int(c) for c in colours.get(organ, organ_colour(organ, index)))
    return tuple(int(c) for c in colours(organ, index))


def _output_geometry(
    shape: tuple[int, int], spacing_mm: tuple[float, float], scale: float | None
) -> tuple[int, int, float]:
    """Output (H', W') with square display pixels, and the display pixel size in mm."""
    h, w = shape
    height_mm, width_mm = h * spacing_mm[0], w * spacing_mm[1]
    px_mm = min(spacing_mm)
    if scale is None:
        longest = max(height_mm, width_mm) / px_mm
        scale = max(1.0, math.ceil(TARGET_SIZE_PX / longest))
    px_mm /= float(scale)
    return max(1, round(height_mm / px_mm)), max(1, round(width_mm / px_mm)), px_mm


def render_overlay_frame(
    frame: np.ndarray,
    contours: Mapping[str, np.ndarray | None],
    spacing_mm: Sequence[float],
    *,
    window: tuple[float, float] | None = None,
    colours: Colours = organ_colour,
    scale: float | None = None,
    line_width_px: float = 2.0,
    text: str | None = None,
) -> np.ndarray:
    """Draw organ contours on one MRI frame.

    The frame is shown in grey through ``window``, resampled to square display
    pixels and upscaled (``scale``; by default until the longer side reaches
    about 512 px), then each contour is drawn as a closed anti-aliased line in
    its organ colour.

    Args:
        frame: image (H,W), any real dtype.
        contours: organ name -> (M,2) contour points as (x_mm, y_mm) (x = col ×
            col spacing, y = row × row spacing, origin at the top-left pixel
            centre), or None where the organ is absent.  Dict order is the
            palette order for organs without a fixed colour.
        spacing_mm: pixel spacing (row, col) in mm.
        window: grey window (low, high) in image units; default 1st/99th percentiles.
        colours: ``organ_colour``-like function ``(name, index) -> (r, g, b)`` or a dict.
        scale: upscaling factor relative to the finer pixel spacing.
        line_width_px: contour width in output pixels.
        text: optional caption drawn in the top-left corner (e.g. ``"t = 3.0 s"``).

    Returns:
        RGB image (H', W', 3) uint8.
    """
    img = np.asarray(frame, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected one (H,W) frame, got shape {img.shape}")
    sp = np.asarray(spacing_mm, dtype=float).ravel()
    if sp.size != 2 or not np.all(np.isfinite(sp)) or np.any(sp <= 0):
        raise ValueError(f"spacing_mm must be two positive numbers (row, col), got {spacing_mm!r}")
    if scale is not None and not (scale > 0):
        raise ValueError(f"scale must be positive, got {scale!r}")
    lo, hi = window if window is not None else display_window(img)
    if not hi > lo:
        raise ValueError(f"window must be (low, high) with high > low, got {window!r}")
    grey = np.clip((np.nan_to_num(img, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    out_h, out_w, px_mm = _output_geometry(img.shape, (sp[0], sp[1]), scale)
    base = Image.fromarray((grey * 255.0 + 0.5).astype(np.uint8), mode="L")
    base = base.resize((out_w, out_h), Image.Resampling.BILINEAR).convert("RGBA")

    ss = _SUPERSAMPLE
    width = max(1, round(line_width_px * ss))
    lines = []
    for index, (organ, pts) in enumerate(contours.items()):
        if pts is None:
            continue
        pts = np.asarray(pts, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"contour of {organ!r} must be (M,2) xy mm, got shape {pts.shape}")
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) < 2:
            continue
        # mm -> supersampled pixel coordinates.  The image extent starts half a
        # pixel before the first pixel centre; PIL coordinates are pixel
        # corners (the centre of pixel 0 is at 0.5), as are these.
        uv = (pts + 0.5 * sp[::-1]) / px_mm * ss
        lines.append((np.vstack([uv, uv[:1]]), _colour(colours, organ, index)))
    composed = base
    if lines:
        # Draw only inside the contours' bounding box (aligned to whole output
        # pixels), then reduce it by box filtering: anti-aliased lines, cheaply.
        allpts = np.vstack([uv for uv, _ in lines])
        lo = np.floor((allpts.min(axis=0) - width) / ss).astype(int)
        hi = np.ceil((allpts.max(axis=0) + width) / ss).astype(int)
        lo = np.clip(lo, 0, [out_w, out_h])
        hi = np.clip(hi, 0, [out_w, out_h])
        box_w, box_h = int(hi[0] - lo[0]), int(hi[1] - lo[1])
        if box_w > 0 and box_h > 0:
            layer = Image.new("RGBA", (box_w * ss, box_h * ss), (0, 0, 0, 0))
            draw = ImageDraw.Draw(layer)
            r = width / 2.0
            for uv, rgb in lines:
                uv = uv - lo * ss
                xy = [tuple(p) for p in uv.tolist()]
                draw.line(xy, fill=(*rgb, 255), width=width, joint="curve")
                x0, y0 = xy[0]  # round the seam where the closed line meets itself
                draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=(*rgb, 255))
            layer = layer.resize((box_w, box_h), Image.Resampling.BOX)
            composed = base.copy()
            composed.alpha_composite(layer, dest=(int(lo[0]), int(lo[1])))
    if text:
        ImageDraw.Draw(composed).text((6, 4), text, fill=(255, 255, 255, 255))
    return np.asarray(composed.convert("RGB"))


def write_overlay_video(
    frames: np.ndarray,
    contours: Mapping[str, Sequence[np.ndarray | None]],
    spacing_mm: Sequence[float],
    path: str | os.PathLike,
    fps: float = 4.0,
    colours: Colours = organ_colour,
    window: tuple[float, float] | None = None,
    *,
    times_s: Sequence[float] | None = None,
    scale: float | None = None,
) -> Path:
    """Write a cine series with its contours as an animated GIF or an MP4 video.

    Args:
        frames: images (T,H,W).
        contours: organ name -> list of T entries, each an (M,2) xy-mm contour or None.
        spacing_mm: pixel spacing (row, col) in mm.
        path: ``.gif`` (always available) or ``.mp4`` (needs imageio-ffmpeg).
        fps: frames per second of the video (> 0).
        colours: ``organ_colour``-like function or a dict name -> (r, g, b).
        window: grey window (low, high); default the 1st/99th percentiles of the
            whole series, so brightness does not flicker between frames.
        times_s: optional frame times (T,) in s, written as a caption on each frame.
        scale: upscaling factor (see :func:`render_overlay_frame`).

    Returns:
        The path written.

    Raises:
        ValueError: wrong shapes, an unsupported suffix, or MP4 without ffmpeg
            (the message suggests ``.gif``).
    """
    stack = np.asarray(frames)
    if stack.ndim != 3:
        raise ValueError(f"expected (T,H,W) frames, got shape {stack.shape}")
    n = stack.shape[0]
    if not (fps > 0):
        raise ValueError(f"fps must be positive, got {fps!r}")
    for organ, seq in contours.items():
        if len(seq) != n:
            raise ValueError(f"contours of {organ!r} have {len(seq)} entries for {n} frames")
    if times_s is not None and len(times_s) != n:
        raise ValueError(f"expected {n} frame times, got {len(times_s)}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"unsupported video type {suffix or '(none)'!r}; use .gif or .mp4")
    if suffix == ".mp4":
        _require_ffmpeg()
    win = window if window is not None else display_window(stack)
    images = [
        render_overlay_frame(
            stack[t],
            {organ: seq[t] for organ, seq in contours.items()},
            spacing_mm,
            window=win,
            colours=colours,
            scale=scale,
            text=None if times_s is None else f"t = {float(times_s[t]):.1f} s",
        )
        for t in range(n)
    ]
    with replaced_atomically(path) as tmp:
        if suffix == ".gif":
            _write_gif(images, tmp, fps)
        else:
            _write_mp4(images, tmp, fps)
    return path


def _write_gif(images: list[np.ndarray], path: Path, fps: float) -> None:
    import imageio.v3 as iio

    iio.imwrite(
        path, np.stack(images), extension=".gif", plugin="pillow",
        duration=round(1000.0 / fps), loop=0,
    )


def _require_ffmpeg() -> None:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise ValueError(
            "MP4 export needs ffmpeg (pip install imageio-ffmpeg), which is not available; "
            "save the video as .gif instead"
        ) from exc


def _write_mp4(images: list[np.ndarray], path: Path, fps: float) -> None:
    import imageio.v2 as imageio

    # yuv420p needs even sizes: pad the bottom/right edge by one pixel if odd.
    h, w = images[0].shape[:2]
    ph, pw = h % 2, w % 2
    with imageio.get_writer(
        path, format="FFMPEG", mode="I", fps=fps, codec="libx264",
        pixelformat="yuv420p", macro_block_size=1, quality=8,
    ) as writer:
        for im in images:
            writer.append_data(np.pad(im, ((0, ph), (0, pw), (0, 0)), mode="edge"))
