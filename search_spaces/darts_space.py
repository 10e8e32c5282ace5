"""The DARTS cell search space (Liu et al., 2019), written with the public ``Choice`` / ``InputChoice`` API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, ArchSpecError, Choice, ConfigError, InputChoice, check_arch
from hwnas.search_spaces._checks import check_candidates, check_int, check_option
from hwnas.search_spaces._narrow_bn import BatchNorm2d
from hwnas.search_spaces.darts_genotypes import (
    CELL_TYPES,
    CIFAR_EVAL_KWARGS,
    IMAGENET_EVAL_KWARGS,
    edge_label,
    genotype_from_arch,
    node_label,
)
from hwnas.search_spaces.darts_network import STEMS, DartsNetwork, DartsStem, reduction_layers
from hwnas.search_spaces.ops import DARTS_OPS, FactorizedReduce, ReLUConvBN, pool_3x3


def max_pool_3x3_bn(c_in: int, c_out: int, stride: int, *, affine: bool = True) -> nn.Module:
    """Search-time max pooling followed by a non-affine BN, as DARTS' mixed op has it."""
    return nn.Sequential(pool_3x3("max", c_in, c_out, stride, affine), BatchNorm2d(c_out, affine=False))


def avg_pool_3x3_bn(c_in: int, c_out: int, stride: int, *, affine: bool = True) -> nn.Module:
    """Search-time average pooling followed by a non-affine BN, as DARTS' mixed op has it."""
    return nn.Sequential(pool_3x3("avg", c_in, c_out, stride, affine), BatchNorm2d(c_out, affine=False))


#: Candidates of every DARTS edge at search time: names are the DARTS op names. The search cell owns
#: the BN after pooling (DARTS's MixedOp adds it; no supernet strategy adds another).
SEARCH_CANDIDATES: dict[str, Any] = {
    name: {"max_pool_3x3": max_pool_3x3_bn, "avg_pool_3x3": avg_pool_3x3_bn}.get(name, name) for name in DARTS_OPS
}
#: The 7-op DARTS space of DARTS-PT and GM-NAS (their ``s5``): the 8 DARTS ops without ``none``.
DARTS_OPS_NO_NONE: tuple[str, ...] = tuple(n for n in DARTS_OPS if n != "none")


