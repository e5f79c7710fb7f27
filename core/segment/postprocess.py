"""Post-processing of a frame's labels: one connected piece per organ, holes filled.

Which piece is kept when the network draws an organ in several: the largest, or
(the default) the one that touches the other organs and lies near them
(docs/segmentation.md, rules 18 and 19).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: :func:`postprocess` keeps the organ piece with the largest area × (2 if it comes
#: within this many mm of another organ, else 1) × exp(-d / CLUSTER_MM); 0 keeps the
#: largest piece.  Rules 18 and 19 (docs/segmentation.md, model ab8633fc64dd): on field
#: seeds 0-11 summed HD95 fell from 33.7 to 16.2 mm (a thigh blob taken for the bladder),
#: the other four test sets unchanged within 0.02 mm.
DEFAULT_TOUCH_MM = 3.0
#: d is the distance from the centroid of the other organs' pixels to the piece's
#: nearest pixel: pelvic organs lie together.
CLUSTER_MM = 25.0


def _finite_non_negative(value: float, name: str) -> float:
    """``value`` as a finite float >= 0; else a ValueError naming ``name``."""
    v = float(value)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return v


def check_touch_mm(value: float) -> float:
    """``value`` as a finite float >= 0 (mm; 0 keeps each organ's largest piece)."""
    return _finite_non_negative(value, "touch_mm")


def _bbox(m: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero(m.any(1))
    cols = np.flatnonzero(m.any(0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _touching_pieces(raw: np.ndarray, organ: int, box: tuple[slice, slice], cc: np.ndarray,
                     n: int, spacing_mm: tuple[float, float], touch_mm: float) -> np.ndarray:
    """(n + 1,) bool: which pieces ``cc`` (labelled inside ``box``) of ``organ`` come
    within ``touch_mm`` of another organ's pixels in ``raw``."""
    h, w = raw.shape
    pad = [int(np.ceil(touch_mm / s)) + 1 for s in spacing_mm]
    r0, r1 = max(box[0].start - pad[0], 0), min(box[0].stop + pad[0], h)
    c0, c1 = max(box[1].start - pad[1], 0), min(box[1].stop + pad[1], w)
    win = raw[r0:r1, c0:c1]
    other = (win > 0) & (win != organ)
    if not other.any():
        return np.zeros(n + 1, dtype=bool)
    near = ndimage.distance_transform_edt(~other, sampling=spacing_mm) <= touch_mm
    near = near[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0]
    touching = np.bincount(cc[near], minlength=n + 1) > 0
    touching[0] = False
    return touching


def _distance_weights(raw: np.ndarray, organ: int, box: tuple[slice, slice], cc: np.ndarray,
                      n: int, spacing_mm: tuple[float, float], scale_mm: float) -> np.ndarray:
    """(n + 1,) exp(-d / scale_mm), d the distance (mm) from the centroid of the other
    organs' pixels in ``raw`` to each piece's nearest pixel; ones without other organs."""
    other = np.argwhere((raw > 0) & (raw != organ))
    weights = np.ones(n + 1)
    if not len(other):
        return weights
    centre = other.mean(0)
    rows, cols = np.nonzero(cc)
    d = np.hypot((rows + box[0].start - centre[0]) * spacing_mm[0],
                 (cols + box[1].start - centre[1]) * spacing_mm[1])
    nearest = np.full(n + 1, np.inf)
    np.minimum.at(nearest, cc[rows, cols], d)
    weights[1:] = np.exp(-nearest[1:] / scale_mm)
    return weights


def _piece_scores(raw: np.ndarray | None, organ: int, box: tuple[slice, slice], cc: np.ndarray,
                  n: int, spacing_mm: tuple[float, float], touch_mm: float,
                  cluster_mm: float) -> np.ndarray:
    """(n + 1,) score of each piece ``cc`` (labelled inside ``box``) of ``organ``: its
    area, × 2 when it comes within ``touch_mm`` of another organ in ``raw``, × the
    distance factor of ``cluster_mm`` (``raw`` None: the area alone); 0 for label 0."""
    sizes = np.bincount(cc.ravel(), minlength=n + 1).astype(np.float64)
    sizes[0] = 0
    if raw is not None and touch_mm > 0 and n > 1:
        touching = _touching_pieces(raw, organ, box, cc, n, spacing_mm, touch_mm)
        sizes *= np.where(touching, 2.0, 1.0)
        if cluster_mm > 0:
            sizes *= _distance_weights(raw, organ, box, cc, n, spacing_mm, cluster_mm)
    return sizes


def postprocess(labels: np.ndarray, n_organs: int, spacing_mm: tuple[float, float] = (1.0, 1.0),
                touch_mm: float = 0.0, cluster_mm: float = 0.0) -> np.ndarray:
    """Keep one connected piece of each organ and fill its holes.

    The piece kept is the largest, or with ``touch_mm > 0`` the one with the largest
    area × (2 if it comes within ``touch_mm`` of another organ's pixels, else 1) ×
    exp(-d / ``cluster_mm``), d the distance from the centroid of the other organs'
    pixels to the piece's nearest pixel (``cluster_mm`` 0: no such factor).  Pelvic
    organs touch and lie together; a look-alike blob (a thigh below the perineum, a
    bowel loop) seldom does (:data:`DEFAULT_TOUCH_MM`, docs/segmentation.md rules 18
    and 19).

    Works on the organ's bounding box (fast); holes are background regions of the box,
    4-connected, that do not touch the box border (same result as
    :func:`scipy.ndimage.binary_fill_holes`); they are filled only where the label is
    background, so other organs inside an organ stay.

    Args:
        labels: uint8 (H, W) labels.
        n_organs: number of organ classes (labels 1..n_organs).
        spacing_mm: (row, column) pixel spacing, for ``touch_mm``.
        touch_mm: how near another organ a piece must come to count as touching;
            0 keeps the largest piece.
        cluster_mm: length scale of the distance factor (only with ``touch_mm > 0``).

    Returns:
        Cleaned uint8 (H, W) labels; removed pieces become background.
    """
    out = np.asarray(labels, dtype=np.uint8).copy()
    raw = out.copy() if touch_mm > 0 else None
    for c in range(1, n_organs + 1):
        m = out == c
        if not m.any():
            continue
        box = _bbox(m)
        sub, msub = out[box], m[box]  # views into out
        cc, n = ndimage.label(msub)
        if n > 1:
            sizes = _piece_scores(raw, c, box, cc, n, spacing_mm, touch_mm, cluster_mm)
            sub[msub & (cc != int(np.argmax(sizes)))] = 0
            m = out == c
            box = _bbox(m)
            sub, msub = out[box], m[box]
        bg, nb = ndimage.label(np.pad(~msub, 1, constant_values=True))
        if nb > 1:
            holes = (bg != bg[0, 0])[1:-1, 1:-1] & (sub == 0)
            sub[holes] = c
    return out


#: Weight of the agreement between consecutive frames when :func:`choose_pieces_in_time`
#: picks each organ's piece over the whole series; 0 = each frame alone
#: (:func:`postprocess`).  Rule 121, docs/segmentation.md.
DEFAULT_PIECE_WEIGHT = 3.0
#: Pieces per organ and frame that :func:`choose_pieces_in_time` weighs (best scores).
MAX_PIECES = 4
#: Dice below which two pieces of consecutive frames count as unrelated.
DICE_FLOOR = 0.01


def check_piece_weight(value: float) -> float:
    """``value`` as a finite float >= 0 (0 chooses each frame's piece alone)."""
    return _finite_non_negative(value, "piece weight")


def _frame_pieces(frame: np.ndarray, organ: int, spacing_mm: tuple[float, float],
                  touch_mm: float, cluster_mm: float
                  ) -> list[tuple[float, int, int, np.ndarray]]:
    """The best ``MAX_PIECES`` pieces of ``organ`` in one raw frame, best first:
    (score, top row, left column, boolean mask of its bounding box)."""
    m = frame == organ
    if not m.any():
        return []
    box = _bbox(m)
    cc, n = ndimage.label(m[box])
    scores = _piece_scores(frame, organ, box, cc, n, spacing_mm, touch_mm, cluster_mm)
    out = []
    for k in np.argsort(-scores[1:], kind="stable")[:MAX_PIECES] + 1:
        piece = cc == k
        r, c = _bbox(piece)
        out.append((float(scores[k]), box[0].start + r.start, box[1].start + c.start,
                    piece[r, c]))
    return out


def _dice(a: tuple[float, int, int, np.ndarray], b: tuple[float, int, int, np.ndarray]
          ) -> float:
    """Dice of two pieces given as (score, top, left, box mask)."""
    (_, ra, ca, ma), (_, rb, cb, mb) = a, b
    r0, c0 = max(ra, rb), max(ca, cb)
    r1, c1 = min(ra + ma.shape[0], rb + mb.shape[0]), min(ca + ma.shape[1], cb + mb.shape[1])
    inter = 0
    if r1 > r0 and c1 > c0:
        inter = np.count_nonzero(ma[r0 - ra:r1 - ra, c0 - ca:c1 - ca]
                                 & mb[r0 - rb:r1 - rb, c0 - cb:c1 - cb])
    return 2.0 * inter / (np.count_nonzero(ma) + np.count_nonzero(mb))


def _best_path(pieces: list[list[tuple[float, int, int, np.ndarray]]], weight: float
               ) -> list[int | None]:
    """Index of the piece kept in each frame (None where the organ is absent): the path
    maximising sum log(score / frame's best score) + weight × sum log(max(Dice of
    consecutive kept pieces, DICE_FLOOR)); a frame without the organ breaks the chain."""
    t_n = len(pieces)
    total: list[np.ndarray | None] = [None] * t_n
    back: list[np.ndarray | None] = [None] * t_n
    for t, cand in enumerate(pieces):
        if not cand:
            continue
        scores = np.array([p[0] for p in cand])
        unary = np.log(np.maximum(scores, 1e-300) / scores.max())
        prev = total[t - 1] if t > 0 else None
        if prev is None:
            total[t] = unary
            continue
        pair = np.log(np.maximum([[_dice(a, b) for b in cand] for a in pieces[t - 1]],
                                 DICE_FLOOR))
        cum = prev[:, None] + weight * pair
        back[t] = cum.argmax(axis=0)
        total[t] = unary + cum.max(axis=0)
    choice: list[int | None] = [None] * t_n
    k: int | None = None
    for t in range(t_n - 1, -1, -1):
        tot = total[t]
        if tot is None:
            k = None
            continue
        if k is None:  # the last frame of a chain
            k = int(np.argmax(tot))
        choice[t] = k
        b = back[t]
        k = int(b[k]) if b is not None else None
    return choice


def choose_pieces_in_time(labels: np.ndarray, n_organs: int,
                          spacing_mm: tuple[float, float] = (1.0, 1.0), touch_mm: float = 0.0,
                          cluster_mm: float = 0.0, weight: float = 0.0) -> np.ndarray:
    """:func:`postprocess` for a whole series, the piece of each organ chosen over time.

    With ``weight`` 0 each frame keeps its best-scoring piece (exactly
    :func:`postprocess`).  Otherwise, among each frame's ``MAX_PIECES`` best pieces, the
    kept pieces are those of the path through the frames that maximises the sum of
    log(score / the frame's best score) plus ``weight`` × the sum of log Dice (floored at
    ``DICE_FLOOR``) of the pieces kept in consecutive frames (a Viterbi search): an
    organ drawn in two pieces keeps the same one from frame to frame instead of
    switching whenever their sizes cross, and a frame keeps a smaller piece when it
    continues its neighbours' (docs/segmentation.md, rule 121).

    Args:
        labels: uint8 (T, H, W) labels as the network gives them.
        n_organs, spacing_mm, touch_mm, cluster_mm: as for :func:`postprocess`.
        weight: weight of the agreement between consecutive frames (>= 0).

    Returns:
        Cleaned uint8 (T, H, W) labels (one piece per organ and frame, holes filled).
    """
    lab = np.asarray(labels, dtype=np.uint8)
    weight = check_piece_weight(weight)
    if weight == 0 or len(lab) < 2:
        return np.stack([postprocess(f, n_organs, spacing_mm, touch_mm, cluster_mm)
                         for f in lab]) if len(lab) else lab.copy()
    out = lab.copy()
    for c in range(1, n_organs + 1):
        pieces = [_frame_pieces(f, c, spacing_mm, touch_mm, cluster_mm) for f in lab]
        for t, k in enumerate(_best_path(pieces, weight)):
            if k is None or len(pieces[t]) < 2:
                continue
            _, r, col, piece = pieces[t][k]
            keep = np.zeros(out.shape[1:], dtype=bool)
            keep[r:r + piece.shape[0], col:col + piece.shape[1]] = piece
            out[t][(out[t] == c) & ~keep] = 0
    # one piece per organ is left: postprocess only fills the holes
    return np.stack([postprocess(f, n_organs, spacing_mm) for f in out])
