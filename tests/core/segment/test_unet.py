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


def _trained_looking(net):
    """Random BatchNorm statistics and affine parameters, as after training."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net


def test_deepen_adds_a_level_and_keeps_the_logits():
    """The deepened network has one more level (inputs a multiple of twice as much) and,
    before any training, gives the shallow network's labels: its new decoder level passes
    the old bottleneck's output on and ignores the new branch."""
    from core.segment.unet import deepen_unet

    torch.manual_seed(0)
    net = _trained_looking(UNet(1, 4, base_channels=8, depth=3, norm="batch")).eval()
    deep = deepen_unet(net).eval()
    assert deep.config == {**net.config, "depth": 4}
    assert deep.multiple == 2 * net.multiple
    assert count_parameters(deep) > count_parameters(net)
    x = torch.randn(3, 1, 48, 64)
    with torch.no_grad():
        a, b = net(x), deep(x)
    # only the features' small negative part (LeakyReLU slope 0.01) passes a LeakyReLU again
    assert (a - b).abs().max() < 0.02 * a.abs().max()
    assert (a.argmax(1) == b.argmax(1)).float().mean() > 0.999
    # the old weights are where the deeper network uses them
    torch.testing.assert_close(deep.encoders[3].state_dict(), net.bottleneck.state_dict())
    torch.testing.assert_close(deep.decoders[1].state_dict(), net.decoders[0].state_dict())
    torch.testing.assert_close(deep.head.state_dict(), net.head.state_dict())


def test_deepen_in_training_mode_starts_near_the_old_network_and_learns_the_new_level():
    from core.segment.unet import deepen_unet

    torch.manual_seed(1)
    net = _trained_looking(UNet(1, 4, base_channels=8, depth=2, norm="batch"))
    deep = deepen_unet(net)
    net.train()
    deep.train()
    x = torch.randn(4, 1, 32, 32)
    a, b = net(x), deep(x)
    # batch statistics instead of running ones: close, not equal
    assert (a.argmax(1) == b.argmax(1)).float().mean() > 0.95
    b.square().mean().backward()
    c = deep.decoders[0].block[0].out_channels
    new_branch = deep.decoders[0].block[0].weight.grad[:, :c]  # weights on the new level
    assert new_branch.abs().sum() > 0
    assert deep.bottleneck.block[0].weight.grad is not None


def test_deepen_refuses_other_norms():
    from core.segment.unet import deepen_unet

    with pytest.raises(ValueError, match="batch-norm"):
        deepen_unet(UNet(1, 4, 8, 2, "instance"))
