"""A small DenseNet (Huang et al. 2017) with GroupNorm or InstanceNorm instead of BatchNorm.

Each dense block has ``spec.layers_per_block`` layers (norm, ReLU, 3×3 conv
adding ``spec.growth_rate`` channels, concatenated); a transition (norm,
ReLU, 1×1 conv to the next stage's width, 2×2 average pooling) joins blocks.
``spec.features`` gives the stem width and each later block's input width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from shared.models.blocks import norm_layer
from shared.schemas.training import ModelSpec

__all__ = ["SmallDenseNet"]


class _DenseLayer(nn.Module):
    def __init__(self, spec: ModelSpec, in_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            norm_layer(spec, in_channels),
            nn.ReLU(),
            nn.Conv2d(in_channels, spec.growth_rate, 3, padding=1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class SmallDenseNet(nn.Module):
    """DenseNet classifier; output class logits ``(batch, out_channels)``."""

    def __init__(self, spec: ModelSpec, in_channels: int, out_channels: int) -> None:
        super().__init__()
        features = list(spec.features)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, features[0], 3, padding=1, bias=False)]
        width = features[0]
        for index in range(len(features)):
            for _ in range(spec.layers_per_block):
                layers.append(_DenseLayer(spec, width))
                width += spec.growth_rate
            if index + 1 < len(features):
                layers += [
                    norm_layer(spec, width),
                    nn.ReLU(),
                    nn.Conv2d(width, features[index + 1], 1, bias=False),
                    nn.AvgPool2d(2),
                ]
                width = features[index + 1]
        layers += [norm_layer(spec, width), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(width, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits."""
        pooled = self.pool(self.features(x)).flatten(1)
        logits: Tensor = self.classifier(self.dropout(pooled))
        return logits
