"""Dense, smooth registration of every frame to the rest frame (torch, batched).

The displacement of each frame is a coarse control grid upsampled bicubically
(a smooth, B-spline-like field), optimized with Adam coarse-to-fine on the sum
of squared differences of normalized images plus soft organ masks.  All frames
are registered at once as one batch.  Drift control: each frame is matched to
the rest frame and, in the rest frame's domain, to its temporal neighbour, so
consecutive fields stay consistent while none is a composition of many steps.

When there are mask channels, an optional short lead pass on the coarse levels,
with the masks weighted far above the intensity, finds the organs' large motion
first and starts the main pass: where the intensity has structure that does not
move with the tissue (bSSFP banding, coil shading), the main pass alone can settle
on it.  It is off by default: it trusts the masks, and on held-out phantom cases a
wrong model mask pulled the points further off with it than it helped elsewhere
(docs/tracking.md).

Convention: ``u[t, :, r, c] = (dx, dy)`` in pixels such that the rest-frame pixel
(r, c) sits at (r + dy, c + dx) in frame t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.device import pick_device
from core.errors import TrackingError


@dataclass(frozen=True)
class RegistrationSettings:
    """Knobs of :func:`register_to_rest`.

    Attributes:
        levels: downsampling factors, coarse to fine.
        iters: Adam iterations per level.
        control_px: control-point spacing in full-resolution pixels.
        lr: Adam learning rate (displacement in normalized [-1, 1] units).
        smooth: weight of the membrane penalty on the control grid.
        neighbour: weight of the frame-to-neighbour term.
        mask_weight: weight of the organ-mask channels relative to intensity.
        lead_levels: number of coarse levels (from ``levels``) of the lead pass that
            starts the main pass when there are mask channels and no ``init``;
            0 = no lead pass.
        lead_mask_weight: weight of the mask channels in the lead pass.
    """

    levels: tuple[int, ...] = (8, 4, 2, 1)
    iters: tuple[int, ...] = (40, 30, 15, 5)
    control_px: float = 12.0
    lr: float = 0.02
    smooth: float = 0.5
    neighbour: float = 0.5
    mask_weight: float = 0.3
    lead_levels: int = 0
    lead_mask_weight: float = 10.0


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU (MPS too); a bad name is a TrackingError."""
    return pick_device(device, error=TrackingError)


def _identity(h: int, w: int, device: torch.device) -> torch.Tensor:
    ys = torch.linspace(-1.0, 1.0, h, device=device)
    xs = torch.linspace(-1.0, 1.0, w, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)[None]  # (1,h,w,2)


def _basis(g: int, n: int, device: torch.device) -> torch.Tensor:
    """(n, g) matrix of 1D bicubic interpolation from g control points to n samples."""
    eye = torch.eye(g, device=device).reshape(g, 1, g, 1)
    return F.interpolate(eye, size=(n, 1), mode="bicubic", align_corners=True)[:, 0, :, 0].T


def _field(params: torch.Tensor, by: torch.Tensor, bx: torch.Tensor) -> torch.Tensor:
    """Control grid (T,2,gh,gw) → dense field (T,2,h,w) via separable bicubic bases."""
    return torch.einsum("hg,tcgk,wk->tchw", by, params, bx)


def _project(field_px: np.ndarray, gh: int, gw: int, dev: torch.device) -> torch.Tensor:
    """Least-squares control grid (B,2,gh,gw) of a dense pixel field (B,2,H,W)."""
    h, w = field_px.shape[-2:]
    u = torch.from_numpy(field_px).to(dev)
    u = torch.stack([u[:, 0] * 2 / (w - 1), u[:, 1] * 2 / (h - 1)], dim=1)
    py = torch.linalg.pinv(_basis(gh, h, dev))
    px = torch.linalg.pinv(_basis(gw, w, dev))
    return torch.einsum("gh,bchw,kw->bcgk", py, u, px).contiguous()


class _Adam:
    """Plain Adam on one tensor (avoids importing torch.optim, which pulls in dynamo)."""

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.p, self.lr, self.b1, self.b2, self.eps = param, lr, betas[0], betas[1], eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        g = self.p.grad
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        self.p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


