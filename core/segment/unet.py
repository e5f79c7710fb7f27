"""A configurable 2D U-Net (Ronneberger et al. 2015) for frame-wise segmentation.

The network maps a one-channel intensity-normalised frame (N, 1, H, W) to
class logits (N, n_classes, H, W); class 0 is background and classes 1.. are
the organs of the model config.  H and W must be multiples of ``2**depth``
(the Segmenter pads to that).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

NORMS = ("instance", "batch", "group")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


class ConvBlock(nn.Module):
    """Two 3×3 convolutions, each followed by normalisation and LeakyReLU."""

    def __init__(self, c_in: int, c_out: int, norm: str) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            _norm(norm, c_out),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            _norm(norm, c_out),
            nn.LeakyReLU(0.01, inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class UNet(nn.Module):
    """2D U-Net with ``depth`` down-sampling steps.

    Args:
        in_channels: input channels (1 for a grey-level frame).
        n_classes: output classes including background (1 + number of organs).
        base_channels: channels of the first level; level k has
            ``base_channels * 2**k`` (capped at 16 × base).
        depth: number of 2× down-sampling steps (input sides must be
            multiples of ``2**depth``).
        norm: ``"instance"``, ``"batch"`` or ``"group"`` normalisation.

    Shapes:
        forward: (N, in_channels, H, W) float → logits (N, n_classes, H, W).
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 4,
        base_channels: int = 16,
        depth: int = 4,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        if in_channels < 1 or n_classes < 2 or base_channels < 1 or depth < 1:
            raise ValueError(
                f"invalid U-Net: in_channels={in_channels}, n_classes={n_classes}, "
                f"base_channels={base_channels}, depth={depth}"
            )
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.config = {
            "in_channels": in_channels, "n_classes": n_classes,
            "base_channels": base_channels, "depth": depth, "norm": norm,
        }
        chans = [base_channels * min(2**k, 16) for k in range(depth + 1)]
        self.encoders = nn.ModuleList()
        c_prev = in_channels
        for c in chans[:-1]:
            self.encoders.append(ConvBlock(c_prev, c, norm))
            c_prev = c
        self.bottleneck = ConvBlock(chans[-2], chans[-1], norm)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for k in range(depth - 1, -1, -1):
            self.ups.append(nn.ConvTranspose2d(chans[k + 1], chans[k], 2, stride=2))
            self.decoders.append(ConvBlock(2 * chans[k], chans[k], norm))
        self.head = nn.Conv2d(chans[0], n_classes, 1)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this number (``2**depth``)."""
        return 2 ** int(self.config["depth"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits (N, n_classes, H, W) of frames (N, C, H, W)."""
        if x.ndim != 4 or x.shape[1] != self.config["in_channels"]:
            raise ValueError(
                f"expected (N,{self.config['in_channels']},H,W) input, got {tuple(x.shape)}"
            )
        m = self.multiple
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"input sides must be multiples of {m}, got {tuple(x.shape[-2:])}")
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def fuse_batchnorm(model: UNet) -> UNet:
    """Inference copy of a batch-norm U-Net with every BatchNorm folded into its convolution.

    Same outputs (up to rounding) in eval mode, fewer memory passes; models with
    other normalisations are returned as an eval-mode copy unchanged.
    """
    fused = copy.deepcopy(model).eval()
    if fused.config["norm"] != "batch":
        return fused
    for block in fused.modules():
        if isinstance(block, ConvBlock):
            seq = block.block
            for i in (0, 3):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    return fused


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _top(score: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest scores, in ascending index order."""
    return torch.sort(torch.topk(score, k).indices).values


def _slice_block(src: ConvBlock, dst: ConvBlock, in_idx: torch.Tensor) -> torch.Tensor:
    """Copy the strongest channels of a batch-norm ConvBlock into a narrower one.

    Channel strength = |BatchNorm scale| of that channel.  Returns the indices of
    the kept output channels (the next layer's input).
    """
    s, d = src.block, dst.block
    idx = in_idx
    for conv, bn in ((0, 1), (3, 4)):
        keep = _top(s[bn].weight.detach().abs(), d[conv].out_channels)
        d[conv].weight.data.copy_(s[conv].weight.data[keep][:, idx])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(d[bn], name).data.copy_(getattr(s[bn], name).data[keep])
        idx = keep
    return idx


def prune_unet(model: UNet, base_channels: int) -> UNet:
    """A narrower U-Net initialised from the strongest channels of a wider one.

    Each convolution keeps the channels with the largest BatchNorm scale (the
    network-slimming criterion of Liu et al. 2017), each up-convolution those with
    the largest weight norm; skip connections keep the indices chosen in the
    encoder.  The result is a starting point for fine-tuning, not a finished model.

    Args:
        model: a batch-norm UNet.
        base_channels: width of the new network (<= the model's).

    Raises:
        ValueError: other normalisation, or a wider target.
    """
    cfg = model.config
    if cfg["norm"] != "batch":
        raise ValueError("pruning needs a batch-norm U-Net")
    if not 1 <= base_channels <= cfg["base_channels"]:
        raise ValueError(f"base_channels must be in [1, {cfg['base_channels']}], "
                         f"got {base_channels}")
    small = UNet(cfg["in_channels"], cfg["n_classes"], base_channels, cfg["depth"], "batch")
    with torch.no_grad():
        idx = torch.arange(cfg["in_channels"])
        skips = []
        for src, dst in zip(model.encoders, small.encoders, strict=True):
            idx = _slice_block(src, dst, idx)
            skips.append(idx)
        idx = _slice_block(model.bottleneck, small.bottleneck, idx)
        for k, (up_s, up_d, dec_s, dec_d) in enumerate(
                zip(model.ups, small.ups, model.decoders, small.decoders, strict=True)):
            skip = skips[-1 - k]
            score = up_s.weight.detach().abs().sum(dim=(0, 2, 3))
            up_idx = _top(score, up_d.out_channels)
            up_d.weight.data.copy_(up_s.weight.data[idx][:, up_idx])
            up_d.bias.data.copy_(up_s.bias.data[up_idx])
            cat_idx = torch.cat([up_idx, up_s.out_channels + skip])
            idx = _slice_block(dec_s, dec_d, cat_idx)
        small.head.weight.data.copy_(model.head.weight.data[:, idx])
        small.head.bias.data.copy_(model.head.bias.data)
    return small


def _leaky_relu_moments(mean: torch.Tensor, std: torch.Tensor, slope: float = 0.01
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of LeakyReLU(X) for X ~ N(mean, std²), per channel."""
    std = std.clamp_min(1e-6)
    z = mean / std
    cdf = torch.special.ndtr(z)
    pdf = torch.exp(-0.5 * z * z) / (2 * torch.pi) ** 0.5
    pos1 = mean * cdf + std * pdf  # E[max(X, 0)]
    pos2 = (mean * mean + std * std) * cdf + mean * std * pdf  # E[max(X, 0)²]
    neg1, neg2 = mean - pos1, mean * mean + std * std - pos2
    m1 = pos1 + slope * neg1
    m2 = pos2 + slope * slope * neg2
    return m1, (m2 - m1 * m1).clamp_min(1e-12).sqrt()


def deepen_unet(model: UNet) -> UNet:
    """A batch-norm U-Net one level deeper that starts out computing nearly what ``model`` does.

    The old bottleneck becomes the deepest encoder level; below it a new bottleneck and
    up-convolution (default initialisation) feed a new decoder level whose convolutions
    start as the identity on the skip connection (the old bottleneck's output) and zero
    on the new branch, so the new level is learnt during fine-tuning (the zero weights get
    gradients from the first step) without first undoing the old network.  The new
    level's BatchNorms are set, scale and statistics alike, to the moments of the old
    bottleneck's output (its BatchNorm's shift and scale through the LeakyReLU, taken as
    Gaussian), so that normalising by the batch's statistics in training mode, as by the
    running ones in eval mode, gives back about the same features.  The only difference
    in eval mode is that the features' small negative part (LeakyReLU slope 0.01) passes
    the LeakyReLU again.  A starting point for fine-tuning more capacity at little CPU
    cost (docs/segmentation.md, "A fifth level"), not a finished model.

    Raises:
        ValueError: a model with another normalisation.
    """
    cfg = model.config
    if cfg["norm"] != "batch":
        raise ValueError("deepening needs a batch-norm U-Net")
    depth = int(cfg["depth"])
    deep = UNet(cfg["in_channels"], cfg["n_classes"], cfg["base_channels"], depth + 1, "batch")
    with torch.no_grad():
        for src, dst in zip(model.encoders, deep.encoders, strict=False):
            dst.load_state_dict(src.state_dict())
        deep.encoders[depth].load_state_dict(model.bottleneck.state_dict())
        for k in range(depth):  # old level k's up and decoder are new level k + 1's
            deep.ups[k + 1].load_state_dict(model.ups[k].state_dict())
            deep.decoders[k + 1].load_state_dict(model.decoders[k].state_dict())
        deep.head.load_state_dict(model.head.state_dict())
        last_bn = model.bottleneck.block[4]
        mean, std = _leaky_relu_moments(last_bn.bias.detach(), last_bn.weight.detach().abs())
        seq = deep.decoders[0].block
        c = seq[0].out_channels
        eye = torch.arange(c)
        for conv, bn, c_in in ((0, 1, 2 * c), (3, 4, c)):
            w = torch.zeros(c, c_in, 3, 3)
            w[eye, c_in - c + eye, 1, 1] = 1.0  # identity on the skip (the last c inputs)
            seq[conv].weight.copy_(w)
            seq[bn].weight.copy_(std)
            seq[bn].bias.copy_(mean)
            seq[bn].running_mean.copy_(mean)
            seq[bn].running_var.copy_(std * std)
    return deep
