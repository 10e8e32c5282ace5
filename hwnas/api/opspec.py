"""OpSpec: what a cost model prices."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class OpSpec:
    """One operation as a cost model sees it. Shapes are per sample (batch in ``batch``).

    ``kind`` is one of ``conv``, ``linear``, ``pool``, ``eltwise``, ``norm``, ``act``, ``other``.
    For a linear layer, ``h_in = w_in = h_out = w_out = 1`` and kernel is ``(1, 1)``.
    ``macs`` is the multiply-accumulate count of one sample.
    """

    kind: str
    c_in: int
    c_out: int
    h_in: int = 1
    w_in: int = 1
    h_out: int = 1
    w_out: int = 1
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    batch: int = 1
    bits_w: int = 8
    bits_a: int = 8
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def macs(self) -> int:
        if self.kind == "conv":
            return self.h_out * self.w_out * self.c_out * (self.c_in // self.groups) * self.kernel[0] * self.kernel[1]
        if self.kind == "linear":
            return self.c_in * self.c_out
        return 0

    @property
    def is_depthwise(self) -> bool:
        return self.kind == "conv" and self.groups == self.c_in and self.groups > 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
