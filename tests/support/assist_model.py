"""A small real segmentation model for the AI-assistance tests, trained here in seconds.

:func:`train_segmenter` builds a U-Net with :func:`shared.models.build_model`
and trains it with torch on phantom CT slices against the phantoms' ground
truth (every lesion as one ``nodule-mask`` channel, so a phantom gives three
drafts), preparing inputs exactly as training and inference do
(:func:`node.learn.volumes.prepare_volume`). It returns a weights file
(:mod:`shared.weights`) whose metadata carries the plan: what the runner
loads. Nothing is faked: the drafts the tests see are what this network
predicts.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from pydicom.pixels import apply_modality_lut

from node.learn.volumes import prepare_volume, resize_masks
from shared.models import build_model, model_weights, weight_names
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series
from shared.schemas.training import TrainingPlan
from shared.weights import encode_weights

__all__ = ["SEGMENTATION_PLAN", "train_segmenter"]

SEGMENTATION_PLAN = {
    "name": "nodule-seg",
    "task": "segmentation",
    "labels": ["nodule-mask"],
    "model": {"architecture": "unet", "features": [8, 16], "groups": 4, "dropout": 0.2},
    "input": {"size": 64, "window": [40.0, 400.0]},
}


def _phantom_samples(
    seeds: tuple[int, ...], size: int, slices: int
) -> tuple[np.ndarray, np.ndarray]:
    images, targets = [], []
    plan = TrainingPlan.from_mapping(SEGMENTATION_PLAN)
    for seed in seeds:
        series = generate_series(
            PhantomSpec(
                modality="CT",
                rows=size,
                columns=size,
                slices=slices,
                seed=seed,
                style=SITE_STYLES["siemens-like"],
            )
        )
        datasets = enumerate(series.datasets())
        planes = [apply_modality_lut(series.pixel_slice(i), ds) for i, ds in datasets]
        volume = np.stack(planes).astype(np.float32)
        images.append(prepare_volume(volume, plan.input)[:, None])
        targets.append(resize_masks(series.ground_truth() > 0, plan.input.size)[:, None])
    return np.concatenate(images), np.concatenate(targets).astype(np.float32)


@cache
def train_segmenter(
    *, steps: int = 300, seed: int = 0, size: int = 64, slices: int = 12, version: str = "1"
) -> bytes:
    """A trained ``nodule-seg`` U-Net as a weights file (cached per arguments in a process)."""
    plan = TrainingPlan.from_mapping(SEGMENTATION_PLAN)
    images, targets = _phantom_samples((101, 102, 103), size, slices)
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared machine: one thread trains as fast, without contention
    try:
        return _train(plan, images, targets, steps=steps, seed=seed, version=version)
    finally:
        torch.set_num_threads(threads)


def _train(
    plan: TrainingPlan,
    images: np.ndarray,
    targets: np.ndarray,
    *,
    steps: int,
    seed: int,
    version: str,
) -> bytes:
    model = build_model(plan, seed=seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(targets)
    positive = float(y_all.mean())
    weight = torch.tensor((1.0 - positive) / max(positive, 1e-3)).clamp(max=20.0)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(x_all), (8,), generator=generator)
        optimiser.zero_grad()
        loss = loss_fn(model(x_all[batch]), y_all[batch])
        loss.backward()
        optimiser.step()
    model.eval()
    arrays = dict(zip(weight_names(model), model_weights(model), strict=True))
    metadata = {"name": plan.name, "version": version, "plan": plan.model_dump(mode="json")}
    return encode_weights(arrays, metadata)
