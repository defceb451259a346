"""Learning on the node: consensus labels in, clipped (and optionally DP) model updates out.

* :func:`load_training_data` — samples from the de-identified store and the
  local consensus (adjudicated, else STAPLE, else majority), weighted by
  confidence and agreement, split by patient (:class:`TrainingData`).
* :func:`train_local` — one round from the global weights: DP-SGD with Opacus
  (budget checked before training) or plain training; returns a
  :class:`LocalUpdate` (the clipped update, the figures, the privacy charge).
* :func:`evaluate_local` / :func:`evaluate_model` — Dice or accuracy on the
  local validation patients.
* :func:`predict` / :func:`predict_series` — probabilities and an uncertainty
  score (:class:`Prediction`) for pre-annotation and active learning.
* :mod:`node.learn.privacy` — the round's ``(epsilon, delta)``, the
  :class:`TrainingAccountant`, the site's :class:`TrainingPolicy` and
  :func:`check_training_budget`; it imports no torch.

Names are loaded on first use: importing this package (or
``node.learn.privacy``) does not import torch, so the torch-free Flower
ClientApp may import the package's light modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from node.learn.data import load_training_data
    from node.learn.dpsgd import DpSchedule, dp_schedule, round_statement
    from node.learn.evaluation import dice_score, evaluate_local, evaluate_model
    from node.learn.inference import Prediction, predict, predict_series
    from node.learn.privacy import (
        TRAINING_POLICY_FILE,
        DpStatement,
        TrainingAccountant,
        TrainingPolicy,
        check_training_budget,
        dp_sgd_charge,
        dp_sgd_epsilon,
    )
    from node.learn.samples import TrainingData
    from node.learn.training import LocalUpdate, initial_seed, initial_weights, train_local

__all__ = [
    "TRAINING_POLICY_FILE",
    "DpSchedule",
    "DpStatement",
    "LocalUpdate",
    "Prediction",
    "TrainingAccountant",
    "TrainingData",
    "TrainingPolicy",
    "check_training_budget",
    "dice_score",
    "dp_schedule",
    "dp_sgd_charge",
    "dp_sgd_epsilon",
    "evaluate_local",
    "evaluate_model",
    "initial_seed",
    "initial_weights",
    "load_training_data",
    "predict",
    "predict_series",
    "round_statement",
    "train_local",
]

_HOME = {
    "TRAINING_POLICY_FILE": "privacy",
    "DpSchedule": "dpsgd",
    "DpStatement": "privacy",
    "LocalUpdate": "training",
    "Prediction": "inference",
    "TrainingAccountant": "privacy",
    "TrainingData": "samples",
    "TrainingPolicy": "privacy",
    "check_training_budget": "privacy",
    "dice_score": "evaluation",
    "dp_schedule": "dpsgd",
    "dp_sgd_charge": "privacy",
    "dp_sgd_epsilon": "privacy",
    "evaluate_local": "evaluation",
    "evaluate_model": "evaluation",
    "initial_seed": "training",
    "initial_weights": "training",
    "load_training_data": "data",
    "predict": "inference",
    "predict_series": "inference",
    "round_statement": "dpsgd",
    "train_local": "training",
}


__getattr__ = lazy_exports(
    __name__, {name: f"node.learn.{home}" for name, home in _HOME.items()}, globals()
)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
