"""The FBNet space as HW-NAS-Bench defines it (Wu et al., 2019; Li et al., 2021) and its op-string view.

Layout: a 3x3 conv-BN-ReLU stem to 16 channels, 22 searchable layers in stages of
``1, 4, 4, 4, 4, 4, 1`` layers at ``16, 24, 32, 64, 112, 184, 352`` channels, a 1x1 conv-BN-ReLU
head, global pooling and a linear classifier. The first layer of a stage carries the stage's stride
(``cifar``: stem 1, stages ``1, 1, 2, 2, 1, 2, 1``, head 1504, HW-NAS-Bench's CIFAR-100 setting;
``imagenet``: stem 2, stages ``1, 2, 2, 2, 1, 2, 1``, head 1984).

Each layer ``l0`` .. ``l21`` chooses one of nine candidates, in HW-NAS-Bench's index order:
``k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip``. ``kK_eE[_gG]`` is an
inverted-residual block (1x1 conv with G groups to E*C_in, channel shuffle when G > 1, KxK depthwise
conv with the stride, 1x1 conv with G groups to C_out; BN after each conv, ReLU after the first two;
plus the input when shape and width are kept). ``skip`` is the identity, or a 1x1 conv-BN-ReLU where
the layer changes width or resolution.

The op string is the 22 candidate names joined by ``-`` (the layout of the shared FBNet latency data).

Example:
    >>> from hwnas.search_spaces.fbnet import arch_to_fbnet_str, fbnet_str_to_arch
    >>> s = "-".join(["k3_e6"] * 11 + ["skip"] * 11)
    >>> arch_to_fbnet_str(fbnet_str_to_arch(s)) == s
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hwnas.api import ARCHS, SPACES, ArchSpec, ArchSpecError, Choice, RegistryError, check_arch, freeze_module
from hwnas.search_spaces._checks import check_float, check_int, check_option

#: The nine candidates, in HW-NAS-Bench's index order (its ``op_idx_list`` indexes this tuple).
FBNET_OPS: tuple[str, ...] = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: Layers and channels per stage (FBNet-v1).
STAGE_LAYERS: tuple[int, ...] = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 112, 184, 352)
VARIANTS = ("cifar", "imagenet")
_VARIANT = {
    # stem stride, stage strides, head channels, default classes, input side
    "cifar": (1, (1, 1, 2, 2, 1, 2, 1), 1504, 100, 32),
    "imagenet": (2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000, 224),
}
N_LAYERS = sum(STAGE_LAYERS)
FBNET_LABELS: tuple[str, ...] = tuple(f"l{i}" for i in range(N_LAYERS))


def _divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ChannelShuffle(nn.Module):
    """Interleave the channels of ``groups`` groups so the next grouped conv mixes them."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = int(groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class FBNetBlock(nn.Module):
    """Inverted residual ``kK_eE_gG``: grouped 1x1 expand, depthwise KxK, grouped 1x1 project."""

    def __init__(self, c_in: int, c_out: int, stride: int, *, kernel: int, expansion: int, groups: int = 1) -> None:
        super().__init__()
        mid = c_in * expansion
        layers: list[nn.Module] = [nn.Conv2d(c_in, mid, 1, bias=False, groups=groups), nn.BatchNorm2d(mid),
                                   nn.ReLU(inplace=True)]
        if groups > 1:
            layers.append(ChannelShuffle(groups))
        layers += [
            nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False), nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, c_out, 1, bias=False, groups=groups), nn.BatchNorm2d(c_out),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class FBNetSkip(nn.Module):
    """``skip``: the identity, or a 1x1 conv-BN-ReLU where width or resolution changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.proj = None
        if stride != 1 or c_in != c_out:
            self.proj = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out),
                                      nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.proj is None else self.proj(x)


def _block_factory(name: str) -> Any:
    if name == "skip":
        return lambda c_in, c_out, stride, **_: FBNetSkip(c_in, c_out, stride)
    parts = name.split("_")
    kernel, expansion = int(parts[0][1:]), int(parts[1][1:])
    groups = int(parts[2][1:]) if len(parts) > 2 else 1
    return lambda c_in, c_out, stride, **_: FBNetBlock(c_in, c_out, stride, kernel=kernel, expansion=expansion,
                                                       groups=groups)


#: Candidate name -> factory ``f(c_in, c_out, stride) -> nn.Module``.
FBNET_FACTORIES: dict[str, Any] = {name: _block_factory(name) for name in FBNET_OPS}


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class FBNetSpace(nn.Module):
    """HW-NAS-Bench's FBNet space: 22 layer decisions ``l0`` .. ``l21`` over 9 candidates each.

    Args:
        variant: ``cifar`` (32x32, HW-NAS-Bench's CIFAR-100 setting) or ``imagenet`` (224x224).
        num_classes: Classifier outputs (default 100 for cifar, 1000 for imagenet).
        width_mult: Channel multiplier (channels rounded to multiples of 8; 1.0 is the benchmark's).
        in_channels: Image channels.
        head_width: Output channels of the 1x1 head conv before ``width_mult`` (default: the variant's,
            1504 for cifar and 1984 for imagenet; FBNet-A uses 1504 on ImageNet). It grows with
            ``width_mult`` above 1 and is kept below.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces.fbnet import FBNetSpace, fbnet_str_to_arch
        >>> space = FBNetSpace(width_mult=0.25, num_classes=10)
        >>> net = space.freeze(fbnet_str_to_arch("-".join(["k3_e1_g2"] * 22)))
        >>> net(torch.zeros(1, 3, 16, 16)).shape
        torch.Size([1, 10])
    """

    space_name = "fbnet"
    default_input_size: tuple[int, int, int] = (3, 32, 32)

    def __init__(
        self, *, variant: str = "cifar", num_classes: int | None = None, width_mult: float = 1.0, in_channels: int = 3,
        head_width: int | None = None,
    ) -> None:
        super().__init__()
        owner = "FBNetSpace"
        variant = check_option(owner, "variant", variant, VARIANTS)
        stem_stride, strides, head, default_classes, side = _VARIANT[variant]
        num_classes = check_int(owner, "num_classes", default_classes if num_classes is None else num_classes,
                                minimum=1)
        width_mult = check_float(owner, "width_mult", width_mult, low=0.05, high=4.0)
        in_channels = check_int(owner, "in_channels", in_channels, minimum=1)
        if head_width is not None:
            head = check_int(owner, "head_width", head_width, minimum=1)
        self.space_kwargs = {"variant": variant, "num_classes": num_classes, "width_mult": width_mult,
                             "in_channels": in_channels, "head_width": head_width}
        self.default_input_size = (in_channels, side, side)
        width = [_divisible(16 * width_mult)] + [_divisible(c * width_mult) for c in STAGE_CHANNELS]
        self.stem = _conv_bn_relu(in_channels, width[0], 3, stem_stride)
        layers: list[nn.Module] = []
        c_in = width[0]
        self.stem_stride = stem_stride
        self.layer_shapes: list[tuple[int, int, int]] = []  # (c_in, c_out, stride) per layer
        for stage, n in enumerate(STAGE_LAYERS):
            c_out = width[stage + 1]
            for k in range(n):
                label = FBNET_LABELS[len(layers)]
                stride = strides[stage] if k == 0 else 1
                layers.append(Choice(FBNET_FACTORIES, label=label, c_in=c_in, c_out=c_out, stride=stride))
                self.layer_shapes.append((c_in, c_out, stride))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        head_c = head if width_mult <= 1.0 else _divisible(head * width_mult)
        self.head = _conv_bn_relu(c_in, head_c, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head_c, num_classes)

    @property
    def layer_labels(self) -> tuple[str, ...]:
        return FBNET_LABELS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.layers(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))

    def freeze(self, arch: ArchSpec) -> nn.Module:
        """The plain network for an ``fbnet`` ArchSpec (e.g. from :func:`fbnet_str_to_arch`)."""
        if arch.space != self.space_name:
            raise ArchSpecError(f"FBNetSpace.freeze needs an ArchSpec of space 'fbnet', got {arch.space!r}")
        return freeze_module(self, arch)

    def timm_spec(self, arch: ArchSpec) -> dict[str, Any]:
        """What timm's EfficientNet builder needs to build ``arch`` at this space's setting (plain types).

        ``kK_eE`` is timm's ``ir`` block; ``skip`` is left out where it is the identity and is timm's
        ``cn`` (1x1 conv-BN-ReLU) where it changes width or resolution.

        Raises:
            ArchSpecError: for ``kK_e1_g2``: its grouped 1x1 convs and channel shuffle have no timm block
                string (timm's group size applies to the depthwise conv only).
        """
        arch = check_arch(self, arch)
        stages: list[list[str]] = []
        for i, (label, (c_in, c_out, stride)) in enumerate(zip(FBNET_LABELS, self.layer_shapes)):
            if i in _STAGE_STARTS:
                stages.append([])
            op = str(arch.choices[label])
            if op.endswith("_g2"):
                raise ArchSpecError(
                    f"FBNet layer {label} is {op!r}: grouped 1x1 convolutions with a channel shuffle have no timm "
                    "block (timm's group size applies to the depthwise conv only); export this architecture with "
                    "--format pt or onnx"
                )
            if op == "skip":
                if stride != 1 or c_in != c_out:
                    stages[-1].append(f"cn_r1_k1_s{stride}_c{c_out}")
                continue
            k, e = (int(p[1:]) for p in op.split("_")[:2])
            stages[-1].append(f"ir_r1_k{k}_s{stride}_e{e}_c{c_out}")
        return {"arch_def": [s for s in stages if s], "stem_size": self.stem[0].out_channels,
                "stem_stride": self.stem_stride, "num_features": self.head[0].out_channels, "act_layer": "relu",
                "in_chans": self.space_kwargs["in_channels"], "num_classes": self.space_kwargs["num_classes"],
                "drop_rate": 0.0}


_STAGE_STARTS = frozenset(sum(STAGE_LAYERS[:i]) for i in range(len(STAGE_LAYERS)))


def fbnet_ops_to_arch(ops: Sequence[str | int], **space_kwargs: Any) -> ArchSpec:
    """An ArchSpec from 22 candidate names or HW-NAS-Bench op indices (0..8)."""
    if isinstance(ops, str) or len(ops) != N_LAYERS:
        n = "a string" if isinstance(ops, str) else f"{len(ops)} entries"
        raise ArchSpecError(f"an FBNet architecture needs {N_LAYERS} ops, got {n}")
    choices: dict[str, str] = {}
    for i, op in enumerate(ops):
        if isinstance(op, int) and not isinstance(op, bool):
            if not 0 <= op < len(FBNET_OPS):
                raise ArchSpecError(f"FBNet op index {op} of layer {i} is out of range 0..{len(FBNET_OPS) - 1}")
            op = FBNET_OPS[op]
        if op not in FBNET_OPS:
            raise ArchSpecError(f"unknown FBNet op {op!r} at layer {i}; ops: {', '.join(FBNET_OPS)}")
        choices[FBNET_LABELS[i]] = op
    return ArchSpec("fbnet", choices, dict(space_kwargs))


def fbnet_str_to_arch(ops_str: str, **space_kwargs: Any) -> ArchSpec:
    """Parse ``k5_e6-skip-...`` (22 candidate names joined by ``-``) into an ``fbnet`` ArchSpec.

    Raises:
        ArchSpecError: naming the wrong layer count or the unknown op.
    """
    if not isinstance(ops_str, str):
        raise ArchSpecError(f"an FBNet op string must be a string, got {type(ops_str).__name__}")
    ops = ops_str.strip().split("-")
    if len(ops) != N_LAYERS:
        raise ArchSpecError(
            f"FBNet op string {ops_str!r} has {len(ops)} ops; expected {N_LAYERS} names joined by '-', "
            f"each one of {', '.join(FBNET_OPS)}"
        )
    return fbnet_ops_to_arch(ops, **space_kwargs)


def arch_to_fbnet_str(arch: ArchSpec) -> str:
    """The ``-``-joined op string of an ``fbnet`` ArchSpec (inverse of :func:`fbnet_str_to_arch`)."""
    if arch.space != "fbnet":
        raise ArchSpecError(f"an FBNet op string needs an ArchSpec of space 'fbnet', got {arch.space!r}")
    extra = sorted(set(arch.choices) - set(FBNET_LABELS))
    if extra:
        raise ArchSpecError(f"ArchSpec has label(s) {extra[:5]} that are not FBNet layers; layers: l0 .. l21")
    ops = []
    for label in FBNET_LABELS:
        op = arch.choices.get(label)
        if op not in FBNET_OPS:
            raise ArchSpecError(f"choice {label!r} = {op!r} is not an FBNet op; ops: {', '.join(FBNET_OPS)}")
        ops.append(str(op))
    return "-".join(ops)


def _published(ops: str, **kwargs: Any) -> ArchSpec:
    return fbnet_ops_to_arch(ops.split(), variant="imagenet", num_classes=1000, width_mult=1.0, in_channels=3,
                             **kwargs)


#: FBNet-A (Wu et al., 2019) on ImageNet: 4,321,464 parameters, 249.9M MACs (paper: 4.3M, 249M); head 1504.
#: Source: facebookresearch/mobile-vision ``fbnet_building_blocks/fbnet_modeldef_cls.py`` (``fbnet_a``).
FBNET_A = _published(
    "skip k3_e3 k3_e1 skip skip k5_e6 k3_e3 k5_e1 k3_e3 k5_e6 k5_e3 k5_e1_g2 k5_e6 "
    "k3_e6 k5_e1_g2 k5_e3 k3_e1_g2 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6",
    head_width=1504,
)
#: FBNet-B on ImageNet: 4,813,048 parameters, 296.6M MACs (paper: 4.5M, 295M). The blocks and the 1984 head
#: are the official model definition's and the MACs agree, so the paper's parameter figure is the odd one out.
#: Source: mobile-vision ``fbnet_b``, maskrcnn-benchmark ``fbnet_b``.
FBNET_B = _published(
    "k3_e1 k3_e6 k5_e1 k3_e1 k3_e1 k5_e6 k5_e3 k3_e6 k5_e6 k5_e6 k5_e1 skip k5_e3 "
    "k5_e6 k3_e1 k5_e1 k5_e3 k5_e6 k5_e1 k5_e6 k5_e6 k3_e6",
)
#: FBNet-C on ImageNet: 5,572,200 parameters, 385.0M MACs (paper: 5.5M, 375M), equal to timm's ``fbnetc_100``.
#: Source: mobile-vision ``fbnet_c`` and timm's ``fbnetc`` arch_def (the same 21 blocks, one skip).
FBNET_C = _published(
    "k3_e1 k3_e6 skip k3_e1 k3_e1 k5_e6 k5_e3 k5_e6 k3_e6 k5_e6 k5_e3 k5_e6 k5_e6 "
    "k5_e6 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k3_e6",
)

try:
    SPACES.register("fbnet", FBNetSpace)
    ARCHS.register("fbnet_a", FBNET_A)
    ARCHS.register("fbnet_b", FBNET_B)
    ARCHS.register("fbnet_c", FBNET_C)
except RegistryError:  # this file imported a second time under another module name (e.g. by path): keep the first
    pass

__all__ = [
    "FBNET_A", "FBNET_B", "FBNET_C",
    "FBNET_LABELS", "FBNET_OPS", "FBNetBlock", "FBNetSkip", "FBNetSpace", "arch_to_fbnet_str", "fbnet_ops_to_arch",
    "fbnet_str_to_arch",
]
