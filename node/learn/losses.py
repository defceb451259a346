"""Per-sample losses, weighted: what local training minimises.

Each loss is computed per sample first, multiplied by the sample's weight
and then averaged over the batch, so DP-SGD's per-sample gradient clipping
(Opacus) sees each sample's own weighted contribution.

* segmentation: binary cross-entropy per pixel plus a soft Dice loss per
  label channel (smoothed by 1, so lesion-free slices are learnt too);
* classification: cross-entropy.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional

from shared.schemas.training import TrainingTask

__all__ = ["per_sample_loss", "weighted_loss"]

_SMOOTH = 1.0


def per_sample_loss(task: TrainingTask, logits: Tensor, targets: Tensor) -> Tensor:
    """Loss of each sample, shape ``(batch,)``."""
    if task is TrainingTask.CLASSIFICATION:
        return functional.cross_entropy(logits, targets, reduction="none")
    bce = functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    probabilities = torch.sigmoid(logits)
    overlap = (probabilities * targets).sum(dim=(2, 3))
    total = probabilities.sum(dim=(2, 3)) + targets.sum(dim=(2, 3))
    dice = 1.0 - (2.0 * overlap + _SMOOTH) / (total + _SMOOTH)
    return bce.mean(dim=(1, 2, 3)) + dice.mean(dim=1)


def weighted_loss(task: TrainingTask, logits: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """Mean over the batch of ``weight × per-sample loss``."""
    return (per_sample_loss(task, logits, targets) * weights).mean()
