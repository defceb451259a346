"""How well a model does on samples: Dice for segmentation, accuracy for classification.

Segmentation figures threshold the sigmoid at 0.5. ``dice`` is pooled over
every sample and label (``2·|P∩T| / (|P| + |T|)``, 1 when both are empty);
``dice_per_case`` averages each case's own Dice over its slices, leaving out
cases where neither the prediction nor the consensus marks anything
(``cases_scored`` counts the others). Classification gives ``accuracy``.
Every result has ``num_examples`` and ``loss`` (the weighted training loss).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from node.learn.data import load_training_data
from node.learn.losses import weighted_loss
from node.learn.samples import TrainingData
from node.settings import NodeSettings
from shared.models import build_model, load_weights
from shared.schemas.training import TrainingPlan, TrainingTask

__all__ = ["dice_score", "evaluate_local", "evaluate_model", "predict_outputs"]

_BATCH = 64


def dice_score(prediction: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    """Dice of two binary arrays (1.0 when both are empty)."""
    p = np.asarray(prediction, dtype=bool)
    t = np.asarray(truth, dtype=bool)
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def predict_outputs(model: nn.Module, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Probabilities: sigmoid maps (segmentation) or softmax rows (classification)."""
    model.eval()
    outputs: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(images), _BATCH):
            logits = model(torch.from_numpy(images[start : start + _BATCH]))
            probabilities = torch.sigmoid(logits) if logits.ndim == 4 else logits.softmax(dim=1)
            outputs.append(probabilities.numpy())
    if not outputs:
        return np.zeros((0,), np.float32)
    return np.concatenate(outputs).astype(np.float32, copy=False)


def _loss(model: nn.Module, data: TrainingData) -> float:
    total = 0.0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(data), _BATCH):
            end = start + _BATCH
            loss = weighted_loss(
                data.plan.task,
                model(torch.from_numpy(data.images[start:end])),
                torch.from_numpy(data.targets[start:end]),
                torch.from_numpy(data.weights[start:end]),
            )
            total += float(loss) * len(data.images[start:end])
    return total / max(len(data), 1)


def evaluate_model(model: nn.Module, data: TrainingData) -> dict[str, float]:
    """Figures of ``model`` on every sample of ``data``."""
    result: dict[str, float] = {"num_examples": float(len(data))}
    if not len(data):
        return result
    result["loss"] = _loss(model, data)
    probabilities = predict_outputs(model, data.images)
    if data.plan.task is TrainingTask.CLASSIFICATION:
        result["accuracy"] = float(np.mean(probabilities.argmax(axis=1) == data.targets))
        return result
    predicted = probabilities >= 0.5
    truth = data.targets >= 0.5
    result["dice"] = dice_score(predicted, truth)
    per_case = [
        dice_score(predicted[data.task_ids == t], truth[data.task_ids == t])
        for t in np.unique(data.task_ids)
        if predicted[data.task_ids == t].any() or truth[data.task_ids == t].any()
    ]
    result["dice_per_case"] = float(np.mean(per_case)) if per_case else 1.0
    result["cases_scored"] = float(len(per_case))
    return result


def evaluate_local(
    data_dir: Path,
    project: str,
    plan: TrainingPlan,
    weights: list[np.ndarray],
    *,
    settings: NodeSettings | None = None,
    data: TrainingData | None = None,
) -> dict[str, float]:
    """Figures of ``weights`` on the node's validation patients (``num_examples`` 0 if none).

    Raises
    ------
    WeightsMismatchError
        ``weights`` do not fit the plan's model.
    PlanMismatchError, TrainingDataError, NotFoundError
        As :func:`~node.learn.load_training_data`.
    """
    if data is None:
        data = load_training_data(settings or NodeSettings(data_dir=data_dir), project, plan)
    model = build_model(plan)
    load_weights(model, weights)
    return evaluate_model(model, data.held_out)
