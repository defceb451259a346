"""The local optimiser a plan asks for."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from shared.schemas.training import Optimizer, TrainingPlan

__all__ = ["make_optimizer"]


def make_optimizer(
    plan: TrainingPlan, parameters: Iterable[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum 0.9, at the plan's learning rate."""
    if plan.optimizer is Optimizer.SGD:
        return torch.optim.SGD(parameters, lr=plan.learning_rate, momentum=0.9)
    return torch.optim.Adam(parameters, lr=plan.learning_rate)
