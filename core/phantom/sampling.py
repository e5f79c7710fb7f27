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
    # float32 positions: 1e-4 pixel resolution on grids up to ~1000 pixels, 3x faster.
    r = rc[..., 0].ravel().astype(np.float32)
    c = rc[..., 1].ravel().astype(np.float32)
    r0 = np.floor(r)
    c0 = np.floor(c)
    fr = r - r0
    fc = c - c0
    valid = (r0 >= 0) & (r0 <= n_r - 2) & (c0 >= 0) & (c0 <= n_k - 2)
    np.clip(r0, 0, n_r - 2, out=r0)
    np.clip(c0, 0, n_k - 2, out=c0)
    idx = r0.astype(np.intp) * n_k + c0.astype(np.intp)
    w11 = fr * fc
    w10 = fr - w11
    w01 = fc - w11
    w00 = 1.0 - fr - fc + w11
    out = np.empty((n_c, r.size), stack.dtype)
    for ch in range(n_c):
        f = stack[ch].ravel()
        o = f.take(idx) * w00
        o += f.take(idx + 1) * w01
        o += f.take(idx + n_k) * w10
        o += f.take(idx + n_k + 1) * w11
        out[ch] = o
    if not valid.all():
        cv = np.broadcast_to(np.asarray(cval, dtype=stack.dtype), (n_c,))
        out[:, ~valid] = cv[:, None]
    return out.reshape((n_c,) + shape)
