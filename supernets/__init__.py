"""hwnas.supernets: relaxation strategies that turn any space of Choices into a trainable supernet.

Registered in :data:`hwnas.api.SUPERNETS`: ``darts``, ``pc_darts``, ``proxyless``, ``gdas``.
Every strategy is an ``nn.Module`` built as ``cls(space, **kwargs)`` that relaxes the space in
place and exposes ``arch_parameters()``, ``weight_parameters()``, ``probabilities()``,
``input_weights()``, ``export()``, ``set_phase("weight"|"arch")``, ``after_arch_step()`` and
``arch_state()``.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from hwnas.api import SUPERNETS, Choice
    >>> conv = lambda k: (lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2))
    >>> space = nn.Sequential(Choice({"k1": conv(1), "k3": conv(3)}, label="op", c_in=3, c_out=4))
    >>> net = SUPERNETS.get("darts")(space)
    >>> net(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 4, 8, 8])
"""

from hwnas.api import SUPERNETS
from hwnas.supernets._base import Mix, RelaxedChoice, Supernet, SupernetError, WeightedInputs
from hwnas.supernets.darts import DartsMixedOp, DartsSupernet
from hwnas.supernets.gdas import GdasSupernet, GumbelMixedOp
from hwnas.supernets.pc_darts import PartialMixedOp, PCDartsSupernet, channel_shuffle, shuffled_cat
from hwnas.supernets.proxyless import ProxylessMixedOp, ProxylessSupernet

for _name, _cls in (
    ("darts", DartsSupernet),
    ("pc_darts", PCDartsSupernet),
    ("proxyless", ProxylessSupernet),
    ("gdas", GdasSupernet),
):
    SUPERNETS.register(_name, _cls)

__all__ = [
    "DartsMixedOp", "DartsSupernet", "Mix", "GdasSupernet", "GumbelMixedOp", "PCDartsSupernet", "PartialMixedOp",
    "ProxylessMixedOp", "ProxylessSupernet", "RelaxedChoice", "Supernet", "SupernetError",
    "WeightedInputs", "channel_shuffle", "shuffled_cat",
]
