"""Secure aggregation with Flower's SecAgg+ from a Message-API ServerApp (reusable for any round).

``SecAggPlusWorkflow`` (flwr 1.41) runs only inside the legacy API: it wants a
``LegacyContext`` whose strategy configures the fit instructions and receives
the aggregate. :func:`secure_aggregate` builds that scaffolding around a plain
``Grid`` for one aggregation and returns what the coordinator may see:

* the **aggregate**: SecAgg+'s weighted mean ``Σ wᵢ xᵢ / Σ wᵢ`` of the
  clients' arrays (``wᵢ`` = their ``num_examples`` / ``max_weight``),
  never an individual vector;
* which nodes are in it (``survivors``) and which dropped, with the stage
  they dropped in (their masks are removed from the shares of the others);
* each survivor's fit metrics (which travel **unmasked**: keep them to
  receipts and counts).

:func:`secure_sum` uses it for exact integer sums
(:mod:`shared.privacy.secure_sum`): ``C = 2**16``, ``Q = 2**17``,
``M = 2**32``, weight exactly 1 per site; the mean times the number of
survivors, rounded, is the exact digit-wise sum.

Two departures from the stock workflow, both in :class:`_Workflow`:

* the Grid is wrapped in :class:`~coordinator.serverapp.fast_grid.FastGrid`
  (0.1 s polls instead of 3 s) — each stage waits at most ``timeout_s``;
* after the share-keys stage, nodes that never shared their keys are
  forgotten: nobody masked with them, so there is nothing to unmask, and the
  stock workflow would otherwise ask the others for key shares they never
  received and fail the round (a node killed before it shared its keys).

Threshold: with ``num_shares`` = all nodes and ``reconstruction_threshold`` =
``t``, the sum survives up to ``n - t`` dropouts and the coordinator needs
``t`` colluding nodes' help to unmask one site. With 3 nodes the defaults give
``t = 2``: one node may drop out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, RecordDict
from flwr.common import (
    EvaluateIns,
    EvaluateRes,
    FitIns,
    FitRes,
    Parameters,
    Scalar,
    parameters_to_ndarrays,
)
from flwr.server.client_manager import ClientManager, SimpleClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.server_config import ServerConfig
from flwr.server.strategy import Strategy
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.serverapp import Grid
from numpy.typing import NDArray

from coordinator.serverapp.fast_grid import FastGrid
from shared.privacy import CLIPPING_RANGE, MODULUS_RANGE, QUANTIZATION_RANGE

__all__ = ["SecAggParameters", "SecureAggregate", "secure_aggregate", "secure_sum"]

_STAGES = ("setup", "share_keys", "collect_masked_vectors", "unmask")


@dataclass(frozen=True)
class SecAggParameters:
    """SecAgg+'s parameters (see ``flwr.server.workflow.SecAggPlusWorkflow``).

    ``num_shares`` and ``reconstruction_threshold`` as floats are fractions
    (of the nodes, of the shares); ``timeout_s`` bounds each of the four
    stages; ``min_nodes`` is the fewest nodes a secure aggregation starts with
    (below 3, a node could subtract its own vector from the sum of two).
    """

    num_shares: int | float = 1.0
    reconstruction_threshold: int | float = 0.67
    clipping_range: float = 8.0
    quantization_range: int = 2**22
    modulus_range: int = 2**32
    max_weight: float = 1000.0
    timeout_s: float | None = 60.0
    min_nodes: int = 3

    @classmethod
    def exact_integers(cls, **overrides: Any) -> SecAggParameters:
        """The parameters under which limb vectors sum exactly (weight 1 per site)."""
        values: dict[str, Any] = {
            "clipping_range": CLIPPING_RANGE,
            "quantization_range": QUANTIZATION_RANGE,
            "modulus_range": MODULUS_RANGE,
            "max_weight": 1.0,
        }
        return cls(**{**values, **overrides})

    def threshold_for(self, nodes: int) -> int:
        """The reconstruction threshold SecAgg+ will use with ``nodes`` nodes."""
        shares = (
            round(self.num_shares * nodes)
            if isinstance(self.num_shares, float)
            else self.num_shares
        )
        if isinstance(self.num_shares, float) and shares <= 2:
            shares = nodes
        if isinstance(self.reconstruction_threshold, float):
            return max(round(self.reconstruction_threshold * shares), 2)
        return int(self.reconstruction_threshold)

    def to_json(self) -> dict[str, Any]:
        """The parameters as recorded in a round's result."""
        return {
            "num_shares": self.num_shares,
            "reconstruction_threshold": self.reconstruction_threshold,
            "clipping_range": self.clipping_range,
            "quantization_range": self.quantization_range,
            "modulus_range": self.modulus_range,
            "max_weight": self.max_weight,
            "timeout_s": self.timeout_s,
            "min_nodes": self.min_nodes,
        }


