"""Architecture parameters are registered, so DistributedDataParallel sees and syncs them (gloo, one process)."""

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from hwnas.api import SUPERNETS
from tests.supernets._toy_spaces import ToyCellSpace


@pytest.fixture
def process_group(tmp_path):
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("strategy", ["darts", "pc_darts", "proxyless"])
def test_ddp_wraps_supernet_and_alpha_gets_gradients(process_group, strategy):
    torch.manual_seed(0)
    supernet = SUPERNETS.get(strategy)(ToyCellSpace())
    ddp = DDP(supernet, find_unused_parameters=True)
    arch_names = {n for n, p in supernet.named_parameters() if any(p is a for a in supernet.arch_parameters())}
    assert arch_names and all(n.startswith(("alpha.", "beta.")) for n in arch_names)
    x = torch.randn(2, 3, 8, 8)
    out = ddp(x)
    nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    assert any(a.grad is not None and a.grad.abs().sum() > 0 for a in supernet.arch_parameters())
    # DDP's state_dict carries α under the wrapper's prefix, so a checkpoint holds the architecture
    assert any(k.startswith("module.alpha.") for k in ddp.state_dict())