class _Fit:
    """Coarse-to-fine Adam on the control grids of all frames (one batch)."""

    def __init__(self, full: torch.Tensor, roi_full: torch.Tensor, keep: torch.Tensor,
                 g_n: int, rest_frame: int, s: RegistrationSettings) -> None:
        self.full, self.roi_full, self.keep = full, roi_full, keep
        self.g_n, self.rest_frame, self.s = g_n, rest_frame, s

    def __call__(self, params: torch.Tensor, levels: tuple[int, ...], iters: tuple[int, ...],
                 mask_weight: float) -> torch.Tensor:
        s, full, dev = self.s, self.full, self.full.device
        g_n, rest_frame = self.g_n, self.rest_frame
        t_n = full.shape[0] // g_n
        c_n = full.shape[1]
        gh, gw = params.shape[-2:]
        chan_w = torch.ones(1, c_n, 1, 1, device=dev)
        chan_w[:, 1:] = mask_weight
        params = params.detach().clone().requires_grad_(True)
        adam = _Adam(params, s.lr)
        for factor, n_iter in zip(levels, iters, strict=True):
            if factor > 1:
                img = F.avg_pool2d(full, kernel_size=factor, stride=factor, ceil_mode=True)
                roi = F.avg_pool2d(self.roi_full, kernel_size=factor, stride=factor,
                                   ceil_mode=True)
            else:
                img, roi = full, self.roi_full
            h, w = img.shape[-2:]
            roi = (roi / roi.mean(dim=(2, 3), keepdim=True).clamp_min(1e-6))[:, None] * chan_w
            base = _identity(h, w, dev)
            by, bx = _basis(gh, h, dev), _basis(gw, w, dev)
            fixed = img.reshape(g_n, t_n, c_n, h, w)[:, rest_frame:rest_frame + 1]
            for _ in range(n_iter):
                params.grad = None
                u = _field(params * self.keep, by, bx)
                grid = base + u.permute(0, 2, 3, 1)
                warped = F.grid_sample(img, grid, mode="bilinear", padding_mode="border",
                                       align_corners=True).reshape(g_n, t_n, c_n, h, w)
                loss = ((warped - fixed) ** 2 * roi).mean()
                if s.neighbour > 0 and t_n > 1:
                    nb = ((warped[:, 1:] - warped[:, :-1]) ** 2 * roi).mean()
                    loss = loss + s.neighbour * nb
                if s.smooth > 0:
                    dxp = params[:, :, :, 1:] - params[:, :, :, :-1]
                    dyp = params[:, :, 1:, :] - params[:, :, :-1, :]
                    loss = loss + s.smooth * ((dxp ** 2).mean() + (dyp ** 2).mean())
                loss.backward()
                adam.step()
        return params.detach()


def register_to_rest(
    images: np.ndarray,
    rest_frame: int,
    *,
    weights: np.ndarray | None = None,
    init: np.ndarray | None = None,
    device: str | torch.device = "auto",
    settings: RegistrationSettings | None = None,
) -> np.ndarray:
    """Register every frame to the rest frame, for one or several groups at once.

    A group is one region (e.g. one organ's crop) with its own rest image and
    its own region-of-interest weights; all groups and frames form one batch.

    Args:
        images: (T, C, H, W) or (G, T, C, H, W) float array; channel 0
            normalized intensity in about [0, 1], other channels soft masks.
        rest_frame: index of the fixed frame.
        weights: optional (G, H, W) or (H, W) weights >= 0 of each pixel of the
            rest frame in the image terms (default uniform).
        device: "auto", "cpu", "cuda", ...
        init: optional starting displacement, same layout as the result (pixels);
            it replaces the lead pass.
        settings: optimization settings (defaults if None).

    Returns:
        (T, 2, H, W) or (G, T, 2, H, W) float32 displacement (dx, dy) in pixels
        on the rest grid; zero for the rest frame.
    """
    s = settings or RegistrationSettings()
    x = np.asarray(images, dtype=np.float32)
    single = x.ndim == 4
    if single:
        x = x[None]
    if x.ndim != 5:
        raise ValueError(f"expected images (T,C,H,W) or (G,T,C,H,W), got {x.shape}")
    g_n, t_n, c_n, h_full, w_full = x.shape
    if not 0 <= rest_frame < t_n:
        raise ValueError(f"rest_frame must be in [0, {t_n - 1}], got {rest_frame}")
    dev = resolve_device(device)
    full = torch.from_numpy(x.reshape(g_n * t_n, c_n, h_full, w_full)).to(dev)
    if weights is None:
        roi_full = torch.ones(g_n, 1, h_full, w_full, device=dev)
    else:
        wts = np.asarray(weights, dtype=np.float32).reshape(-1, 1, h_full, w_full)
        if wts.shape[0] != g_n:
            raise ValueError(f"expected {g_n} weight maps, got {wts.shape[0]}")
        roi_full = torch.from_numpy(wts).to(dev)
    gh = max(4, int(round(h_full / s.control_px)) + 1)
    gw = max(4, int(round(w_full / s.control_px)) + 1)
    params = torch.zeros(g_n * t_n, 2, gh, gw, device=dev)
    keep = torch.ones(g_n, t_n, 1, 1, 1, device=dev)
    keep[:, rest_frame] = 0.0
    keep = keep.reshape(g_n * t_n, 1, 1, 1)
    fit = _Fit(full, roi_full, keep, g_n, rest_frame, s)
    if init is not None:
        params = _project(np.asarray(init, np.float32).reshape(g_n * t_n, 2, h_full, w_full),
                          gh, gw, dev)
    elif c_n > 1 and s.lead_levels > 0:
        lead = slice(0, s.lead_levels)
        params = fit(params, s.levels[lead], s.iters[lead], s.lead_mask_weight)
    params = fit(params, s.levels, s.iters, s.mask_weight)
    with torch.no_grad():
        u = _field(params * keep, _basis(gh, h_full, dev), _basis(gw, w_full, dev))
        u_px = torch.stack([u[:, 0] * (w_full - 1) / 2, u[:, 1] * (h_full - 1) / 2], dim=1)
    out = u_px.cpu().numpy().astype(np.float32).reshape(g_n, t_n, 2, h_full, w_full)
    return out[0] if single else out


def sample_field(field: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sample of a (2, H, W) field at sub-pixel (rows, cols) → (K, 2)."""
    from scipy.ndimage import map_coordinates

    coords = np.vstack([np.asarray(rows, float), np.asarray(cols, float)])
    return np.column_stack([
        map_coordinates(field[0], coords, order=1, mode="nearest"),
        map_coordinates(field[1], coords, order=1, mode="nearest"),
    ])
