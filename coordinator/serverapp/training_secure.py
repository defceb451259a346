"""A training round under SecAgg+: the coordinator sees the mean of the clipped updates, never one.

:func:`secure_training_round` sends every node a legacy fit instruction (the
global weights and the round's config) through
:func:`~coordinator.serverapp.secure_aggregation.secure_aggregate`. Each node
trains with DP-SGD, releases its clipped update through its egress gate
(``model_update``, charged and ledgered once, destination
``superlink/secure-sum``) and hands the gate's bytes to ``secaggplus_mod``,
which masks them; the coordinator unmasks only the mean of the survivors'
updates and adds it to the global weights.

Parameters, and why:

``clipping_range`` = the plan's ``update_clip_norm``
    Every update's L2 norm is at most ``update_clip_norm`` (the node clips it),
    so every coordinate lies in ``[-clip, clip]`` and SecAgg+'s own
    element-wise clipping never changes a value: nothing is clipped twice. A
    plan without ``update_clip_norm`` is refused (no bound, no range).
``quantization_range`` = 2**22, ``modulus_range`` = 2**32
    Stochastic rounding to a step of ``2 * clip / 2**22`` (unbiased); the error
    of each coordinate of the mean is below one step
    (:func:`quantization_error_bound`: 4.8e-6 for ``clip`` = 10). Sums of up
    to 1024 sites stay below the modulus.
``max_weight`` = 1, every node's ``num_examples`` = 1: **equal weights**
    The mean is unweighted: each site's influence on the global model is
    bounded by the same clip norm whatever number of examples it claims, and
    the coordinator learns no site's example count (the clear path's FedAvg
    weights by examples; this is recorded as ``weighting: equal``).

A node that refuses (budget, data) or dies drops out of the protocol with
its stage; the round goes on while ``reconstruction_threshold`` nodes remain.
With fewer than 3 nodes (a node could subtract its own update from a sum of
two) or fewer survivors than ``--min-sites`` the run stops.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import Context
from flwr.common import FitIns, ndarrays_to_parameters
from flwr.serverapp import Grid

from coordinator.serverapp.secure_aggregation import SecAggParameters, secure_aggregate
from coordinator.serverapp.training_records import TASK_KEY, TRAINING, SiteReply
from shared.errors import ConfigurationError
from shared.schemas.training import TrainingPlan

__all__ = [
    "SecureRound",
    "quantization_error_bound",
    "secure_parameters",
    "secure_training_round",
]

Arrays = dict[str, np.ndarray[Any, Any]]

QUANTIZATION_RANGE = 2**22
MODULUS_RANGE = 2**32


def secure_parameters(plan: TrainingPlan, timeout_s: float) -> SecAggParameters:
    """SecAgg+'s parameters for ``plan`` (see the module docstring).

    Raises
    ------
    ConfigurationError
        The plan sets no ``update_clip_norm``.
    """
    if plan.update_clip_norm is None:
        raise ConfigurationError(
            "--secure-aggregation needs a plan with update_clip_norm: SecAgg+ quantizes each "
            "coordinate within [-clip, clip], and only a clipped update has such a bound",
            setting="update_clip_norm",
        )
    return SecAggParameters(
        clipping_range=float(plan.update_clip_norm),
        quantization_range=QUANTIZATION_RANGE,
        modulus_range=MODULUS_RANGE,
        max_weight=1.0,
        timeout_s=timeout_s,
    )


def quantization_error_bound(parameters: SecAggParameters) -> float:
    """The largest error of one coordinate of the unmasked mean (one quantization step)."""
    return 2.0 * parameters.clipping_range / parameters.quantization_range


@dataclass
class SecureRound:
    """What a secure round revealed: the mean update, the survivors' receipts, the protocol."""

    mean_update: list[np.ndarray[Any, Any]] | None
    replies: list[SiteReply]
    dropped: dict[str, str]
    facts: dict[str, Any]


def _receipt_reply(site: str, metrics: Mapping[str, Any]) -> SiteReply:
    status: dict[str, Any] = {"ok": True, "site": site, "bytes": [], "kinds": []}
    if "model_update.bytes" in metrics:
        status["kinds"] = ["model_update"]
        status["bytes"] = [int(metrics["model_update.bytes"])]
        status["sha256"] = [str(metrics.get("model_update.sha256", ""))]
    if "model_update.epsilon" in metrics:
        status["epsilon"] = [float(metrics["model_update.epsilon"])]
        status["delta"] = [float(metrics.get("model_update.delta", 0.0))]
        status["mechanism"] = [str(metrics.get("model_update.mechanism", ""))]
    meta = {
        "guideline": str(metrics.get("model_update.guideline", "")),
        "guideline_version": str(metrics.get("model_update.guideline_version", "")),
        "update": "delta",
    }
    return SiteReply(site=site, ok=True, status=status, meta=meta)


def secure_training_round(
    grid: Grid,
    context: Context,
    nodes: list[int],
    weights: Arrays,
    site_config: Mapping[str, Any],
    *,
    plan: TrainingPlan,
    registry: Mapping[int, str],
    timeout_s: float,
    poll_s: float = 0.1,
) -> SecureRound:
    """Run one SecAgg+ training round over ``nodes`` (see the module docstring)."""
    parameters = secure_parameters(plan, timeout_s)
    facts: dict[str, Any] = {
        "weighting": "equal",
        "parameters": parameters.to_json(),
        "quantization_error_bound": quantization_error_bound(parameters),
    }
    if len(nodes) < parameters.min_nodes:
        facts["message"] = (
            f"SecAgg+ needs at least {parameters.min_nodes} connected nodes, "
            f"{len(nodes)} are connected"
        )
        return SecureRound(None, [], {}, facts)
    arrays = [np.asarray(a, dtype=np.float32) for a in weights.values()]
    config = {**dict(site_config), TASK_KEY: TRAINING}
    fit_ins = {node: FitIns(ndarrays_to_parameters(arrays), dict(config)) for node in nodes}
    started = time.monotonic()
    result = secure_aggregate(
        grid,
        fit_ins,
        parameters,
        round_id=str(site_config["round-id"]),
        context=context,
        poll_interval_s=poll_s,
    )
    name = {node: registry.get(node, f"node-{node}") for node in nodes}
    facts.update(
        threshold=result.threshold,
        survivors=sorted(name[n] for n in result.survivors),
        secure_s=round(time.monotonic() - started, 3),
    )
    dropped = {name[n]: stage for n, stage in sorted(result.dropped.items())}
    replies = [_receipt_reply(name[n], result.metrics.get(n, {})) for n in result.survivors]
    if not result.completed:
        facts["message"] = (
            f"SecAgg+ halted: fewer than {result.threshold} nodes stayed in the protocol "
            f"(dropped: {dropped})"
        )
        return SecureRound(None, [], dropped, facts)
    if len(result.arrays) != len(arrays) or any(
        np.size(a) != b.size for a, b in zip(result.arrays, arrays, strict=False)
    ):
        facts["message"] = "the securely aggregated update does not fit the model's arrays"
        return SecureRound(None, replies, dropped, facts)
    mean = [
        np.asarray(a, dtype=np.float32).reshape(b.shape)
        for a, b in zip(result.arrays, arrays, strict=True)
    ]
    return SecureRound(mean, replies, dropped, facts)
