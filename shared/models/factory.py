"""``build_model(plan)``: the network a training plan describes."""

from __future__ import annotations

import torch
from torch import nn

from shared.models.cnn import SmallCnn
from shared.models.densenet import SmallDenseNet
from shared.models.errors import ModelSpecError
from shared.models.unet import UNet2d
from shared.schemas.training import Architecture, TrainingPlan

__all__ = ["build_model"]


def build_model(plan: TrainingPlan, *, seed: int | None = None) -> nn.Module:
    """A freshly initialised network for ``plan``.

    Parameters
    ----------
    plan
        Its ``model`` (family, widths, norm), ``input.channels`` and
        ``out_channels`` decide the network.
    seed
        Seeds the initial weights (the same seed gives the same weights);
        ``None`` draws them from torch's global generator.

    Raises
    ------
    ModelSpecError
        When the family does not fit the plan's task.
    """
    spec = plan.model
    builders = {
        Architecture.UNET: UNet2d,
        Architecture.CNN: SmallCnn,
        Architecture.DENSENET: SmallDenseNet,
    }
    builder = builders.get(spec.architecture)
    if builder is None:  # pragma: no cover - the enum is closed
        raise ModelSpecError(f"no builder for architecture {spec.architecture!r}")
    if seed is None:
        return builder(spec, plan.input.channels, plan.out_channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder(spec, plan.input.channels, plan.out_channels)
