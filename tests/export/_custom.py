"""A user's own space, referred to by import path (``export._custom:TinyUserSpace``) in the export tests."""

import torch
from torch import nn

from hwnas.api import Choice


class TinyUserSpace(nn.Module):
    space_name = "export._custom:TinyUserSpace"
    default_input_size = (3, 8, 8)

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = Choice(["sep_conv_3x3", "skip_connect", "nor_conv_1x1"], label="b1", c_in=8, c_out=8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b1(self.stem(x)))
