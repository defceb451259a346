"""Building blocks every network here shares: Opacus-friendly normalisation and conv blocks.

Only :class:`torch.nn.GroupNorm` and :class:`torch.nn.InstanceNorm2d` (affine,
no running statistics) are used: both normalise each sample on its own, so
per-sample gradients (Opacus) are well defined. BatchNorm never appears.
"""

from __future__ import annotations

from torch import Tensor, nn

from shared.schemas.training import ModelSpec, Norm

__all__ = ["ConvBlock", "norm_layer"]


def norm_layer(spec: ModelSpec, channels: int) -> nn.Module:
    """The spec's normalisation for ``channels`` channels."""
    if spec.norm is Norm.INSTANCE:
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    groups = spec.groups if channels % spec.groups == 0 else 1
    return nn.GroupNorm(groups, channels)


class ConvBlock(nn.Module):
    """Two 3×3 convolutions, each followed by the spec's norm and a ReLU."""

    def __init__(self, spec: ModelSpec, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            norm_layer(spec, out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            norm_layer(spec, out_channels),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block."""
        out: Tensor = self.body(x)
        return out
