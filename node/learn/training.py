"""One round of local training: from the global weights to a clipped update.

:func:`train_local` loads the node's consensus samples
(:func:`~node.learn.load_training_data`), and, for a plan with privacy,
states the round's ``(epsilon, delta)`` and checks it against the site's
training budget **before** training (:func:`~node.learn.privacy.check_training_budget`).
It then trains from the global weights (DP-SGD with Opacus, or plain
mini-batch training), and returns a :class:`LocalUpdate`: the update
(new weights minus the starting weights) clipped to ``update_clip_norm``,
with the local figures and, for DP rounds, the charge to release it with.

Round 1 has no global model: every node then starts from
``build_model(plan, seed=initial_seed(plan))``, the same weights
everywhere, which is also the server's initial global model.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from node.egress import EgressGate, PrivacyCharge
from node.errors import PlanMismatchError
from node.learn.data import load_training_data
from node.learn.dpsgd import dp_schedule, fit_private, round_statement
from node.learn.evaluation import evaluate_model
from node.learn.losses import weighted_loss
from node.learn.optimizers import make_optimizer
from node.learn.privacy import DpStatement, check_training_budget
from node.learn.samples import TrainingData
from node.settings import DeploymentProfile, NodeSettings
from shared.errors import ConfigurationError
from shared.models import (
    Weights,
    build_model,
    clip_update,
    load_weights,
    model_weights,
    subtract_weights,
    update_norm,
)
from shared.schemas.training import TrainingPlan

__all__ = ["LocalUpdate", "fit", "initial_seed", "initial_weights", "train_local"]


@dataclass(frozen=True)
class LocalUpdate:
    """What one round of local training produced.

    Attributes
    ----------
    arrays
        The update: new local weights minus the weights training started from
        (the global weights given, or :func:`initial_weights`), float32, in
        ``state_dict`` order, clipped to ``plan.update_clip_norm`` when set.
        Not compressed: encode with :mod:`shared.compression` and
        ``plan.compression`` when sending.
    num_examples
        Training samples used (FedAvg's weight).
    metrics
        ``train_loss``, ``update_norm`` (before clipping), ``clipped`` (1/0),
        ``num_train``, ``num_validation``, ``cases``, and the trained model's
        figures on the local validation patients prefixed ``val_``. They stay
        on the node unless the caller sends some (the egress gate decides).
    privacy
        The round's charge, to pass to :meth:`~node.egress.EgressGate.release`
        (``None`` without DP).
    dp
        The round's DP-SGD statement (noise multiplier, sample rate, steps...).
    """

    arrays: Weights
    num_examples: int
    metrics: dict[str, float] = field(default_factory=dict)
    privacy: PrivacyCharge | None = None
    dp: DpStatement | None = None
    round_id: str = ""
    is_delta: bool = True


def initial_seed(plan: TrainingPlan) -> int:
    """The seed of a plan's round-1 weights (from its canonical JSON)."""
    return int.from_bytes(hashlib.sha256(plan.canonical_json()).digest()[:8], "big") >> 1


def initial_weights(plan: TrainingPlan) -> Weights:
    """Round-1 global weights: identical on every node and on the server."""
    return model_weights(build_model(plan, seed=initial_seed(plan)))


def fit(
    model: nn.Module,
    train: TrainingData,
    plan: TrainingPlan,
    *,
    seed: int,
    on_epoch: Callable[[int], None] | None = None,
) -> float:
    """Plain mini-batch training of ``model`` in place; the last epoch's mean loss.

    ``on_epoch(n)`` is called after each epoch ``n`` (1-based), e.g. to record a
    learning curve; the model is back in training mode afterwards.
    """
    optimizer = make_optimizer(plan, model.parameters())
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(train.images)
    targets = torch.from_numpy(train.targets)
    weights = torch.from_numpy(train.weights)
    model.train()
    last: list[float] = []
    for epoch in range(plan.local_epochs):
        order = torch.from_numpy(rng.permutation(len(train)))
        last = []
        for start in range(0, len(train), plan.batch_size):
            index = order[start : start + plan.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = weighted_loss(plan.task, model(images[index]), targets[index], weights[index])
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            last.append(float(loss.detach()))
        if on_epoch is not None:
            on_epoch(epoch + 1)
            model.train()
    return float(np.mean(last)) if last else float("nan")


def train_local(
    data_dir: Path,
    project: str,
    plan: TrainingPlan,
    global_weights: list[np.ndarray] | None,
    *,
    round_id: str,
    seed: int | None = None,
    settings: NodeSettings | None = None,
    data: TrainingData | None = None,
    gate: EgressGate | None = None,
) -> LocalUpdate:
    """Train one round on this node's consensus labels.

    Parameters
    ----------
    data_dir
        The node's data directory.
    project
        The annotation project whose consensus trains the model.
    plan
        The round's training plan.
    global_weights
        The global model to start from; ``None`` in round 1 (:func:`initial_weights`).
    round_id
        The round (ledgered with a refusal).
    seed
        Seeds the shuffling, dropout and (non-secure) DP noise; ``None`` draws one.
    settings
        The node's settings (default: read for ``data_dir``); the production
        profile forces the secure RNG for DP-SGD.
    data
        Samples already loaded for this plan (a worker's cache); loaded when ``None``.
    gate
        The node's egress gate (with the training budget and
        :class:`~node.learn.privacy.TrainingAccountant`); required for plans with privacy.

    Raises
    ------
    TrainingBudgetExceededError
        The round's DP cost would pass the training budget; nothing was trained.
    ConfigurationError
        A plan with privacy but no gate to check the budget against.
    WeightsMismatchError
        ``global_weights`` do not fit the plan's model.
    PlanMismatchError, TrainingDataError, NotFoundError
        As :func:`~node.learn.load_training_data`.
    """
    settings = settings or NodeSettings(data_dir=data_dir)
    if data is None:
        data = load_training_data(settings, project, plan)
    elif data.plan != plan:
        raise PlanMismatchError("the cached training data was made for another plan; reload it")
    train = data.train
    statement: DpStatement | None = None
    schedule = None
    secure = False
    if plan.privacy is not None:
        if gate is None:
            raise ConfigurationError(
                "a training plan with privacy needs the node's egress gate to check the "
                "training budget before it trains",
                setting="gate",
            )
        secure = plan.privacy.secure_rng or settings.profile is DeploymentProfile.PRODUCTION
        schedule = dp_schedule(plan, train)
        statement = round_statement(plan, schedule, secure=secure)
        check_training_budget(gate, statement.charge, round_id=round_id)
    run_seed = seed if seed is not None else secrets.randbits(63)
    model = build_model(plan, seed=initial_seed(plan))
    start = initial_weights(plan) if global_weights is None else list(global_weights)
    load_weights(model, start)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run_seed)
        if schedule is not None:
            loss = fit_private(model, train, plan, schedule, seed=run_seed, secure=secure)
        else:
            loss = fit(model, train, plan, seed=run_seed)
    delta = subtract_weights(model_weights(model), start)
    norm = update_norm(delta)
    clipped = plan.update_clip_norm is not None and norm > plan.update_clip_norm
    if plan.update_clip_norm is not None:
        delta, _ = clip_update(delta, plan.update_clip_norm)
    metrics: dict[str, float] = {
        "train_loss": loss,
        "update_norm": norm,
        "clipped": float(clipped),
        "num_train": float(data.num_train),
        "num_validation": float(data.num_validation),
        "cases": float(data.cases),
    }
    if data.num_validation:
        for name, value in evaluate_model(model, data.held_out).items():
            metrics[f"val_{name}"] = value
    if statement is not None:
        metrics.update(epsilon=statement.epsilon, delta=statement.delta)
    return LocalUpdate(
        arrays=delta,
        num_examples=len(train),
        metrics={k: v for k, v in metrics.items() if math.isfinite(v)},
        privacy=statement.charge if statement else None,
        dp=statement,
        round_id=round_id,
    )
