"""Follow N material points per organ through a cine series.

Pipeline per series (all organs at once):

1. Trace each organ's sub-pixel contour in every frame (:mod:`core.track.contours`).
2. Register every frame to the rest frame with a smooth dense field computed on
   image intensity plus soft organ masks, cropped to the organs' region
   (:mod:`core.track.register`).
3. Check each frame's mask against the rest mask moved by that field: a frame
   whose boundary is on average further away than both ``CONSISTENCY_MM`` and
   ``NOISE_FACTOR`` × the gap next to the rest frame (a segmentation that lost or
   gained a piece of the organ) is flagged (:func:`flag_frames`), named in the warnings,
   and the rest contour moved by the field is kept for it (``Tracks.propagated``,
   used by :func:`core.track.repair.repair_labels`).
4. Place N points evenly by arc length on the rest contour (point 0 = the most
   cranial point), move them with the field, (optionally) smooth their paths in
   time, snap them onto each frame's contour and even out bunching without
   changing order (:mod:`core.track.snap`); in flagged frames the moved points
   are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from core.errors import TrackingError
from core.progress import Progress
from core.track.contours import mask_contour, perimeter, resample_closed
from core.track.register import RegistrationSettings, register_to_rest, sample_field
from core.track.snap import regularize_spacing, smooth_in_time, snap_to_contour
from core.track.tracks import Tracks

if TYPE_CHECKING:
    from core.series import CineSeries

#: Width (mm, Gaussian sigma) of the band outside each organ that its registration
#: looks at: the organ, its wall and nearby tissue, not far neighbours or bones.
RING_MM = 5.0
#: Control-point spacing of the registration field (mm).
CONTROL_MM = 28.0
#: Savitzky–Golay window (frames) for the point paths before snapping; 1 = off.
#: Off by default: with 1–2 s frames, breathing and straining change quickly from
#: one frame to the next, and smoothing over frames lagged the real motion (mean
#: error 0.4 → 1.6 mm on phantom cases); the registration's neighbour term
#: already keeps consecutive fields consistent.
TIME_WINDOW = 1

#: Coarse levels of the mask-led lead pass tried again for an organ whose first
#: registration leaves frames flagged while its rest frame is not doubted: the second
#: field is kept if its masks agree clearly better with the frames' (an image
#: pattern, such as bSSFP bands fixed in the image, can hold the first field while the
#: organ moves under it). 0 = never.
RESCUE_LEAD_LEVELS = 2
#: The second field is kept if its mean gap over the frames is below this fraction of
#: the first's.
RESCUE_GAP_RATIO = 0.75


def _organ_box(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    """Box (r0, r1, c0, c1) holding the organ in every frame plus ``margin`` pixels."""
    h, w = mask.shape[1:]
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    return (max(0, rows[0] - margin), min(h, rows[-1] + margin + 1),
            max(0, cols[0] - margin), min(w, cols[-1] + margin + 1))


def _roi_weights(rest_mask: np.ndarray, ring_px: float) -> np.ndarray:
    """Weights (h, w): 1 inside the rest organ, Gaussian fall-off outside, small floor."""
    dist = ndimage.distance_transform_edt(~rest_mask)
    return (np.exp(-0.5 * (dist / ring_px) ** 2) + 0.02).astype(np.float32)


#: Intensity preprocessing: "ratio" divides by a heavily blurred copy (removes a
#: static bias field and frame flicker), "plain" only rescales.
NORMALIZE = "ratio"
BIAS_SIGMA_PX = 12.0


def _channels(frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Registration input (T, 2, h, w): normalized intensity and the soft organ mask."""
    f = frames.astype(np.float32)
    if NORMALIZE == "ratio":
        lo = np.percentile(f, 1.0)
        f = f - lo
        f = f / (ndimage.gaussian_filter(f, (0, BIAS_SIGMA_PX, BIAS_SIGMA_PX)) + 0.05 * f.mean())
    lo, hi = np.percentile(f, [1.0, 99.0])
    img = np.clip((f - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)
    soft = ndimage.gaussian_filter(mask.astype(np.float32), sigma=(0, 1.0, 1.0))
    return np.stack([img, soft], axis=1)


#: A frame whose organ mask, pulled back to the rest frame by the registration,
#: disagrees with the rest mask by more than this (area of the symmetric
#: difference / rest perimeter, mm: about the mean distance between the two
#: boundaries) is taken as a bad segmentation frame, and the organ's points
#: there follow the registration instead of snapping onto that frame's contour.
#: Consistent frames measured 0.1–0.7 mm on phantom cases (true and model
#: labels); a model rectum missing its upper third, 1.7–1.9 mm.
CONSISTENCY_MM = 1.0


def mask_disagreement(masks: np.ndarray, field: np.ndarray, rest_frame: int,
                      pixel_area_mm2: float, rest_perimeter_mm: float) -> np.ndarray:
    """How far each frame's mask is from the rest mask moved by the registration.

    Args:
        masks: (T, H, W) bool organ masks.
        field: (T, 2, H, W) displacement (dx, dy) in pixels on the rest grid
            (:func:`core.track.register.register_to_rest`).
        rest_frame: the rest frame.
        pixel_area_mm2: area of one pixel.
        rest_perimeter_mm: perimeter of the rest contour.

    Returns:
        (T,) area of (rest mask xor frame mask pulled back to the rest grid) divided
        by the rest perimeter, in mm: about the mean gap between the two boundaries.
    """
    rest = masks[rest_frame]
    h, w = rest.shape
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros(len(masks))
    for t in range(len(masks)):
        pulled = ndimage.map_coordinates(masks[t].astype(np.float32),
                                         [rr + field[t, 1], cc + field[t, 0]], order=1) > 0.5
        out[t] = np.count_nonzero(rest ^ pulled) * pixel_area_mm2 / max(rest_perimeter_mm, 1e-6)
    return out


def frame_ranges(idx: np.ndarray) -> str:
    """'3, 10–26' for the indices [3, 10, 11, ..., 26]."""
    parts, start = [], None
    for i, t in enumerate(idx):
        if start is None:
            start = t
        if i + 1 == len(idx) or idx[i + 1] != t + 1:
            parts.append(f"{start}" if start == t else f"{start}–{t}")
            start = None
    return ", ".join(parts)


#: Frames nearest the rest frame used to judge it and the series' noise level.
NEIGHBOURS = 4


#: A frame must also disagree this many times more than the frames nearest the rest
#: frame do (their median gap is the series' own level of registration and
#: segmentation noise).
NOISE_FACTOR = 3.0
#: Median gap (mm) of the rest frame's nearest frames above which the rest frame's
#: own segmentation is doubted (a noisy SNR-4 series measured 0.8–1.2 mm; a
#: uterus whose rest mask had a Dice of 0.76, 2.7 mm).
REST_SUSPECT_MM = 1.5


#: When the rest frame is doubted only because most frames disagree with it (its
#: nearest frames agree with it within ``REST_SUSPECT_MM``), the frames more than this
#: far off (mm) are still flagged: an organ drawn in another place from some frame on
#: (a look-alike taken for it) and not a shape the registration does not follow. 0 turns
#: this off (nothing flagged then).
GROSS_GAP_MM = 4.0


_WRONG_REST_HINT = ("if the rest frame's outline is the wrong one, choose another rest frame "
                    "or keep the model's labels (--no-repair, or the Analysis menu in the app)")


def _other_frames(present: np.ndarray, rest_frame: int) -> np.ndarray:
    """The frames other than the rest frame where the organ is."""
    return np.flatnonzero(present & (np.arange(len(present)) != rest_frame))


def _nearest(present: np.ndarray, rest_frame: int) -> np.ndarray:
    """Up to ``NEIGHBOURS`` frames nearest in time to the rest frame where the organ is."""
    others = _other_frames(present, rest_frame)
    return others[np.argsort(np.abs(others - rest_frame), kind="stable")[:NEIGHBOURS]]


def _noise(gap: np.ndarray, present: np.ndarray, rest_frame: int) -> float:
    """Median gap (mm) of the frames nearest the rest frame (0 if there are none)."""
    near = _nearest(present, rest_frame)
    return float(np.median(gap[near])) if near.size else 0.0


def disagreement_threshold(gap: np.ndarray, present: np.ndarray, rest_frame: int) -> float:
    """Gap (mm) above which a frame is flagged: ``CONSISTENCY_MM``, or ``NOISE_FACTOR``
    times the median gap of the frames nearest the rest frame if that is larger.

    On noisy series (SNR 4) every frame's gap is 0.8–1.2 mm and a fixed 1 mm
    threshold flagged frames whose redrawn labels were worse than the model's; the
    relative part keeps only the frames that stand out (phantom study in
    docs/tracking.md).
    """
    return max(CONSISTENCY_MM, NOISE_FACTOR * _noise(gap, present, rest_frame))


def rest_is_suspect(gap: np.ndarray, present: np.ndarray, rest_frame: int,
                    bad: np.ndarray) -> bool:
    """Whether the disagreement points at the rest frame itself.

    Neighbouring frames of a cine series are alike: when the frames nearest in time
    to the rest frame disagree with it by more than ``REST_SUSPECT_MM`` (median), or
    more than 80 % of all frames are flagged, the rest mask is the odd one out and
    no frame should be corrected towards it.
    """
    others = _other_frames(present, rest_frame)
    if others.size == 0:
        return False
    return bool(_noise(gap, present, rest_frame) > REST_SUSPECT_MM
                or bad[others].mean() > 0.8)


def flag_frames(organ: str, gap: np.ndarray, present: np.ndarray, rest_frame: int
                ) -> tuple[np.ndarray, float, str | None]:
    """Frames whose mask disagrees with the image motion: (flags, threshold mm, note).

    Nothing is flagged, and the note says why, when the rest frame itself is doubted
    (:func:`rest_is_suspect`), unless it is doubted only because most frames disagree
    while the frames next to it agree: then the frames more than ``GROSS_GAP_MM`` off are
    flagged (docs/segmentation.md, rule 120).  When most frames but not enough to doubt
    the rest frame are flagged, they are flagged and the note says that the rest frame may
    be the wrong one: its error can be shared by the frames next to it (a case in
    docs/segmentation.md, rule 117), and the flagged frames are then the good ones.
    """
    threshold = disagreement_threshold(gap, present, rest_frame)
    bad = (gap > threshold) & present
    if not rest_is_suspect(gap, present, rest_frame, bad):
        others = _other_frames(present, rest_frame)
        n_bad = int(bad[others].sum())
        note = None if 2 * n_bad <= others.size else (
            f"{organ}: {n_bad} of {others.size} frames disagree with the rest frame "
            f"{rest_frame} after registration — {_WRONG_REST_HINT}")
        return bad, threshold, note
    if GROSS_GAP_MM > 0 and _noise(gap, present, rest_frame) <= REST_SUSPECT_MM:
        # the frames next to the rest frame agree with it: the rest is not the odd one out
        gross = (gap > max(GROSS_GAP_MM, threshold)) & present
        gross[rest_frame] = False
        if gross.any():
            return gross, threshold, (
                f"{organ}: most frames disagree with the rest frame {rest_frame} after "
                "registration, the frames next to it agree with it; only the frames more than "
                f"{GROSS_GAP_MM:g} mm off are flagged — {_WRONG_REST_HINT}")
    return np.zeros_like(bad), threshold, (
        f"{organ}: the frames next to the rest frame {rest_frame} disagree with it after "
        "registration — its segmentation is probably wrong; no frame was corrected. Check "
        "it or choose another rest frame")


def disagreement_warnings(flagged: dict[str, np.ndarray],
                          thresholds: dict[str, float]) -> list[str]:
    """Notes naming the frames whose segmentation disagrees with the image motion."""
    return [
        f"{organ}: in frames {frame_ranges(np.flatnonzero(bad))} the segmentation disagrees with "
        f"the image motion (boundaries > {thresholds[organ]:.1f} mm apart on average); the "
        "points there follow the registration, not the segmented contour — check those frames"
        for organ, bad in flagged.items() if bad.any()
    ]


def rest_frame_warnings(contours: dict[str, list[np.ndarray | None]], rest_frame: int,
                        tolerance: float = 0.25) -> list[str]:
    """Notes for organs whose rest-frame contour looks unlike the other frames.

    Everything is measured from the rest frame, so a rest-frame segmentation that
    misses part of an organ spoils every frame.  An organ is flagged when it is
    missing at rest, or when its rest perimeter differs from the median over
    frames by more than ``tolerance`` (fraction). An organ found in no frame at
    all is named too (no uterus after a hysterectomy, or a segmentation that missed it).
    """
    notes = []
    for organ, seq in contours.items():
        if seq[rest_frame] is None:
            if any(c is not None for c in seq):
                notes.append(f"{organ}: missing in the rest frame {rest_frame}; not tracked")
            else:
                notes.append(f"{organ}: found in no frame, so it has no contour or indices "
                             "(absent, or missed by the segmentation: correct a frame and "
                             "re-track)")
            continue
        per = np.array([perimeter(c) for c in seq if c is not None])
        med = float(np.median(per))
        rest = perimeter(seq[rest_frame])
        if len(per) >= 3 and abs(rest - med) > tolerance * med:
            notes.append(
                f"{organ}: rest frame {rest_frame} contour is {rest:.0f} mm long against a "
                f"median of {med:.0f} mm; its segmentation may be incomplete — check it or "
                "choose another rest frame")
    return notes


def _check(series: CineSeries, labels: np.ndarray, organs: Sequence[str], n_points: int,
           rest_frame: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 3:
        raise TrackingError(f"expected labels (T,H,W), got shape {lab.shape}")
    if lab.shape != series.frames.shape:
        raise TrackingError(
            f"labels {lab.shape} do not match the series frames {series.frames.shape}")
    if not organs:
        raise TrackingError("no organs to track")
    if int(n_points) < 3:
        raise TrackingError(f"n_points must be >= 3, got {n_points}")
    if not 0 <= int(rest_frame) < lab.shape[0]:
        raise TrackingError(f"rest_frame must be in [0, {lab.shape[0] - 1}], got {rest_frame}")
    return lab


def _register_organ(organ: str, chans: np.ndarray, masks: np.ndarray, weights: np.ndarray,
                    rest_frame: int, present: np.ndarray, pixel_area_mm2: float,
                    rest_perimeter_mm: float, device: str, reg: RegistrationSettings
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, str | None]:
    """One organ's field, gaps and flags: ``(field, gap, flagged, threshold, note)``.

    When the field leaves frames flagged and the rest frame is not doubted
    (:func:`rest_is_suspect`; a note that most frames disagree does not stop it), the
    registration runs again with a mask-led lead pass (``RESCUE_LEAD_LEVELS``) and its
    field is kept if the rest frame is not doubted there either and its mean gap is
    below ``RESCUE_GAP_RATIO`` × the first's.
    """
    def run(settings: RegistrationSettings) -> tuple:
        field = register_to_rest(chans, rest_frame, weights=weights, device=device,
                                 settings=settings)
        gap = mask_disagreement(masks, field, rest_frame, pixel_area_mm2, rest_perimeter_mm)
        return (field, gap, *flag_frames(organ, gap, present, rest_frame))

    def trusted(gap: np.ndarray) -> np.ndarray | None:
        """The frames over the threshold, or None if the rest frame is doubted."""
        over = (gap > disagreement_threshold(gap, present, rest_frame)) & present
        return None if rest_is_suspect(gap, present, rest_frame, over) else over

    first = run(reg)
    gap = first[1]
    over = trusted(gap)
    if RESCUE_LEAD_LEVELS <= 0 or reg.lead_levels > 0 or over is None or not over.any():
        return first
    second = run(replace(reg, lead_levels=RESCUE_LEAD_LEVELS))
    if (trusted(second[1]) is not None
            and second[1][present].mean() < RESCUE_GAP_RATIO * gap[present].mean()):
        return second
    return first


def track_organs(
    series: CineSeries,
    labels: np.ndarray,
    organs: Sequence[str],
    *,
    n_points: int = 128,
    rest_frame: int = 0,
    device: str = "auto",
    settings: RegistrationSettings | None = None,
) -> Iterator[Progress]:
    """Track N boundary points per organ so that point i keeps its material identity.

    Args:
        series: the cine series (frames (T,H,W), spacing_mm (row, col)).
        labels: (T, H, W) integer labels, organ ``organs[i]`` has label i+1.
        organs: organ names in label order.
        n_points: points per organ N (evenly spaced in arc length at rest).
        rest_frame: reference frame.
        device: torch device for the registration ("auto" = CUDA if present).
        settings: registration settings (defaults if None).

    Yields:
        :class:`Progress` records of stage ``"track"``; the last one has stage
        ``"done"`` and ``data["result"]`` a :class:`Tracks` with points
        (T, N, 2) xy mm and valid (T, N) per organ.  An organ missing in a
        frame gives NaN points and valid False there (all frames if it is
        missing at rest).

    Raises:
        TrackingError: labels do not fit the series, or bad n_points / rest_frame.
    """
    lab = _check(series, labels, organs, n_points, rest_frame)
    n_points, rest_frame = int(n_points), int(rest_frame)
    t_n = lab.shape[0]
    sr, sc = series.spacing_mm
    total = 1 + len(organs)
    yield Progress("track", 0, total, "tracing contours")
    contours = {
        organ: [mask_contour(lab[t] == k + 1, series.spacing_mm) for t in range(t_n)]
        for k, organ in enumerate(organs)
    }
    ring_px = RING_MM / min(sr, sc)
    reg = settings or RegistrationSettings(control_px=CONTROL_MM / min(sr, sc))
    points: dict[str, np.ndarray] = {}
    valid: dict[str, np.ndarray] = {}
    flagged: dict[str, np.ndarray] = {}
    propagated: dict[str, dict[int, np.ndarray]] = {}
    notes: list[str] = []
    thresholds: dict[str, float] = {}
    for k, organ in enumerate(organs):
        pts = np.full((t_n, n_points, 2), np.nan)
        ok = np.zeros((t_n, n_points), bool)
        flagged[organ] = np.zeros(t_n, bool)
        propagated[organ] = {}
        rest_c = contours[organ][rest_frame]
        if rest_c is not None:
            top = rest_c[np.lexsort((rest_c[:, 0], rest_c[:, 1]))[0]]
            rest_pts = resample_closed(rest_c, n_points, start=top)
            mask = lab == k + 1
            r0, r1, c0, c1 = _organ_box(mask, int(np.ceil(3 * ring_px)) + 4)
            sub = mask[:, r0:r1, c0:c1]
            chans = _channels(series.frames[:, r0:r1, c0:c1], sub)
            wts = _roi_weights(sub[rest_frame], ring_px)
            present = np.array([c is not None for c in contours[organ]])
            field, gap, bad, thresholds[organ], note = _register_organ(
                organ, chans, sub, wts, rest_frame, present, sr * sc, perimeter(rest_c),
                device, reg)
            notes += [note] if note else []
            flagged[organ] = bad
            rows, cols = rest_pts[:, 1] / sr - r0, rest_pts[:, 0] / sc - c0
            moved = np.empty((t_n, n_points, 2))
            for t in range(t_n):
                d = sample_field(field[t], rows, cols)
                moved[t] = rest_pts + d * np.array([sc, sr])
            if TIME_WINDOW > 1:
                moved = smooth_in_time(moved, present, rest_frame, window=TIME_WINDOW)
            c_rows, c_cols = rest_c[:, 1] / sr - r0, rest_c[:, 0] / sc - c0
            propagated[organ] = {
                int(t): rest_c + sample_field(field[t], c_rows, c_cols) * np.array([sc, sr])
                for t in np.flatnonzero(bad)}
            for t in range(t_n):
                c = contours[organ][t]
                if c is None:
                    continue
                if t == rest_frame:
                    pts[t] = rest_pts
                elif bad[t]:
                    pts[t] = moved[t]
                else:
                    s = snap_to_contour(c, moved[t])
                    pts[t] = regularize_spacing(c, s)
                ok[t] = True
        points[organ], valid[organ] = pts, ok
        yield Progress("track", 1 + k, total, f"tracked {organ}")
    result = Tracks(points=points, valid=valid, rest_frame=rest_frame, n_points=n_points,
                    contours=contours, flagged=flagged, propagated=propagated,
                    warnings=rest_frame_warnings(contours, rest_frame)
                    + notes + disagreement_warnings(flagged, thresholds))
    yield Progress("done", total, total, "tracking done", {"result": result})
