"""The samples a model trains on: :class:`TrainingData`, split by patient.

:func:`node.learn.load_training_data` makes them from a project's consensus;
:meth:`TrainingData.from_arrays` wraps samples made elsewhere (benchmarks,
held-out test sets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from node.errors import TrainingDataError
from shared.schemas.training import TrainingPlan, TrainingTask

__all__ = ["TrainingData"]


@dataclass(frozen=True, eq=False)
class TrainingData:
    """A project's samples for one plan, split by patient.

    Attributes
    ----------
    plan
        The plan the samples were made for.
    images
        ``(N, C, size, size)`` float32 inputs.
    targets
        Segmentation: ``(N, L, size, size)`` float32 0/1 maps, one per label;
        classification: ``(N,)`` int64 class indices.
    weights
        ``(N,)`` float32 sample weights (mean 1 over training samples).
    task_ids
        ``(N,)`` the task (case) each sample comes from.
    validation
        ``(N,)`` bool: the sample belongs to a validation patient.
    fingerprint
        SHA-256 of the plan and the consensus state the samples were made
        from: reload when it changes.
    """

    plan: TrainingPlan
    images: npt.NDArray[np.float32]
    targets: npt.NDArray[Any]
    weights: npt.NDArray[np.float32]
    task_ids: npt.NDArray[np.int64]
    validation: npt.NDArray[np.bool_]
    fingerprint: str = ""
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, mask: npt.NDArray[np.bool_]) -> TrainingData:
        """The samples where ``mask`` is true."""
        return TrainingData(
            plan=self.plan,
            images=self.images[mask],
            targets=self.targets[mask],
            weights=self.weights[mask],
            task_ids=self.task_ids[mask],
            validation=self.validation[mask],
            fingerprint=self.fingerprint,
            skipped=self.skipped,
        )

    @property
    def train(self) -> TrainingData:
        """The training patients' samples."""
        return self.subset(~self.validation)

    @property
    def held_out(self) -> TrainingData:
        """The validation patients' samples."""
        return self.subset(self.validation)

    @property
    def num_train(self) -> int:
        """Training samples."""
        return int((~self.validation).sum())

    @property
    def num_validation(self) -> int:
        """Validation samples."""
        return int(self.validation.sum())

    @property
    def cases(self) -> int:
        """Distinct tasks (cases) among the samples."""
        return len(np.unique(self.task_ids))

    @classmethod
    def from_arrays(
        cls,
        plan: TrainingPlan,
        images: npt.ArrayLike,
        targets: npt.ArrayLike,
        *,
        task_ids: npt.ArrayLike,
        validation: npt.ArrayLike | None = None,
        weights: npt.ArrayLike | None = None,
    ) -> TrainingData:
        """Samples made elsewhere (benchmarks, held-out test sets), checked for shape."""
        x = np.asarray(images, dtype=np.float32)
        n = x.shape[0]
        if x.ndim != 4 or x.shape[1] != plan.input.channels:
            raise TrainingDataError(
                f"images must be (N, {plan.input.channels}, H, W), got {x.shape}",
                project="-",
                plan=plan.name,
            )
        dtype = np.float32 if plan.task is TrainingTask.SEGMENTATION else np.int64
        y = np.asarray(targets, dtype=dtype)
        if y.shape[0] != n:
            raise TrainingDataError(
                f"{n} images but {y.shape[0]} targets", project="-", plan=plan.name
            )
        return cls(
            plan=plan,
            images=x,
            targets=y,
            weights=np.ones(n, np.float32) if weights is None else np.asarray(weights, np.float32),
            task_ids=np.asarray(task_ids, dtype=np.int64),
            validation=np.zeros(n, bool) if validation is None else np.asarray(validation, bool),
        )
