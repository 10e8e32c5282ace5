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


def _layout(variant: str, width_mult: float, widths: tuple[int, ...]) -> dict[str, Any]:
    strides = [s for _, _, s in STAGES] if variant == "imagenet" else list(_CIFAR_STRIDES)
    blocks = []
    for width, (_, n, _), stride in zip(widths, STAGES, strides):
        c = make_divisible(width * width_mult)
        blocks += [(c, stride if k == 0 else 1, k == 0) for k in range(n)]
    return {
        "stem_stride": 2 if variant == "imagenet" else 1,
        "stem": make_divisible(32 * width_mult),
        "first": make_divisible(16 * width_mult),
        "last": make_divisible(1280 * width_mult) if width_mult > 1.0 else 1280,
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
                 in_channels: int = 3, dropout: float = 0.0, widths: Sequence[int] = DEFAULT_WIDTHS) -> None:
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
        self.space_kwargs = {"variant": variant, "num_classes": num_classes, "width_mult": width_mult,
                             "in_channels": in_channels, "dropout": dropout, "widths": widths}
        side = 224 if variant == "imagenet" else 32
        self.default_input_size = (in_channels, side, side)
        lay = _layout(variant, width_mult, tuple(widths))
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


def to_timm_arch_def(arch: ArchSpec) -> list[list[str]]:
    """timm ``arch_def`` (stages of block strings such as ``ir_r1_k3_s2_e6_c24``) of a proxyless ArchSpec.

    Widths follow ``arch.space_kwargs`` (``variant``, ``width_mult``); zero blocks are left out.
    """
    space = ProxylessSpace(**{k: v for k, v in arch.space_kwargs.items() if k != "num_classes"}, num_classes=1)
    arch = check_arch(space, arch)
    lay = space.layout
    stages: list[list[str]] = [[f"ds_r1_k3_s1_c{lay['first']}"]]
    for label, (c_out, stride, first) in zip(space.block_labels, lay["blocks"]):
        op = arch.choices[label]
        if first:
            stages.append([])
        if op == "zero":
            continue
        k, e = (int(p[1:]) for p in str(op).split("_")[1:])
        stages[-1].append(f"ir_r1_k{k}_s{stride}_e{e}_c{c_out}")
    return stages


def build_timm_model(arch: ArchSpec, *, num_classes: int | None = None, **kwargs: Any) -> nn.Module:
    """A timm ``EfficientNet`` with the blocks of ``arch`` (same parameters as ``ProxylessSpace.freeze``).

    The CIFAR variant's stride-1 stem is set on the built model (timm's stem is stride 2).

    Example:
        >>> from hwnas.api import ArchSpec
        >>> from hwnas.search_spaces import ProxylessSpace
        >>> space = ProxylessSpace(variant="cifar", width_mult=0.25)
        >>> arch = ArchSpec("proxyless", {l: "ir_k5_e6" for l in space.block_labels}, space.space_kwargs)
        >>> type(build_timm_model(arch)).__name__
        'EfficientNet'
    """
    from timm.models._efficientnet_builder import decode_arch_def
    from timm.models.efficientnet import EfficientNet

    sk = dict(arch.space_kwargs)
    space = ProxylessSpace(**sk)
    lay = space.layout
    model = EfficientNet(
        block_args=decode_arch_def(to_timm_arch_def(arch)),
        num_classes=space.space_kwargs["num_classes"] if num_classes is None else num_classes,
        num_features=lay["last"], in_chans=space.space_kwargs["in_channels"], stem_size=lay["stem"], fix_stem=True,
        round_chs_fn=lambda c: c, act_layer=nn.ReLU6, drop_rate=space.space_kwargs["dropout"], **kwargs,
    )
    if lay["stem_stride"] != 2:
        model.conv_stem.stride = (lay["stem_stride"],) * 2
    return model


def _proxyless_mobile() -> ArchSpec:
    """ProxylessNAS-Mobile (Cai et al., 2019; 4.08M parameters): kernel/expansion per block, two skipped blocks."""
    kernels = (5, 3, 3, 3, 7, 3, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7)
    expansions = (3, 3, 3, 3, 3, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6, 6, 3, 3, 6)
    choices = {f"b{i:02d}": "zero" if i in (3, 4) else f"ir_k{k}_e{e}"
               for i, (k, e) in enumerate(zip(kernels, expansions), start=1)}
    kwargs = {"variant": "imagenet", "num_classes": 1000, "width_mult": 1.0, "in_channels": 3, "dropout": 0.0,
              "widths": [32, 40, 80, 96, 192, 320]}
    return ArchSpec("proxyless", choices, kwargs)


ARCHS.register("proxyless_mobile", _proxyless_mobile())
