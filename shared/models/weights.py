"""A model's weights as an ordered list of NumPy arrays, and arithmetic on such lists.

The order is the model's ``state_dict`` order (parameters and any buffers),
the same on every node that builds the model from the same plan, so lists
travel between nodes and the coordinator without names.
:func:`load_weights` checks the count, every shape and finiteness before it
touches the model, so a bad update never half-loads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from shared.models.errors import WeightsMismatchError

__all__ = [
    "Weights",
    "add_weights",
    "clip_update",
    "load_weights",
    "model_weights",
    "subtract_weights",
    "update_norm",
    "weight_names",
]

Weights = list[npt.NDArray[np.float32]]
"""An ordered list of float32 arrays, one per ``state_dict`` entry."""


def weight_names(model: nn.Module) -> list[str]:
    """The ``state_dict`` names, in :func:`model_weights` order."""
    return list(model.state_dict().keys())


def model_weights(model: nn.Module) -> Weights:
    """Copies of the model's weights as float32 arrays, in ``state_dict`` order."""
    return [
        np.array(t.detach().cpu().numpy(), dtype=np.float32, copy=True)
        for t in model.state_dict().values()
    ]


def load_weights(model: nn.Module, arrays: Sequence[npt.ArrayLike]) -> None:
    """Load ``arrays`` (in :func:`model_weights` order) into ``model``.

    Raises
    ------
    WeightsMismatchError
        Wrong number of arrays, a shape that differs from the model's, or a
        NaN/infinite value; the model is left unchanged.
    """
    state = model.state_dict()
    names = list(state)
    if len(arrays) != len(names):
        raise WeightsMismatchError(
            f"the model has {len(names)} weight arrays but {len(arrays)} were given; were "
            "they made for another training plan?"
        )
    tensors: dict[str, torch.Tensor] = {}
    for index, (name, array) in enumerate(zip(names, arrays, strict=True)):
        value = np.asarray(array)
        expected = tuple(state[name].shape)
        if value.shape != expected:
            raise WeightsMismatchError(
                f"weight {index} ({name}) has shape {value.shape}, the model expects {expected}",
                index=index,
                name=name,
            )
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
            raise WeightsMismatchError(
                f"weight {index} ({name}) must hold finite numbers", index=index, name=name
            )
        tensors[name] = torch.as_tensor(value.astype(np.float32)).to(state[name].dtype)
    model.load_state_dict(tensors, strict=True)


def _pairwise(a: Sequence[npt.ArrayLike], b: Sequence[npt.ArrayLike], what: str) -> None:
    if len(a) != len(b):
        raise WeightsMismatchError(f"cannot {what} weight lists of {len(a)} and {len(b)} arrays")
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        if np.shape(x) != np.shape(y):
            raise WeightsMismatchError(
                f"cannot {what}: array {index} has shapes {np.shape(x)} and {np.shape(y)}",
                index=index,
            )


def subtract_weights(a: Sequence[npt.ArrayLike], b: Sequence[npt.ArrayLike]) -> Weights:
    """``a - b`` array by array (an update: new weights minus the global ones)."""
    _pairwise(a, b, "subtract")
    return [
        np.asarray(x, dtype=np.float32) - np.asarray(y, dtype=np.float32)
        for x, y in zip(a, b, strict=True)
    ]


def add_weights(a: Sequence[npt.ArrayLike], b: Sequence[npt.ArrayLike]) -> Weights:
    """``a + b`` array by array (global weights plus an update)."""
    _pairwise(a, b, "add")
    return [
        np.asarray(x, dtype=np.float32) + np.asarray(y, dtype=np.float32)
        for x, y in zip(a, b, strict=True)
    ]


def update_norm(update: Sequence[npt.ArrayLike]) -> float:
    """The L2 norm of all arrays taken together."""
    return math.sqrt(
        math.fsum(float(np.sum(np.square(np.asarray(u, dtype=np.float64)))) for u in update)
    )


def clip_update(update: Sequence[npt.ArrayLike], max_norm: float) -> tuple[Weights, float]:
    """Scale ``update`` so its L2 norm is at most ``max_norm``.

    Returns
    -------
    tuple
        The (possibly scaled) arrays and the norm before clipping.
    """
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise WeightsMismatchError(f"the clip norm must be a finite number above 0, got {max_norm}")
    norm = update_norm(update)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [np.asarray(u, dtype=np.float32) * np.float32(scale) for u in update], norm
