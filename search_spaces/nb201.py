"""The NAS-Bench-201 cell space (Dong & Yang, 2020) and its arch-string view.

The network is the benchmark's: a 3x3 conv stem, ``N`` cells at C, a ResNet basic block to 2C
(stride 2), N cells, a block to 4C, N cells, BN-ReLU, global pooling and a linear classifier.
Every cell has nodes 0..3; node ``i`` sums one op per earlier node ``j`` (edge label ``"i<-j"``),
and the six edge decisions are shared by all cells.

Example:
    >>> from hwnas.search_spaces.nb201 import arch_to_nb201_str, nb201_str_to_arch
    >>> s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    >>> arch_to_nb201_str(nb201_str_to_arch(s)) == s
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, ArchSpecError, Choice, freeze_module
from hwnas.search_spaces._checks import check_candidates, check_int
from hwnas.search_spaces.ops import NB201_OPS, ReLUConvBN

#: The six edges ``(node, source)`` in the order of the benchmark's arch string.
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
DEFAULT_KWARGS: dict[str, Any] = {"C": 16, "N": 5, "num_classes": 10, "in_channels": 3}


def nb201_edge_label(node: int, source: int) -> str:
    """Decision label of edge ``source -> node``, e.g. ``"2<-1"``."""
    return f"{node}<-{source}"


class NB201Cell(nn.Module):
    """Four nodes; node i = sum over j < i of edge (i <- j) applied to node j."""

    def __init__(self, C: int, candidates: tuple[str, ...] = NB201_OPS) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({
            f"{i}_{j}": Choice(candidates, label=nb201_edge_label(i, j), c_in=C, c_out=C) for i, j in NB201_EDGES
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for i in range(1, 4):
            out = self.edges[f"{i}_0"](nodes[0])
            for j in range(1, i):
                out = out + self.edges[f"{i}_{j}"](nodes[j])
            nodes.append(out)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """The benchmark's reduction block: two ReLU-conv-BN 3x3 plus a pooled 1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False)
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


class NB201Space(nn.Module):
    """The NAS-Bench-201 space: 6 shared edge decisions over 5 ops; ``freeze`` gives the benchmark's network.

    Args:
        C: Channels of the first stage (16 in the benchmark). N: Cells per stage (5).
        num_classes: Classifier outputs. in_channels: Image channels.
        candidates: A subset of the benchmark's 5 ops (default: all). Pooling is the benchmark's bare
            3x3 average pooling: the NB201 search cell puts no BN after it.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space, nb201_str_to_arch
        >>> space = NB201Space(C=4, N=1)
        >>> arch = nb201_str_to_arch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
        >>> space.freeze(arch)(torch.zeros(1, 3, 8, 8)).shape
        torch.Size([1, 10])
    """

    space_name = "nb201"
    default_input_size: tuple[int, int, int] = (3, 32, 32)
    #: The benchmark's CIFAR-10 network, which ``hwnas report`` (``--setting paper``) gives figures for.
    report_kwargs: dict[str, Any] = {"C": 16, "N": 5, "num_classes": 10, "in_channels": 3}

    def __init__(self, *, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
                 candidates: Sequence[str] | None = None) -> None:
        super().__init__()
        owner = "NB201Space"
        C = check_int(owner, "C", C, minimum=1)
        N = check_int(owner, "N", N, minimum=1)
        num_classes = check_int(owner, "num_classes", num_classes, minimum=1)
        in_channels = check_int(owner, "in_channels", in_channels, minimum=1)
        self.candidates = check_candidates(owner, candidates, NB201_OPS)
        self.space_kwargs: dict[str, Any] = {"C": C, "N": N, "num_classes": num_classes, "in_channels": in_channels}
        if self.candidates != NB201_OPS:
            self.space_kwargs["candidates"] = list(self.candidates)
        self.default_input_size = (in_channels, 32, 32)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                cells.append(ResNetBasicBlock(width // 2, width, 2))
            cells += [NB201Cell(width, self.candidates) for _ in range(N)]
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(x).flatten(1))

    def freeze(self, arch: ArchSpec) -> nn.Module:
        """The benchmark's network for ``arch`` (an ``nb201`` ArchSpec, e.g. from :func:`nb201_str_to_arch`)."""
        if arch.space != self.space_name:
            raise ArchSpecError(f"NB201Space.freeze needs an ArchSpec of space 'nb201', got {arch.space!r}")
        return freeze_module(self, arch)


def nb201_str_to_arch(arch_str: str, **space_kwargs: Any) -> ArchSpec:
    """Parse the benchmark's arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` into an ArchSpec.

    Raises:
        ArchSpecError: naming what is malformed (node count, separators, input index, op name).
    """
    if not isinstance(arch_str, str):
        raise ArchSpecError(f"an NB201 arch string must be a string, got {type(arch_str).__name__}")
    s = arch_str.strip()
    hint = "expected e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'"
    nodes = s.split("+")
    if len(nodes) != 3:
        raise ArchSpecError(f"NB201 arch string {arch_str!r} must have 3 nodes separated by '+'; {hint}")
    choices: dict[str, str] = {}
    where = f"NB201 arch string {arch_str!r}"
    for i, node in enumerate(nodes, start=1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise ArchSpecError(f"{where}: node {i} {node!r} must start and end with '|'; {hint}")
        tokens = node[1:-1].split("|")
        if len(tokens) != i:
            raise ArchSpecError(f"{where}: node {i} needs {i} edge(s), got {len(tokens)}; {hint}")
        for j, tok in enumerate(tokens):
            op, sep, src = tok.partition("~")
            if not sep or src != str(j):
                raise ArchSpecError(f"{where}: edge {tok!r} of node {i} must read 'op~{j}'; {hint}")
            if op not in NB201_OPS:
                raise ArchSpecError(f"{where}: unknown op {op!r}; ops: {', '.join(NB201_OPS)}")
            choices[nb201_edge_label(i, j)] = op
    return ArchSpec("nb201", choices, {**DEFAULT_KWARGS, **space_kwargs})


def arch_to_nb201_str(arch: ArchSpec) -> str:
    """The benchmark's arch string of an ``nb201`` ArchSpec (inverse of :func:`nb201_str_to_arch`)."""
    if arch.space != "nb201":
        raise ArchSpecError(f"an NB201 arch string needs an ArchSpec of space 'nb201', got {arch.space!r}")
    extra = sorted(set(arch.choices) - {nb201_edge_label(i, j) for i, j in NB201_EDGES})
    if extra:
        raise ArchSpecError(f"ArchSpec has label(s) {extra} that are not NB201 edges; edges: 1<-0 .. 3<-2")
    parts: list[str] = []
    for i in range(1, 4):
        ops = []
        for j in range(i):
            op = arch.choices.get(nb201_edge_label(i, j))
            if op not in NB201_OPS:
                raise ArchSpecError(
                    f"choice {nb201_edge_label(i, j)!r} = {op!r} is not an NB201 op; ops: {', '.join(NB201_OPS)}"
                )
            ops.append(f"{op}~{j}")
        parts.append("|" + "|".join(ops) + "|")
    return "+".join(parts)