@dataclass(frozen=True)
class SecureAggregate:
    """What one secure aggregation reveals to the coordinator."""

    arrays: list[NDArray[Any]]
    survivors: tuple[int, ...]
    dropped: dict[int, str] = field(default_factory=dict)
    metrics: dict[int, dict[str, Scalar]] = field(default_factory=dict)
    completed: bool = True
    threshold: int = 0
    wall_time_s: float = 0.0
    errors: dict[str, list[str]] = field(default_factory=dict)


class _Capture(Strategy):
    """Hands SecAgg+ the fit instructions and keeps the unmasked aggregate."""

    def __init__(self, grid: Grid, fit_ins: Mapping[int, FitIns]) -> None:
        self.grid = grid
        self.fit_ins = dict(fit_ins)
        self.aggregate: list[NDArray[Any]] | None = None
        self.survivors: tuple[int, ...] = ()
        self.metrics: dict[int, dict[str, Scalar]] = {}

    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        return None

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        run_id = self.grid.run.run_id
        return [(GridClientProxy(nid, self.grid, run_id), ins) for nid, ins in self.fit_ins.items()]

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        if results:
            self.aggregate = parameters_to_ndarrays(results[0][1].parameters)
        self.survivors = tuple(sorted(int(p.node_id) for p, _ in results))
        self.metrics = {int(p.node_id): dict(r.metrics) for p, r in results}
        return None, {}

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        return []

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        return None, {}

    def evaluate(
        self, server_round: int, parameters: Parameters
    ) -> tuple[float, dict[str, Scalar]] | None:
        return None


