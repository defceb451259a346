"""DP-SGD local training with Opacus: the round's schedule, and its training loop.

:func:`dp_schedule` fixes a round before it runs: the privacy units (cases
or samples, :class:`~shared.schemas.PrivacyUnit`), the Poisson sample rate
``q = batch_size / units`` and ``steps = local_epochs · round(units /
batch_size)``, hence its ``(epsilon, delta)`` (:func:`round_statement`).

:func:`fit_private` runs those steps with Opacus's
:class:`~opacus.GradSampleModule` (per-sample gradients) and
:class:`~opacus.optimizers.DPOptimizer` (per-sample clipping to
``max_grad_norm``, Gaussian noise ``noise_multiplier · max_grad_norm``,
averaging over the expected batch). Each step draws every unit with
probability ``q``; a case unit contributes one of its slices, drawn
uniformly. An empty draw skips the step (the draw is data-independent, so
skipping it reveals nothing and the accounted steps stay an upper bound).
With ``secure`` the draws and the noise come from the OS CSPRNG
(:mod:`node.learn.secure_noise`); otherwise from generators seeded by
``seed`` (reproducible, for development and tests).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import nn

from node.learn.losses import weighted_loss
from node.learn.optimizers import make_optimizer
from node.learn.privacy import DpStatement, dp_sgd_epsilon, exact_rate
from node.learn.samples import TrainingData
from node.learn.secure_noise import SecureDPOptimizer, secure_coins, secure_uniform
from shared.schemas.training import PrivacyUnit, TrainingPlan

__all__ = ["DpSchedule", "dp_schedule", "fit_private", "round_statement"]

_INPUT_HOOK_WARNING = "Full backward hook is firing when gradients are computed with respect to"


@dataclass(frozen=True)
class DpSchedule:
    """A DP-SGD round fixed in advance: units, sample rate, steps, expected batch."""

    units: int
    sample_rate: float
    steps: int
    expected_batch_size: int


def dp_schedule(plan: TrainingPlan, train: TrainingData) -> DpSchedule:
    """The round's schedule on the training samples ``train``."""
    if plan.privacy is None:
        raise ValueError("the plan has no privacy block")
    units = train.cases if plan.privacy.unit is PrivacyUnit.CASE else len(train)
    units = max(units, 1)
    rate = exact_rate(min(1.0, plan.batch_size / units))
    per_epoch = max(1, round(units / plan.batch_size))
    return DpSchedule(
        units=units,
        sample_rate=rate,
        steps=plan.local_epochs * per_epoch,
        expected_batch_size=max(1, round(rate * units)),
    )


def round_statement(plan: TrainingPlan, schedule: DpSchedule, *, secure: bool) -> DpStatement:
    """The round's privacy statement, computed before training."""
    if plan.privacy is None:
        raise ValueError("the plan has no privacy block")
    privacy = plan.privacy
    return DpStatement(
        noise_multiplier=privacy.noise_multiplier,
        sample_rate=schedule.sample_rate,
        steps=schedule.steps,
        max_grad_norm=privacy.max_grad_norm,
        unit=privacy.unit.value,
        secure_rng=secure,
        epsilon=dp_sgd_epsilon(
            privacy.noise_multiplier, schedule.sample_rate, schedule.steps, privacy.delta
        ),
        delta=privacy.delta,
    )


def _unit_members(plan: TrainingPlan, train: TrainingData) -> list[np.ndarray]:
    assert plan.privacy is not None
    if plan.privacy.unit is PrivacyUnit.SAMPLE:
        return [np.array([i]) for i in range(len(train))]
    return [np.flatnonzero(train.task_ids == t) for t in np.unique(train.task_ids)]


def fit_private(
    model: nn.Module,
    train: TrainingData,
    plan: TrainingPlan,
    schedule: DpSchedule,
    *,
    seed: int,
    secure: bool,
) -> float:
    """Train ``model`` in place with DP-SGD; the mean weighted loss of the steps taken."""
    assert plan.privacy is not None
    members = _unit_members(plan, train)
    module = GradSampleModule(model, loss_reduction="mean")
    base = make_optimizer(plan, module.parameters())
    optimizer_class = SecureDPOptimizer if secure else DPOptimizer
    generator = None if secure else torch.Generator().manual_seed(seed)
    optimizer = optimizer_class(
        base,
        noise_multiplier=plan.privacy.noise_multiplier,
        max_grad_norm=plan.privacy.max_grad_norm,
        expected_batch_size=schedule.expected_batch_size,
        loss_reduction="mean",
        generator=generator,
    )
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(train.images)
    targets = torch.from_numpy(train.targets)
    weights = torch.from_numpy(train.weights)
    losses: list[float] = []
    model.train()
    try:
        for _ in range(schedule.steps):
            if secure:
                drawn = np.flatnonzero(secure_coins(len(members), schedule.sample_rate))
                picks = secure_uniform(len(drawn))
            else:
                drawn = np.flatnonzero(rng.random(len(members)) < schedule.sample_rate)
                picks = rng.random(len(drawn))
            if not len(drawn):
                continue
            index = torch.as_tensor(
                [
                    int(members[u][min(int(p * len(members[u])), len(members[u]) - 1)])
                    for u, p in zip(drawn, picks, strict=True)
                ]
            )
            optimizer.zero_grad(set_to_none=True)
            loss = weighted_loss(plan.task, module(images[index]), targets[index], weights[index])
            with warnings.catch_warnings():
                # Opacus's hooks on the first layer fire on outputs: the input needs no grad
                warnings.filterwarnings("ignore", message=_INPUT_HOOK_WARNING)
                loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(float(loss.detach()))
    finally:
        module._close()
    return float(np.mean(losses)) if losses else float("nan")
