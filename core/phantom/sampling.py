"""Bilinear sampling of several fine-grid channels at once (fast gather)."""

from __future__ import annotations

import numpy as np


def bilinear(stack: np.ndarray, rc: np.ndarray, cval: np.ndarray | float = 0.0) -> np.ndarray:
    """Sample channels of a grid at fractional (row, col) indices, bilinearly.

    Same values as ``scipy.ndimage.map_coordinates(order=1)`` inside the grid;
    points outside the grid (or in its last row / column) get ``cval``.

    Args:
        stack: (C, R, K) channels.
        rc: (..., 2) fractional (row, col) indices.
        cval: value(s) outside, scalar or (C,).

    Returns:
        (C, ...) samples, dtype of ``stack``.
    """
    stack = np.asarray(stack)
    n_c, n_r, n_k = stack.shape
    shape = rc.shape[:-1]
    r = rc[..., 0].ravel()
    c = rc[..., 1].ravel()
    r0 = np.floor(r)
    c0 = np.floor(c)
    fr = (r - r0).astype(stack.dtype)
    fc = (c - c0).astype(stack.dtype)
    valid = (r0 >= 0) & (r0 <= n_r - 2) & (c0 >= 0) & (c0 <= n_k - 2)
    idx = np.clip(r0, 0, n_r - 2).astype(np.intp) * n_k + np.clip(c0, 0, n_k - 2).astype(np.intp)
    flat = stack.reshape(n_c, -1)
    top = flat[:, idx] * (1 - fc) + flat[:, idx + 1] * fc
    bot = flat[:, idx + n_k] * (1 - fc) + flat[:, idx + n_k + 1] * fc
    out = top * (1 - fr) + bot * fr
    if not valid.all():
        cv = np.broadcast_to(np.asarray(cval, dtype=stack.dtype), (n_c,))
        out[:, ~valid] = cv[:, None]
    return out.reshape((n_c,) + shape)
