"""Networks for federated training, built from a :class:`~shared.schemas.TrainingPlan`.

:func:`build_model` returns a 2D / 2.5D U-Net (segmentation), a small CNN
or a small DenseNet (classification), all normalised with GroupNorm or
InstanceNorm so Opacus can compute per-sample gradients (no BatchNorm).
:func:`model_weights` / :func:`load_weights` move weights as ordered lists
of NumPy arrays (shape-checked, :class:`WeightsMismatchError`);
:func:`subtract_weights`, :func:`add_weights`, :func:`update_norm` and
:func:`clip_update` do update arithmetic on such lists. Needs torch
(the ``learn`` extra); nothing else in ``shared`` imports this package.
"""

from shared.models.cnn import SmallCnn
from shared.models.densenet import SmallDenseNet
from shared.models.errors import ModelError, ModelSpecError, WeightsMismatchError
from shared.models.factory import build_model
from shared.models.unet import UNet2d
from shared.models.weights import (
    Weights,
    add_weights,
    clip_update,
    load_weights,
    model_weights,
    subtract_weights,
    update_norm,
    weight_names,
)

__all__ = [
    "ModelError",
    "ModelSpecError",
    "SmallCnn",
    "SmallDenseNet",
    "UNet2d",
    "Weights",
    "WeightsMismatchError",
    "add_weights",
    "build_model",
    "clip_update",
    "load_weights",
    "model_weights",
    "subtract_weights",
    "update_norm",
    "weight_names",
]
