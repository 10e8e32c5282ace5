"""How a step runs (memory format, autocast, which gradients) never changes what it computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas.losses import SearchLoss
from hwnas.search import TrainConfig
from hwnas.search.execution import apply_channels_last, autocast_dtype, use_channels_last
from hwnas.search.loop import BilevelTrainer
from hwnas.search_spaces import DartsSpace, NB201Space
from hwnas.supernets import DartsSupernet, GdasSupernet, PCDartsSupernet, ProxylessSupernet

CPU = torch.device("cpu")


def test_auto_settings_resolve_by_device():
    assert autocast_dtype(False, "bfloat16", CPU) is None
    assert autocast_dtype(True, "float16", CPU) is torch.bfloat16  # float16 autocast is a CUDA dtype
    assert use_channels_last("auto", CPU, amp=None) and not use_channels_last(False, CPU, amp=None)
    assert not use_channels_last("auto", torch.device("cuda"), amp=None)
    assert use_channels_last("auto", torch.device("cuda"), amp=torch.bfloat16)


def test_auto_autocast_follows_the_cpus_native_bf16(monkeypatch):
    import hwnas.search.execution as ex

    monkeypatch.setattr(ex, "cpu_has_native_bf16", lambda: True)
    assert ex.autocast_dtype("auto", "float16", CPU) is torch.bfloat16
    monkeypatch.setattr(ex, "cpu_has_native_bf16", lambda: False)
    assert ex.autocast_dtype("auto", "float16", CPU) is None


def test_narrow_convolutions_stay_nchw_under_channels_last():
    # oneDNN corrupts the heap on the weight gradient of this conv with an NHWC input (torch 2.14.1, CPU)
    net = nn.Sequential(nn.Conv2d(4, 4, 1, stride=2, bias=False), nn.Conv2d(4, 8, 1), nn.Conv2d(8, 8, 3))
    apply_channels_last(net)
    apply_channels_last(net)  # idempotent: one hook per conv
    assert len(net[0]._forward_pre_hooks) == 1
    assert net[0].weight.stride() == (4, 1, 1, 1) and net[2].weight.is_contiguous(memory_format=torch.channels_last)
    seen = []
    net[0].register_forward_pre_hook(lambda m, a: seen.append(a[0].is_contiguous()))
    x = torch.randn(2, 4, 8, 8).contiguous(memory_format=torch.channels_last)
    net(x).sum().backward()
    assert seen == [True]


def _trainer(strategy, space, **train):
    torch.manual_seed(0)
    net = strategy(space)
    return net, BilevelTrainer(net, loss=SearchLoss(), train=TrainConfig(epochs=1, progress=False, **train), device=CPU)


def _batch(n=8, c=3, hw=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, hw, hw, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("strategy", [DartsSupernet, PCDartsSupernet, GdasSupernet, ProxylessSupernet])
def test_each_step_differentiates_only_what_it_trains(strategy):
    net, tr = _trainer(strategy, DartsSpace(C=4, layers=3))
    b = _batch()
    tr.arch_step(b, b)
    assert all(p.grad is None for p in tr.w_params)  # no weight gradient computed
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in tr.a_params)
    assert all(p.requires_grad for p in tr.w_params)  # thawed again
    net.zero_grad(set_to_none=True)
    tr.weight_step(b)
    assert all(p.grad is None for p in tr.a_params)
    assert all(p.requires_grad for p in tr.a_params)


@pytest.mark.parametrize("strategy", [DartsSupernet, PCDartsSupernet])
def test_the_fast_step_computes_the_gradients_of_the_plain_step(strategy):
    """channels_last, the trained-only gradients, the shared ReLU and the fast layers against all off."""
    grads = {}
    for fast in (True, False):
        torch.manual_seed(0)
        net = strategy(DartsSpace(C=8, layers=3), shared_relu=fast)
        cfg = TrainConfig(epochs=1, progress=False, channels_last="auto" if fast else False,
                          grad_scope="trained" if fast else "all")
        tr = BilevelTrainer(net, loss=SearchLoss(), train=cfg, device=CPU)
        tr.a_opt.step = tr.w_opt.step = lambda *a, **k: None  # keep the gradients of one step each
        b = _batch(seed=3)
        tr.arch_step(b, b)
        ga = torch.cat([p.grad.flatten() for p in tr.a_params])
        tr.weight_step(b)
        gw = torch.cat([p.grad.flatten() for p in tr.w_params])
        grads[fast] = ga, gw
    for got, want in zip(grads[True], grads[False]):
        assert float((got - want).norm() / want.norm()) < 5e-3  # float32 rounding in another layout


def test_second_order_refuses_amp_true_but_takes_auto():
    with pytest.raises(ValueError, match="second"):
        TrainConfig(order="second", amp=True)
    net, tr = _trainer(DartsSupernet, NB201Space(C=4, N=1), order="second", amp="auto")
    assert tr.amp_dtype is None
