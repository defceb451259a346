"""The torch-backed :class:`~node.assist.predictor.Predictor`: one model, loaded once per run.

The only module of :mod:`node.assist` that imports torch. Inputs are prepared
exactly as for training (:mod:`node.learn.volumes`: the plan's window or
standardisation, resampled to ``size × size``, ``k`` context slices as
channels); segmentation predicts every slice and resamples the probabilities
back to the series' matrix (linear), classification predicts the series'
central slice, as training samples it. With ``mc_samples > 1`` the model's
dropout stays on for that many passes (MC dropout): probabilities are the
passes' mean, and the mean of each pass's entropy comes along for the ranking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage

from node.assist.models import ModelBundle
from node.assist.predictor import ModelOutput
from node.assist.ranking import binary_entropy
from node.assist.records import ModelRef
from node.learn.volumes import prepare_volume, stack_slices
from shared.models import build_model, load_weights
from shared.schemas.training import TrainingTask

__all__ = ["TorchPredictor"]

_BATCH = 16


def _resample(planes: npt.NDArray[np.float32], rows: int, columns: int) -> npt.NDArray[np.float32]:
    size_r, size_c = planes.shape[-2:]
    if (size_r, size_c) == (rows, columns):
        return planes
    zoom = (1.0, rows / size_r, columns / size_c)
    out = ndimage.zoom(planes, zoom, order=1, mode="nearest", grid_mode=True)
    result: npt.NDArray[np.float32] = np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    return result


class TorchPredictor:
    """Runs one model version (CPU, no gradients) over task volumes.

    Parameters
    ----------
    bundle
        The model version.
    mc_samples
        Forward passes with dropout on (MC dropout); 0 or 1 is one plain pass.
    seed
        Seeds torch for MC dropout, so a run is reproducible.
    """

    def __init__(self, bundle: ModelBundle, *, mc_samples: int = 0, seed: int = 0) -> None:
        self._bundle = bundle
        self._plan = bundle.plan
        self._passes = max(1, mc_samples)
        self._model = build_model(bundle.plan, seed=seed)
        load_weights(self._model, list(bundle.weights))
        self._model.eval()
        if self._passes > 1:
            torch.manual_seed(seed)  # dropout draws from torch's default generator
            for module in self._model.modules():
                if isinstance(module, torch.nn.modules.dropout._DropoutNd):
                    module.train()

    @property
    def model(self) -> ModelRef:
        """The model version."""
        return self._bundle.ref

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels the plan predicts."""
        return self._plan.labels

    def _forward(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Per pass: sigmoid (segmentation) or softmax (classification) of the batch."""
        inputs = torch.from_numpy(np.ascontiguousarray(batch))
        outputs = []
        with torch.no_grad():
            for _ in range(self._passes):
                logits = self._model(inputs)
                if self._plan.task is TrainingTask.SEGMENTATION:
                    outputs.append(torch.sigmoid(logits).numpy())
                else:
                    outputs.append(torch.softmax(logits, dim=1).numpy())
        return outputs

    def predict(self, volume: npt.NDArray[np.floating[Any]]) -> ModelOutput:
        """Probabilities for a ``(slices, rows, columns)`` volume of modality values."""
        prepared = prepare_volume(volume, self._plan.input)
        context = self._plan.input.context_slices
        slices, rows, columns = (int(n) for n in np.shape(volume))
        if self._plan.task is TrainingTask.CLASSIFICATION:
            centre = stack_slices(prepared, slices // 2, context)[None]
            passes = [p[0] for p in self._forward(centre)]
            mean = np.mean(passes, axis=0)
            label = self._plan.labels[0]
            classes = {label: {c: float(v) for c, v in zip(self._plan.classes, mean, strict=True)}}
            entropies: dict[str, float] = {}
            if self._passes > 1:
                h = [float(-(p[p > 0] * np.log2(p[p > 0])).sum()) for p in passes]
                entropies[label] = float(np.mean(h))
            return ModelOutput(
                classes=classes, class_mean_entropy=entropies, mc_passes=self._passes
            )
        channels = len(self._plan.labels)
        size = self._plan.input.size
        mean = np.zeros((slices, channels, size, size), dtype=np.float32)
        entropy = np.zeros_like(mean) if self._passes > 1 else None
        for start in range(0, slices, _BATCH):
            indices = range(start, min(slices, start + _BATCH))
            batch = np.stack([stack_slices(prepared, i, context) for i in indices])
            passes = self._forward(batch)
            mean[start : start + len(indices)] = np.mean(passes, axis=0)
            if entropy is not None:
                entropy[start : start + len(indices)] = np.mean(
                    [binary_entropy(p) for p in passes], axis=0
                )
        masks = {
            label: _resample(mean[:, i], rows, columns) for i, label in enumerate(self._plan.labels)
        }
        mean_entropy = (
            {
                label: _resample(entropy[:, i], rows, columns)
                for i, label in enumerate(self._plan.labels)
            }
            if entropy is not None
            else {}
        )
        return ModelOutput(masks=masks, mask_mean_entropy=mean_entropy, mc_passes=self._passes)