class SearchCell(nn.Module):
    """A DARTS search cell: every node may read every earlier state through a Choice edge; an
    InputChoice per node keeps two of them."""

    def __init__(self, cell_type: str, steps: int, multiplier: int, c_pp: int, c_p: int, C: int,
                 *, reduction_prev: bool, candidates: tuple[str, ...] = DARTS_OPS) -> None:
        super().__init__()
        self.cell_type, self.steps, self.multiplier = cell_type, steps, multiplier
        reduction = cell_type == "reduce"
        self.preprocess0 = (FactorizedReduce(c_pp, C, affine=False) if reduction_prev
                            else ReLUConvBN(c_pp, C, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(c_p, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleDict()
        self.nodes = nn.ModuleDict()
        for i in range(2, steps + 2):
            for j in range(i):
                self.edges[f"n{i}_e{j}"] = Choice(
                    {n: SEARCH_CANDIDATES[n] for n in candidates}, label=edge_label(cell_type, i, j), c_in=C, c_out=C,
                    stride=2 if reduction and j < 2 else 1, op_kwargs={"affine": False},
                )
            self.nodes[f"n{i}"] = InputChoice(
                n_candidates=i, n_chosen=2, label=node_label(cell_type, i),
                sources=[edge_label(cell_type, i, j) for j in range(i)],
            )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(2, self.steps + 2):
            states.append(self.nodes[f"n{i}"]([self.edges[f"n{i}_e{j}"](states[j]) for j in range(i)]))
        return torch.cat(states[-self.multiplier:], dim=1)


class DartsSpace(nn.Module):
    """The DARTS search network: ``layers`` cells, reduction cells at 1/3 and 2/3 of the depth.

    Edge ``j -> i`` of every normal cell is one decision ``normal/n{i}_e{j}`` over the 8 DARTS ops
    (reduction cells: ``reduce/...``); node ``i`` keeps two inputs (``normal/n{i}``). Ops are built
    without BN affine parameters and pooling is followed by one non-affine BN, as in DARTS search.
    ``candidates`` picks a subset of the ops (DARTS-PT and GM-NAS search 7, without ``none``:
    :data:`DARTS_OPS_NO_NONE`). ``freeze(arch)`` returns the evaluation :class:`DartsNetwork` at this
    space's C and depth.

    Example:
        >>> import torch
        >>> from hwnas.api import ARCHS
        >>> from hwnas.search_spaces import DartsSpace
        >>> space = DartsSpace(C=4, layers=3)
        >>> net = space.freeze(ARCHS.get("darts_v2")).eval()
        >>> net(torch.zeros(1, 3, 16, 16)).shape
        torch.Size([1, 10])
    """

    space_name = "darts"
    default_input_size: tuple[int, int, int] = (3, 32, 32)

    @staticmethod
    def report_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
        """The papers' evaluation setting for figures: CIFAR (C=36, 20 cells) or ImageNet (C=48, 14 cells)."""
        return dict(IMAGENET_EVAL_KWARGS if kwargs.get("stem") == "imagenet" else CIFAR_EVAL_KWARGS)

    def __init__(self, *, C: int = 16, layers: int = 8, steps: int = 4, multiplier: int = 4, stem_multiplier: int = 3,
                 num_classes: int = 10, in_channels: int = 3, stem: str = "cifar",
                 candidates: Sequence[str] | None = None) -> None:
        super().__init__()
        owner = "DartsSpace"
        self.C = check_int(owner, "C", C, minimum=2)
        self.layers = check_int(owner, "layers", layers, minimum=3)
        self.steps = check_int(owner, "steps", steps, minimum=1)
        self.multiplier = check_int(owner, "multiplier", multiplier, minimum=1)
        if self.multiplier > self.steps:
            raise ConfigError(f"{owner}: multiplier ({multiplier}) must be <= steps ({steps})")
        self.stem_multiplier = check_int(owner, "stem_multiplier", stem_multiplier, minimum=1)
        self.num_classes = check_int(owner, "num_classes", num_classes, minimum=1)
        self.in_channels = check_int(owner, "in_channels", in_channels, minimum=1)
        self.stem_kind = check_option(owner, "stem", stem, STEMS)
        self.candidates = check_candidates(owner, candidates, DARTS_OPS)
        self.space_kwargs = {
            "C": self.C, "layers": self.layers, "steps": self.steps, "multiplier": self.multiplier,
            "stem_multiplier": self.stem_multiplier, "num_classes": self.num_classes,
            "in_channels": self.in_channels, "stem": self.stem_kind,
        }
        if self.candidates != DARTS_OPS:  # recorded only when not the default, so older ArchSpecs stay equal
            self.space_kwargs["candidates"] = list(self.candidates)
        side = 32 if stem == "cifar" else 224
        self.default_input_size = (self.in_channels, side, side)

        self.stem = DartsStem(stem, in_channels, C, stem_multiplier)
        (c_pp, c_p), reduction_prev = self.stem.out_channels, self.stem.reduction_prev
        reductions = reduction_layers(layers)
        self.cells = nn.ModuleList()
        c_cur = C
        for i in range(layers):
            cell_type = CELL_TYPES[1] if i in reductions else CELL_TYPES[0]
            if i in reductions:
                c_cur *= 2
            self.cells.append(SearchCell(cell_type, steps, multiplier, c_pp, c_p, c_cur, reduction_prev=reduction_prev,
                                         candidates=self.candidates))
            reduction_prev = i in reductions
            c_pp, c_p = c_p, multiplier * c_cur
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0, s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def freeze(self, arch: ArchSpec, *, auxiliary: bool = False, drop_path_prob: float = 0.0) -> DartsNetwork:
        """The evaluation network of ``arch`` at this space's width, depth, stem and classes.

        Args:
            arch: A DARTS-space ArchSpec (e.g. ``ARCHS.get("darts_v2")`` or a search's export).
            auxiliary: Add the auxiliary head (for retraining). drop_path_prob: Initial drop-path.
        """
        if arch.space != self.space_name:
            raise ArchSpecError(f"DartsSpace.freeze needs an ArchSpec of space 'darts', got {arch.space!r}")
        arch = check_arch(self, arch)
        genotype = genotype_from_arch(arch, multiplier=self.multiplier)
        return DartsNetwork(
            genotype, C=self.C, layers=self.layers, num_classes=self.num_classes, auxiliary=auxiliary,
            drop_path_prob=drop_path_prob, stem=self.stem_kind, in_channels=self.in_channels,
            stem_multiplier=self.stem_multiplier,
        )
