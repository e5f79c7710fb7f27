import pytest
import torch

from core.segment.unet import UNet, count_parameters, fuse_batchnorm


@pytest.mark.parametrize("norm", ["instance", "batch", "group"])
def test_output_shape_and_softmax(norm):
    net = UNet(n_classes=4, base_channels=4, depth=3, norm=norm).eval()
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 4, 32, 48)
    p = y.softmax(1)
    assert torch.allclose(p.sum(1), torch.ones(2, 32, 48), atol=1e-5)
    assert count_parameters(net) > 0


def test_channels_last_matches():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        a = net(x)
        cl = torch.channels_last
        b = net.to(memory_format=cl)(x.contiguous(memory_format=cl))
    assert torch.allclose(a, b, atol=1e-5)


def test_input_checks():
    net = UNet(base_channels=4, depth=2)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match=r"expected \(N,1,H,W\)"):
        net(torch.zeros(1, 32, 32))
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="layer")


def test_fused_batchnorm_gives_same_output():
    torch.manual_seed(0)
    net = UNet(base_channels=4, depth=2, norm="batch")
    net.train()
    with torch.no_grad():
        for _ in range(3):  # give the running statistics non-trivial values
            net(torch.randn(4, 1, 32, 32) * 3 + 1)
    net.eval()
    fused = fuse_batchnorm(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(fused(x), net(x), atol=1e-4)


def test_prune_keeps_the_strongest_channels_exactly():
    """Channels switched off (zero BN scale and shift, zero up-convolution) are the ones
    dropped, so a width-8 prune of such a width-16 network computes the same logits."""
    from core.segment.unet import ConvBlock, prune_unet

    torch.manual_seed(0)
    net = UNet(1, 4, base_channels=16, depth=3, norm="batch")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                off = torch.arange(m.num_features) % 2 == 1
                m.weight[~off] = torch.rand(int((~off).sum())) + 0.5
                m.weight[off], m.bias[off] = 0.0, 0.0
        for up in net.ups:
            off = torch.arange(up.out_channels) % 2 == 1
            up.weight[:, off], up.bias[off] = 0.0, 0.0
    net.eval()
    small = prune_unet(net, 8).eval()
    assert small.config["base_channels"] == 8
    assert sum(isinstance(m, ConvBlock) for m in small.modules()) == 7
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(prune_unet(net, 16).eval()(x), net(x))


def test_prune_refuses_other_norms_and_wider_targets():
    from core.segment.unet import prune_unet

    with pytest.raises(ValueError, match="batch-norm"):
        prune_unet(UNet(1, 4, 8, 2, "instance"), 4)
    with pytest.raises(ValueError, match="base_channels"):
        prune_unet(UNet(1, 4, 8, 2, "batch"), 9)
