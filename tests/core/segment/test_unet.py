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
