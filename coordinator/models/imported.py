"""Weights trained outside the consortium, registered as a model version to start runs from.

A consortium rarely trains from scratch: it starts from a network trained on
public data (a public challenge's cases, synthetic phantoms) and fine-tunes it
on the sites' consensus with DP-SGD (``round train --from-model``), which is
how DP training gets far with little private data. :func:`read_weights` reads
such weights — a Harmonia weights file (:mod:`shared.weights`) or a PyTorch
``state_dict`` saved with ``torch.save`` — and :func:`check_architecture`
refuses weights that do not fit the plan's network, naming the first
differences. :func:`import_version` registers them: no training run, no
contributing site, no privacy spent, and the source the importer states.

Reading a ``state_dict`` and checking the architecture import torch; the rest
does not.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from coordinator.models.registry import ModelRegistry, ModelVersion
from shared.errors import InvalidInputError
from shared.schemas.training import TrainingPlan
from shared.weights import MAGIC, decode_weights, encode_weights

__all__ = ["IMPORTED_AGGREGATION", "check_architecture", "import_version", "read_weights"]

IMPORTED_AGGREGATION = "imported"
"""The ``aggregation`` of an imported version (no federated run made it)."""

_SHOWN = 5


def read_weights(data: bytes, *, source: str = "the weights") -> dict[str, np.ndarray[Any, Any]]:
    """Name → array from a Harmonia weights file or a PyTorch ``state_dict``.

    Raises
    ------
    InvalidInputError
        Neither form, or a ``state_dict`` holding something other than tensors.
    """
    if data.startswith(MAGIC):
        return decode_weights(data)[0]
    import torch  # only for a state_dict

    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for bytes that are not its format
        raise InvalidInputError(
            f"{source} is neither a Harmonia weights file nor a PyTorch state_dict saved with "
            f"torch.save ({type(error).__name__})"
        ) from None
    state = loaded.get("state_dict", loaded) if isinstance(loaded, Mapping) else loaded
    if not isinstance(state, Mapping) or not state:
        raise InvalidInputError(f"{source} holds no state_dict (a mapping of names to tensors)")
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise InvalidInputError(f"{source}: {name!r} is not a tensor")
        arrays[str(name)] = value.detach().cpu().numpy()
    return arrays


def check_architecture(
    plan: TrainingPlan, arrays: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, np.ndarray[Any, Any]]:
    """``arrays`` in the plan network's order as float32, if every name and shape fits.

    Raises
    ------
    InvalidInputError
        Missing or unexpected names, a different shape, or a value that is not finite.
    """
    from shared.models import build_model  # torch: only here

    expected = {name: tuple(t.shape) for name, t in build_model(plan).state_dict().items()}
    missing = [n for n in expected if n not in arrays]
    unexpected = [n for n in arrays if n not in expected]
    reshaped = [
        f"{n} {tuple(arrays[n].shape)} (the plan's network has {expected[n]})"
        for n in expected
        if n in arrays and tuple(arrays[n].shape) != expected[n]
    ]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing[:_SHOWN])}")
    if unexpected:
        problems.append(f"not in the plan's network {', '.join(unexpected[:_SHOWN])}")
    if reshaped:
        problems.append(f"other shapes: {'; '.join(reshaped[:_SHOWN])}")
    if problems:
        raise InvalidInputError(
            f"the weights do not fit plan {plan.name!r} ({plan.model.features} features): "
            + "; ".join(problems)
        )
    ordered = {n: np.asarray(arrays[n], dtype=np.float32) for n in expected}
    bad = [n for n, a in ordered.items() if not np.isfinite(a).all()]
    if bad:
        raise InvalidInputError(f"the weights hold NaN or infinite values in {', '.join(bad)}")
    return ordered


def import_version(
    registry: ModelRegistry,
    plan: TrainingPlan,
    arrays: Mapping[str, np.ndarray[Any, Any]],
    *,
    source: str,
    name: str | None = None,
) -> ModelVersion:
    """Register ``arrays`` (checked against ``plan``) as the next version of ``name``.

    ``name`` defaults to the plan's name, so a run of that plan with
    ``--from-model NAME`` starts from it and registers its result next to it.
    ``source`` says where the weights come from (shown in the model card).

    Raises
    ------
    InvalidInputError
        An empty ``source``, or weights that do not fit the plan.
    """
    stated = source.strip()
    if not stated:
        raise InvalidInputError(
            "say where the weights come from (--source), e.g. 'pre-trained on public data X'"
        )
    checked = check_architecture(plan, arrays)
    weights = encode_weights(checked, {"imported": stated})
    return registry.register(
        name or plan.name,
        run_id="",
        plan=plan.model_dump(mode="json"),
        guideline=("", ""),
        aggregation=IMPORTED_AGGREGATION,
        secure_aggregation=False,
        rounds=0,
        sites=(),
        privacy={},
        metrics={"imported": {"source": stated}},
        weights=weights,
    )
