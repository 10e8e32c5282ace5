"""The ProxylessNAS / MobileNetV2 layer-wise space (Cai et al., 2019) and its timm export.

ImageNet layout (``variant="imagenet"``, 224x224): stem 3x3 conv 32 stride 2, a fixed MBConv e1 k3
to 16, then 21 searchable blocks in stages 24x4 s2, 40x4 s2, 80x4 s2, 96x4 s1, 192x4 s2, 320x1 s1,
then a 1x1 conv to 1280, global pooling and a linear classifier. The CIFAR variant (32x32) keeps the
blocks and widths but has a stride-1 stem and a stride-1 first stage (24x4 s1), so the network
downsamples 8x (32 -> 4), as the common CIFAR MobileNetV2 does.

Each block is a decision ``b01`` .. ``b21`` over ``ir_k{3,5,7}_e{3,6}``; blocks that are not the first
of their stage may also be ``zero`` (skipped): the space adds the residual around the op, so ``zero``
makes the block an identity.

Example:
    >>> from hwnas.search_spaces import ProxylessSpace
    >>> space = ProxylessSpace(variant="cifar", width_mult=0.25)
    >>> len(space.block_labels)
    21
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hwnas.api import ARCHS, OPS, ArchSpec, ArchSpecError, Choice, ConfigError, check_arch, freeze_module
from hwnas.search_spaces._checks import check_float, check_int, check_option
from hwnas.search_spaces.ops import MB_OPS, Zero

VARIANTS = ("imagenet", "cifar")
#: (width, blocks, stride of the first block) per stage, ImageNet layout.
STAGES: tuple[tuple[int, int, int], ...] = ((24, 4, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1))
_CIFAR_STRIDES = (1, 2, 2, 1, 2, 1)
DEFAULT_WIDTHS = tuple(w for w, _, _ in STAGES)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round ``v`` to a multiple of ``divisor`` without going below 90% of it (MobileNetV2's rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class MBBlock(nn.Module):
    """One searchable block: ``op(x)``, plus ``x`` when the block keeps size and width."""

    def __init__(self, op: nn.Module, *, residual: bool) -> None:
        super().__init__()
        self.op = op
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        return x + y if self.residual else y


def _layout(variant: str, width_mult: float, widths: tuple[int, ...], *, stem_width: int, first_width: int,
            head_width: int) -> dict[str, Any]:
    strides = [s for _, _, s in STAGES] if variant == "imagenet" else list(_CIFAR_STRIDES)
    blocks = []
    for width, (_, n, _), stride in zip(widths, STAGES, strides):
        c = make_divisible(width * width_mult)
        blocks += [(c, stride if k == 0 else 1, k == 0) for k in range(n)]
    return {
        "stem_stride": 2 if variant == "imagenet" else 1,
        "stem": make_divisible(stem_width * width_mult),
        "first": make_divisible(first_width * width_mult),
        # MobileNetV2's rule: the head only grows with the width, never shrinks.
        "last": make_divisible(head_width * width_mult) if width_mult > 1.0 else head_width,
        "blocks": blocks,  # (out channels, stride, first of its stage)
    }


class ProxylessSpace(nn.Module):
    """ProxylessNAS's MobileNetV2-based space with 21 searchable MBConv blocks.

    Args:
        variant: ``imagenet`` (224x224, 32x downsampling) or ``cifar`` (32x32, 8x).
        num_classes: Classifier outputs (default 1000 for imagenet, 10 for cifar).
        width_mult: Channel multiplier (channels rounded to multiples of 8).
        in_channels: Image channels. dropout: Dropout before the classifier.
        widths: Output channels of the six stages before ``width_mult`` (the search's 24, 40, 80, 96,
            192, 320; ProxylessNAS' published mobile network uses 32 for the first).
        stem_width: Output channels of the stem conv before ``width_mult`` (32; ProxylessNAS-GPU/CPU use 40).
        first_width: Output channels of the fixed first block before ``width_mult`` (16; GPU/CPU use 24).
        head_width: Output channels of the 1x1 conv before pooling (1280; GPU 1728, CPU 1432); it
            grows with ``width_mult`` above 1 and is kept below, as in MobileNetV2.

    Example:
        >>> import torch
        >>> from hwnas.api import ArchSpec
        >>> space = ProxylessSpace(variant="cifar", width_mult=0.25)
        >>> arch = ArchSpec("proxyless", {label: "ir_k3_e3" for label in space.block_labels})
        >>> space.freeze(arch)(torch.zeros(1, 3, 16, 16)).shape
        torch.Size([1, 10])
    """

    space_name = "proxyless"
    default_input_size: tuple[int, int, int] = (3, 224, 224)

    def __init__(self, *, variant: str = "imagenet", num_classes: int | None = None, width_mult: float = 1.0,
                 in_channels: int = 3, dropout: float = 0.0, widths: Sequence[int] = DEFAULT_WIDTHS,
                 stem_width: int = 32, first_width: int = 16, head_width: int = 1280) -> None:
        super().__init__()
        owner = "ProxylessSpace"
        variant = check_option(owner, "variant", variant, VARIANTS)
        if num_classes is None:
            num_classes = 1000 if variant == "imagenet" else 10
        num_classes = check_int(owner, "num_classes", num_classes, minimum=1)
        width_mult = check_float(owner, "width_mult", width_mult, low=1e-3)
        in_channels = check_int(owner, "in_channels", in_channels, minimum=1)
        dropout = check_float(owner, "dropout", dropout, low=0.0, high=1.0)
        if not isinstance(widths, Sequence) or len(widths) != len(STAGES):
            raise ConfigError(f"{owner}: widths must list {len(STAGES)} stage widths, got {widths!r}")
        widths = [check_int(owner, "widths[i]", w, minimum=1) for w in widths]
        stem_width = check_int(owner, "stem_width", stem_width, minimum=1)
        first_width = check_int(owner, "first_width", first_width, minimum=1)
        head_width = check_int(owner, "head_width", head_width, minimum=1)
        self.space_kwargs = {"variant": variant, "num_classes": num_classes, "width_mult": width_mult,
                             "in_channels": in_channels, "dropout": dropout, "widths": widths,
                             "stem_width": stem_width, "first_width": first_width, "head_width": head_width}
        side = 224 if variant == "imagenet" else 32
        self.default_input_size = (in_channels, side, side)
        lay = _layout(variant, width_mult, tuple(widths), stem_width=stem_width, first_width=first_width,
                      head_width=head_width)
        self.layout = lay
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, lay["stem"], 3, stride=lay["stem_stride"], padding=1, bias=False),
            nn.BatchNorm2d(lay["stem"]), nn.ReLU6(inplace=True),
        )
        self.first_block = OPS.get("ir_k3_e1")(lay["stem"], lay["first"], 1)
        blocks, c_in, labels = [], lay["first"], []
        for idx, (c_out, stride, first) in enumerate(lay["blocks"], start=1):
            label = f"b{idx:02d}"
            cands = MB_OPS if first else (*MB_OPS, "zero")
            choice = Choice(cands, label=label, c_in=c_in, c_out=c_out, stride=stride)
            blocks.append(MBBlock(choice, residual=stride == 1 and c_in == c_out))
            labels.append(label)
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.block_labels = tuple(labels)
        self.feature_mix = nn.Sequential(
            nn.Conv2d(c_in, lay["last"], 1, bias=False), nn.BatchNorm2d(lay["last"]), nn.ReLU6(inplace=True)
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(lay["last"], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feature_mix(self.blocks(self.first_block(self.stem(x))))
        return self.classifier(self.dropout(self.global_pooling(x).flatten(1)))

    def freeze(self, arch: ArchSpec) -> nn.Module:
        """The plain network of ``arch``; skipped (``zero``) blocks become ``nn.Identity``."""
        if arch.space != self.space_name:
            raise ArchSpecError(f"ProxylessSpace.freeze needs an ArchSpec of space 'proxyless', got {arch.space!r}")
        net = freeze_module(self, arch)
        for i, block in enumerate(net.blocks):
            if isinstance(block.op, Zero):
                net.blocks[i] = nn.Identity()
        return net

    def timm_spec(self, arch: ArchSpec) -> dict[str, Any]:
        """What timm's EfficientNet builder needs to build ``arch`` at this space's setting (plain types).

        ``arch_def`` lists stages of block strings: the fixed first block is timm's ``ds`` (depthwise
        separable, MobileNetV2's expansion-1 block), each kept block an ``ir`` string; zero blocks are
        left out (timm adds the residual wherever shape and width are kept, as this space does).
        ``hwnas.export.build_timm_model`` turns it into a model.
        """
        arch = check_arch(self, arch)
        lay = self.layout
        # timm adds a residual to a stride-1 ds block of equal widths; this space's first block has none.
        noskip = "_noskip" if lay["stem"] == lay["first"] else ""
        stages: list[list[str]] = [[f"ds_r1_k3_s1_c{lay['first']}{noskip}"]]
        for label, (c_out, stride, first) in zip(self.block_labels, lay["blocks"]):
            op = arch.choices[label]
            if first:
                stages.append([])
            if op == "zero":
                continue
            k, e = (int(p[1:]) for p in str(op).split("_")[1:])
            stages[-1].append(f"ir_r1_k{k}_s{stride}_e{e}_c{c_out}")
        sk = self.space_kwargs
        return {"arch_def": [s for s in stages if s], "stem_size": lay["stem"], "stem_stride": lay["stem_stride"],
                "num_features": lay["last"], "act_layer": "relu6", "in_chans": sk["in_channels"],
                "num_classes": sk["num_classes"], "drop_rate": sk["dropout"]}


def to_timm_arch_def(arch: ArchSpec) -> list[list[str]]:
    """timm ``arch_def`` (stages of block strings such as ``ir_r1_k3_s2_e6_c24``) of a proxyless ArchSpec.

    Widths follow ``arch.space_kwargs``; zero blocks are left out. See :meth:`ProxylessSpace.timm_spec`.
    """
    kwargs = {k: v for k, v in arch.space_kwargs.items() if k != "num_classes"}
    return ProxylessSpace(**kwargs, num_classes=1).timm_spec(arch)["arch_def"]


def _published(ops: str, **kwargs: Any) -> ArchSpec:
    # ``ops``: 21 blocks as ``kKeE`` or ``zero``, in block order.
    names = ops.split()
    assert len(names) == 21, len(names)
    choices = {f"b{i:02d}": "zero" if op == "zero" else f"ir_k{op[1]}_e{op[3]}" for i, op in enumerate(names, start=1)}
    space_kwargs = {"variant": "imagenet", "num_classes": 1000, "width_mult": 1.0, "in_channels": 3, "dropout": 0.0}
    return ArchSpec("proxyless", choices, {**space_kwargs, **kwargs})


#: ProxylessNAS-Mobile (Cai et al., 2019): 4,080,512 parameters (paper: 4.1M; osmr/imgclsmob's count is the same).
#: Source: mit-han-lab/proxylessnas, ``proxyless_mobile.config``.
PROXYLESS_MOBILE = _published(
    "k5e3 k3e3 zero zero k7e3 k3e3 k5e3 k5e3 k7e6 k5e3 k5e3 k5e3 k5e6 k5e3 k5e3 k5e3 k7e6 k7e6 k7e3 k7e3 k7e6",
    widths=[32, 40, 80, 96, 192, 320],
)
#: ProxylessNAS-GPU: 7,119,848 parameters (paper: 7.1M; the official training log prints 7.12M). Stem 40,
#: first block 24, head 1728. Source: han-cai/files ``proxylessnas/proxyless_gpu.config``.
PROXYLESS_GPU = _published(
    "k5e3 zero zero zero k7e3 zero zero k3e3 k7e6 zero zero k5e3 k5e6 zero k3e3 k5e3 k7e6 k7e6 k7e6 k5e6 k7e6",
    widths=[32, 56, 112, 128, 256, 432], stem_width=40, first_width=24, head_width=1728,
)
#: ProxylessNAS-CPU: 4,361,648 parameters (paper: 4.4M). Stem 40, first block 24, head 1432.
#: Source: han-cai/files ``proxylessnas/proxyless_cpu.config``.
PROXYLESS_CPU = _published(
    "k3e6 k3e3 k3e3 k3e3 k3e6 k3e3 k3e3 k5e3 k3e6 zero zero k3e3 k5e6 k3e3 k3e3 k3e3 k5e6 k5e3 k5e3 k3e3 k5e6",
    widths=[32, 48, 88, 104, 216, 360], stem_width=40, first_width=24, head_width=1432,
)

ARCHS.register("proxyless_mobile", PROXYLESS_MOBILE)
ARCHS.register("proxyless_gpu", PROXYLESS_GPU)
ARCHS.register("proxyless_cpu", PROXYLESS_CPU)
