"""Running a trained model on a series: probabilities and an uncertainty score.

Used for AI pre-annotation (the probabilities) and active learning (the
uncertainty: most uncertain cases first).

Segmentation
    ``probabilities`` ``(slices, labels, rows, columns)``: each slice's
    sigmoid map, resampled back to the series' matrix. ``entropy`` is the
    binary entropy (bits) of each pixel's probability. ``uncertainty`` is the
    mean entropy over the *candidate region* (pixels whose probability reaches
    0.05), 0 when the model sees nothing anywhere — a summary that lesion-free
    background does not dilute.
Classification
    ``probabilities`` ``(classes,)`` for the series' central slice;
    ``uncertainty`` its entropy in bits over ``log2(classes)`` (0 to 1).

``mc_samples > 0`` keeps the dropout layers on and averages that many
stochastic passes (MC dropout, Gal & Ghahramani 2016); the entropy is then
that of the averaged prediction. A plan without dropout gives identical
passes, so MC dropout needs ``model.dropout > 0``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from sqlalchemy import select
from sqlalchemy.orm import Session
from torch import nn

from node.annotate.records import TaskSlice
from node.errors import NotFoundError
from node.learn.evaluation import predict_outputs
from node.learn.volumes import prepare_volume, read_volume, stack_slices
from node.settings import NodeSettings
from node.store import FileBlobStore, InstanceStore, create_database_engine
from node.store.annotation_tables import TaskRow
from shared.models import build_model, load_weights
from shared.schemas.training import TrainingPlan, TrainingTask

__all__ = ["Prediction", "predict", "predict_series"]

_CANDIDATE = 0.05


@dataclass(frozen=True, eq=False)
class Prediction:
    """A model's output on one series (see the module docstring)."""

    probabilities: npt.NDArray[np.float32]
    uncertainty: float
    entropy: npt.NDArray[np.float32] | None = None


def _entropy(p: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    q = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return (-(q * np.log2(q) + (1 - q) * np.log2(1 - q))).astype(np.float32)


def _passes(model: nn.Module, images: npt.NDArray[np.float32], samples: int) -> np.ndarray:
    if samples <= 0:
        return predict_outputs(model, images)
    runs = []
    for _ in range(samples):
        model.eval()
        for module in model.modules():
            if isinstance(module, nn.Dropout | nn.Dropout2d):
                module.train()
        with torch.no_grad():
            logits = torch.cat(
                [model(torch.from_numpy(images[i : i + 64])) for i in range(0, len(images), 64)]
            )
        probabilities = torch.sigmoid(logits) if logits.ndim == 4 else logits.softmax(dim=1)
        runs.append(probabilities.numpy())
    model.eval()
    return np.asarray(np.mean(runs, axis=0), dtype=np.float32)


def predict(
    plan: TrainingPlan,
    weights: list[np.ndarray],
    volume: npt.ArrayLike,
    *,
    mc_samples: int = 0,
    seed: int | None = None,
) -> Prediction:
    """Run ``weights`` on ``volume`` ``(slices, rows, columns)`` of modality values.

    Raises
    ------
    WeightsMismatchError
        ``weights`` do not fit the plan's model.
    """
    values = np.asarray(volume, dtype=np.float32)
    if values.ndim != 3 or values.shape[0] < 1:
        raise ValueError(f"volume must be (slices, rows, columns), got {values.shape}")
    model = build_model(plan)
    load_weights(model, weights)
    prepared = prepare_volume(values, plan.input)
    context = plan.input.context_slices
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if plan.task is TrainingTask.CLASSIFICATION:
            image = stack_slices(prepared, prepared.shape[0] // 2, context)[None]
            probabilities = _passes(model, image, mc_samples)[0]
            p = np.clip(probabilities.astype(np.float64), 1e-12, 1.0)
            spread = float(-(p * np.log2(p)).sum() / np.log2(len(p)))
            return Prediction(probabilities=probabilities, uncertainty=spread)
        images = np.stack([stack_slices(prepared, k, context) for k in range(len(prepared))])
        maps = _passes(model, images, mc_samples)
    rows, columns = values.shape[1:]
    if maps.shape[-2:] != (rows, columns):
        zoom = (1, 1, rows / maps.shape[-2], columns / maps.shape[-1])
        maps = np.clip(ndimage.zoom(maps, zoom, order=1, grid_mode=True, mode="nearest"), 0, 1)
    maps = maps.astype(np.float32)
    entropy = _entropy(maps)
    candidate = maps >= _CANDIDATE
    score = float(entropy[candidate].mean()) if candidate.any() else 0.0
    return Prediction(probabilities=maps, uncertainty=score, entropy=entropy)


def predict_series(
    data_dir: Path,
    plan: TrainingPlan,
    weights: list[np.ndarray],
    series_instance_uid: str,
    *,
    settings: NodeSettings | None = None,
    mc_samples: int = 0,
    seed: int | None = None,
) -> Prediction:
    """:func:`predict` on a stored series, its slices in the order of a task over it.

    Raises
    ------
    NotFoundError
        No task of any project covers the series (its slice order is unknown).
    """
    settings = settings or NodeSettings(data_dir=data_dir)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    try:
        with Session(engine) as session:
            row = session.execute(
                select(TaskRow.slices)
                .where(TaskRow.series_instance_uid == series_instance_uid)
                .limit(1)
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(
                f"series {series_instance_uid} is not part of any annotation task on this "
                "node; create a project over it first"
            )
        slices = [TaskSlice.from_json(s) for s in json.loads(row)]
        store = InstanceStore(engine, FileBlobStore(settings.blob_dir, fsync=False))
        volume = read_volume(store, slices)
    finally:
        engine.dispose()
    return predict(plan, weights, volume, mc_samples=mc_samples, seed=seed)