class _Workflow(SecAggPlusWorkflow):
    """SecAgg+ recording who is active after each stage; forgets nodes that never shared keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active_after: dict[str, set[int]] = {}
        self.sampled: set[int] = set()
        self.threshold = 0
        self.errors: dict[str, list[str]] = {}

    def _note_errors(self, stage: str, state: Any, before: int) -> None:
        # a node's error reply drops it like silence would; its reason is what tells them apart
        new = [str(failure) for failure in state.failures[before:]]
        if new:
            self.errors[stage] = new

    def setup_stage(self, grid: Grid, context: LegacyContext, state: Any) -> bool:
        before = len(state.failures)
        ok = bool(super().setup_stage(grid, context, state))
        self._note_errors("setup", state, before)
        self.sampled = set(state.sampled_node_ids)
        self.threshold = int(state.threshold)
        self.active_after["setup"] = set(state.active_node_ids)
        return ok

    def share_keys_stage(self, grid: Grid, context: LegacyContext, state: Any) -> bool:
        before = len(state.failures)
        super().share_keys_stage(grid, context, state)
        self._note_errors("share_keys", state, before)
        active = set(state.active_node_ids)
        self.active_after["share_keys"] = active
        state.sampled_node_ids = set(active)
        state.nid_to_neighbours = {
            nid: neighbours & active
            for nid, neighbours in state.nid_to_neighbours.items()
            if nid in active
        }
        return bool(self._check_threshold(state))

    def collect_masked_vectors_stage(self, grid: Grid, context: LegacyContext, state: Any) -> bool:
        before = len(state.failures)
        ok = bool(super().collect_masked_vectors_stage(grid, context, state))
        self._note_errors("collect_masked_vectors", state, before)
        self.active_after["collect_masked_vectors"] = set(state.active_node_ids)
        return ok

    def unmask_stage(self, grid: Grid, context: LegacyContext, state: Any) -> bool:
        before = len(state.failures)
        ok = bool(super().unmask_stage(grid, context, state))
        self._note_errors("unmask", state, before)
        self.active_after["unmask"] = set(state.active_node_ids)
        return ok

    def dropped(self) -> dict[int, str]:
        out: dict[int, str] = {}
        previous = set(self.sampled)
        for stage in _STAGES:
            if stage not in self.active_after:
                break
            for nid in previous - self.active_after[stage]:
                out[nid] = stage
            previous = self.active_after[stage]
        return out


def secure_aggregate(
    grid: Grid,
    fit_ins: Mapping[int, FitIns],
    parameters: SecAggParameters,
    *,
    round_id: str,
    context: Context,
    poll_interval_s: float = 0.1,
) -> SecureAggregate:
    """Run SecAgg+ once over the nodes of ``fit_ins`` (node id → the FitIns it gets).

    The messages are ``train`` messages of group ``round_id`` (nodes ledger
    the protocol traffic under that round). The nodes answer the masked-vector
    stage with a legacy fit result (``fitres.*`` records) through
    ``secaggplus_mod``. ``completed`` is False when the protocol halted (too
    few nodes left for the threshold): then no aggregate is returned.
    """
    started = time.monotonic()
    strategy = _Capture(grid, fit_ins)
    state = RecordDict()
    state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({Key.CURRENT_ROUND: round_id})
    state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord()
    legacy = LegacyContext(
        Context(
            run_id=context.run_id,
            node_id=context.node_id,
            node_config=context.node_config,
            state=state,
            run_config=context.run_config,
        ),
        config=ServerConfig(num_rounds=1),
        strategy=strategy,
        client_manager=SimpleClientManager(),
    )
    workflow = _Workflow(
        parameters.num_shares,
        parameters.reconstruction_threshold,
        max_weight=parameters.max_weight,
        clipping_range=parameters.clipping_range,
        quantization_range=parameters.quantization_range,
        modulus_range=parameters.modulus_range,
        timeout=parameters.timeout_s,
    )
    workflow(FastGrid(grid, poll_interval_s), legacy)
    completed = strategy.aggregate is not None
    dropped = workflow.dropped()
    if not completed:
        dropped.update({nid: "halted" for nid in fit_ins if nid not in dropped})
    return SecureAggregate(
        arrays=strategy.aggregate or [],
        survivors=strategy.survivors if completed else (),
        dropped=dropped,
        metrics=strategy.metrics if completed else {},
        completed=completed,
        threshold=workflow.threshold,
        wall_time_s=round(time.monotonic() - started, 3),
        errors=workflow.errors,
    )


def secure_sum(
    grid: Grid,
    configs: Mapping[int, Mapping[str, Scalar]],
    *,
    round_id: str,
    context: Context,
    parameters: SecAggParameters | None = None,
    poll_interval_s: float = 0.1,
) -> SecureAggregate:
    """The exact element-wise sum of the nodes' limb vectors (each node gets its config).

    ``arrays`` is ``[sum]``: the digit-wise sums as whole floats, for
    :meth:`shared.privacy.SecureSumLayout.decode`.
    """
    params = parameters or SecAggParameters.exact_integers()
    fit_ins = {
        nid: FitIns(Parameters(tensors=[], tensor_type=""), dict(c)) for nid, c in configs.items()
    }
    result = secure_aggregate(
        grid, fit_ins, params, round_id=round_id, context=context, poll_interval_s=poll_interval_s
    )
    if not result.completed:
        return result
    count = len(result.survivors)
    sums = [np.rint(np.asarray(a, dtype=np.float64) * count) for a in result.arrays]
    return SecureAggregate(
        sums,
        result.survivors,
        result.dropped,
        result.metrics,
        True,
        result.threshold,
        result.wall_time_s,
        result.errors,
    )
