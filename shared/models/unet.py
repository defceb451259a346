"""A compact 2D / 2.5D U-Net (Ronneberger et al. 2015) with GroupNorm or InstanceNorm.

2.5D is 2D with the neighbouring slices as extra input channels. Upsampling
is nearest-neighbour followed by a 1×1 convolution (no transposed
convolution), so every layer has an Opacus per-sample-gradient rule. The
output is one logit map per label (multi-label: apply a sigmoid), whose bias
starts at ``logit(0.01)`` (Lin et al. 2017's prior for rare foreground), so
training does not first spend its steps learning that most pixels are background.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from shared.models.blocks import ConvBlock
from shared.schemas.training import ModelSpec

__all__ = ["FOREGROUND_PRIOR_LOGIT", "UNet2d"]

FOREGROUND_PRIOR_LOGIT = -math.log(99.0)
"""Initial bias of the output maps: ``logit(0.01)``."""


class UNet2d(nn.Module):
    """U-Net over ``(batch, in_channels, H, W)``; H and W divisible by ``2**(levels-1)``.

    Parameters
    ----------
    spec
        Widths per level (``spec.features``), normalisation and dropout
        (``Dropout2d`` before the output layer; MC dropout keeps it on).
    in_channels
        Input channels (``2k + 1`` for 2.5D with ``k`` context slices).
    out_channels
        One logit map per label.
    """

    def __init__(self, spec: ModelSpec, in_channels: int, out_channels: int) -> None:
        super().__init__()
        features = list(spec.features)
        self.down = nn.ModuleList()
        previous = in_channels
        for width in features:
            self.down.append(ConvBlock(spec, previous, width))
            previous = width
        self.pool = nn.MaxPool2d(2)
        self.up_project = nn.ModuleList()
        self.up = nn.ModuleList()
        for deeper, width in zip(features[:0:-1], features[-2::-1], strict=True):
            self.up_project.append(nn.Conv2d(deeper, width, 1))
            self.up.append(ConvBlock(spec, 2 * width, width))
        self.dropout = nn.Dropout2d(spec.dropout) if spec.dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(features[0], out_channels, 1)
        # Lesions cover a small share of the pixels: start every map at a low foreground
        # probability (logit of 1 %), as RetinaNet does for rare classes, instead of 0.5.
        assert self.head.bias is not None
        nn.init.constant_(self.head.bias, FOREGROUND_PRIOR_LOGIT)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(batch, out_channels, H, W)``."""
        skips: list[Tensor] = []
        for index, block in enumerate(self.down):
            if index:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        skips.pop()
        for project, block in zip(self.up_project, self.up, strict=True):
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = project(x)
            x = block(torch.cat([x, skips.pop()], dim=1))
        logits: Tensor = self.head(self.dropout(x))
        return logits
