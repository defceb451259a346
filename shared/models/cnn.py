"""A small classification CNN: conv blocks, max-pooling between stages, global pooling."""

from __future__ import annotations

from torch import Tensor, nn

from shared.models.blocks import ConvBlock
from shared.schemas.training import ModelSpec

__all__ = ["SmallCnn"]


class SmallCnn(nn.Module):
    """``len(spec.features)`` stages of :class:`ConvBlock`, then a linear classifier.

    Output: class logits ``(batch, out_channels)``.
    """

    def __init__(self, spec: ModelSpec, in_channels: int, out_channels: int) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        previous = in_channels
        for index, width in enumerate(spec.features):
            if index:
                stages.append(nn.MaxPool2d(2))
            stages.append(ConvBlock(spec, previous, width))
            previous = width
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(previous, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits."""
        pooled = self.pool(self.features(x)).flatten(1)
        logits: Tensor = self.classifier(self.dropout(pooled))
        return logits
