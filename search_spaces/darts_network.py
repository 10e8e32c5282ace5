"""The DARTS evaluation network built from a ``Genotype``: auxiliary head, drop-path, CIFAR and ImageNet stems."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwnas.api import OPS, ArchSpec
from hwnas.search_spaces._checks import check_float, check_int, check_option
from hwnas.search_spaces.darts_genotypes import Genotype, genotype_from_arch
from hwnas.search_spaces.ops import FactorizedReduce, ReLUConvBN

STEMS = ("cifar", "imagenet")


class DartsStem(nn.Module):
    """The stem; returns the two states ``(s0, s1)`` the first cell reads.

    ``cifar``: 3x3 conv to ``stem_multiplier * C`` + BN, both states equal. ``imagenet``: two stride-2
    convs to C (stem0) and one more stride-2 conv (stem1), so the first cell sees 1/8 resolution.
    """

    def __init__(self, kind: str, in_channels: int, C: int, stem_multiplier: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "cifar":
            c = stem_multiplier * C
            self.stem0 = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
            self.stem1 = None
            self.out_channels, self.reduction_prev = (c, c), False
        else:
            self.stem0 = nn.Sequential(
                nn.Conv2d(in_channels, C // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C),
            )
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=True), nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C)
            )
            self.out_channels, self.reduction_prev = (C, C), True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, (s0 if self.stem1 is None else self.stem1(s0))


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells (at 1/3 and 2/3 of the depth, as in DARTS)."""
    return layers // 3, 2 * layers // 3


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest (DARTS' drop-path).

    timm's ``drop_path``: the same draws as DARTS's (one Bernoulli(1 - p) per sample) and the same scaling.
    """
    from timm.layers import drop_path as _timm_drop_path

    return _timm_drop_path(x, drop_prob, training=True)


class EvalCell(nn.Module):
    """One cell of the evaluation network: each node sums two ops of earlier states."""

    def __init__(self, edges: Sequence[tuple[str, int]], concat: Sequence[int], c_pp: int, c_p: int, C: int,
                 *, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, C) if reduction_prev else ReLUConvBN(c_pp, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, C, 1, 1, 0)
        self.inputs = [int(j) for _, j in edges]
        self.ops = nn.ModuleList(OPS.get(op)(C, C, 2 if reduction and j < 2 else 1) for op, j in edges)
        self.concat = [int(i) for i in concat]
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(len(self.ops) // 2):
            node = None
            for e in (2 * k, 2 * k + 1):
                op = self.ops[e]
                h = op(states[self.inputs[e]])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                node = h if node is None else node + h
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The DARTS auxiliary classifier (on an 8x8 map for CIFAR, 7x7 for ImageNet).

    Maps smaller than the paper's (tiny test images) skip the 5x5 pooling; any map is then pooled to
    2x2 so the 2x2 conv gives 1x1 (a no-op at the papers' sizes).
    """

    def __init__(self, C: int, num_classes: int, *, imagenet: bool) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.pool = nn.AvgPool2d(5, stride=2 if imagenet else 3, padding=0, count_include_pad=False)
        self.fit = nn.AdaptiveAvgPool2d(2)
        layers: list[nn.Module] = [
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if not imagenet:  # the DARTS ImageNet head has no BN here (kept out to match its counts)
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if min(x.shape[-2:]) >= 5:
            x = self.pool(x)
        x = self.features(self.fit(x))
        return self.classifier(x.flatten(1))


class DartsNetwork(nn.Module):
    """The evaluation network of a DARTS genotype (the papers' NetworkCIFAR / NetworkImageNet).

    ``forward`` returns logits, or ``(logits, aux_logits)`` in training mode when ``auxiliary``.
    The retrain loop sets ``net.drop_path_prob`` per epoch. The papers count parameters without
    the auxiliary head: ``hwnas.api.count_params(net, exclude=("auxiliary_head",))``.

    Args:
        genotype: A :class:`Genotype` or a DARTS-space :class:`ArchSpec`.
        C: Initial channels. layers: Number of cells. num_classes: Classifier outputs.
        auxiliary: Build the auxiliary head after cell ``2 * layers // 3``.
        drop_path_prob: Initial drop-path probability. stem: ``cifar`` or ``imagenet``.
        in_channels: Image channels. stem_multiplier: CIFAR stem width as a multiple of C.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import DARTS_V2, DartsNetwork
        >>> net = DartsNetwork(DARTS_V2, C=8, layers=5, auxiliary=False).eval()
        >>> net(torch.zeros(2, 3, 16, 16)).shape
        torch.Size([2, 10])
    """

    def __init__(self, genotype: Genotype | ArchSpec, *, C: int = 36, layers: int = 20, num_classes: int = 10,
                 auxiliary: bool = True, drop_path_prob: float = 0.0, stem: str = "cifar", in_channels: int = 3,
                 stem_multiplier: int = 3) -> None:
        super().__init__()
        owner = "DartsNetwork"
        C = check_int(owner, "C", C, minimum=2)
        layers = check_int(owner, "layers", layers, minimum=3)
        num_classes = check_int(owner, "num_classes", num_classes, minimum=1)
        in_channels = check_int(owner, "in_channels", in_channels, minimum=1)
        stem = check_option(owner, "stem", stem, STEMS)
        self.drop_path_prob = check_float(owner, "drop_path_prob", drop_path_prob, low=0.0, high=1.0)
        if isinstance(genotype, ArchSpec):
            genotype = genotype_from_arch(genotype)
        self.genotype = genotype
        self.stem = DartsStem(stem, in_channels, C, check_int(owner, "stem_multiplier", stem_multiplier, minimum=1))
        (c_pp, c_p), reduction_prev = self.stem.out_channels, self.stem.reduction_prev
        reductions = reduction_layers(layers)
        self.aux_index = reductions[1]
        self.cells = nn.ModuleList()
        c_cur, c_aux = C, None
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c_cur *= 2
            if reduction:
                edges, concat = genotype.reduce, genotype.reduce_concat
            else:
                edges, concat = genotype.normal, genotype.normal_concat
            cell = EvalCell(edges, concat, c_pp, c_p, c_cur, reduction=reduction, reduction_prev=reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes, imagenet=stem == "imagenet") if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0, s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if aux is None else (logits, aux)
