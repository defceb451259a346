"""Samples from synthetic phantoms and their known truth: public data, no readers, no privacy cost.

:func:`phantom_samples` turns phantom series (:mod:`shared.phantoms`) into a
plan's samples the way the node turns its stored series into them: each
slice's pixels through the node's pixel layer (:func:`node.dicom.pixels`,
from the DICOM bytes, so rescale and windowing are the node's), the volume
prepared for the plan's input (:func:`~node.learn.volumes.prepare_volume`),
and the phantom's ground truth (every lesion, resampled to the input size as
the node resamples consensus masks) as the target. Nothing here touches a
node's store: the phantoms are generated, not a site's data, so what is
trained on them is public (a held-out test set, a seed model pre-trained
before any site's data is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
import pydicom

from node.dicom.pixels import decode_frame, modality_values
from node.learn.samples import TrainingData
from node.learn.volumes import prepare_volume, resize_masks, stack_slices
from shared.phantoms import PhantomSeries, dataset_to_bytes
from shared.schemas.training import TrainingPlan

__all__ = ["phantom_samples"]


def phantom_samples(series: Sequence[PhantomSeries], plan: TrainingPlan) -> TrainingData:
    """Every slice of ``series`` as a sample of ``plan``, its target the phantom's lesions.

    Each series is its own task id (one case), so a patient-level split keeps
    its slices together.
    """
    images, targets, tasks = [], [], []
    for case, item in enumerate(series):
        planes = []
        for dataset in item.datasets():
            decoded = pydicom.dcmread(BytesIO(dataset_to_bytes(dataset)))
            planes.append(modality_values(decoded, decode_frame(decoded)))
        prepared = prepare_volume(np.stack(planes), plan.input)
        truth = resize_masks(item.ground_truth() > 0, plan.input.size).astype(np.float32)
        for index in range(len(prepared)):
            images.append(stack_slices(prepared, index, plan.input.context_slices))
            targets.append(truth[index][None])
            tasks.append(case)
    return TrainingData.from_arrays(plan, np.stack(images), np.stack(targets), task_ids=tasks)
