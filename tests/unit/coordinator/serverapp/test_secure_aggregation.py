"""SecAgg+ from the Message API: exact integer sums, dropouts, the weighted mean, the fast grid.

The nodes are real ClientApps with Flower's real ``secaggplus_mod`` behind a
loopback Grid (``tests.support.loopback_grid``): the protocol, masks, key
shares and unmasking are Flower's; only the network is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flwr.app import Context, Message, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import Code, FitIns, FitRes, Parameters, Status, ndarrays_to_parameters
from flwr.compat.common import recorddict_compat as compat

from coordinator.serverapp.fast_grid import FastGrid
from coordinator.serverapp.secure_aggregation import (
    SecAggParameters,
    secure_aggregate,
    secure_sum,
)
from shared.privacy import SecureSumLayout, decode_limbs
from tests.support.loopback_grid import LoopbackGrid

LAYOUT = SecureSumLayout.of([("counts", (3, 3), 1), ("score", (2,), 1024)])


def _vector_app(values: dict[str, np.ndarray]) -> ClientApp:
    app = ClientApp()

    @app.train(mods=[secaggplus_mod])
    def train(message: Message, context: Context) -> Message:
        config = message.content.config_records["fitins.config"]
        assert config["task"] == "sum"
        fitres = FitRes(
            Status(Code.OK, ""),
            ndarrays_to_parameters([LAYOUT.encode(values)]),
            num_examples=1,
            metrics={"receipt": f"node-{context.node_id}"},
        )
        return Message(compat.fitres_to_recorddict(fitres, False), reply_to=message)

    return app


def _site(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "counts": rng.integers(-50, 1000, size=(3, 3)),
        "score": np.round(rng.uniform(-3, 3, size=2) * 1024) / 1024,
    }


SITES = {101: _site(1), 202: _site(2), 303: _site(3)}


def _context() -> Context:
    return Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})


def _grid(stop_after: dict[int, int] | None = None) -> LoopbackGrid:
    return LoopbackGrid(
        {nid: (_vector_app(values), {}) for nid, values in SITES.items()}, stop_after=stop_after
    )


def _expected(nodes: list[int]) -> dict[str, np.ndarray]:
    return {k: sum(SITES[n][k] for n in nodes) for k in ("counts", "score")}


def test_three_nodes_sum_exactly_and_the_coordinator_sees_only_masked_vectors() -> None:
    grid = _grid()
    result = secure_sum(
        grid, {nid: {"task": "sum"} for nid in SITES}, round_id="r-1", context=_context()
    )
    assert result.completed and result.survivors == (101, 202, 303) and result.dropped == {}
    assert result.threshold == 2
    summed = LAYOUT.decode(result.arrays[0])
    expected = _expected(list(SITES))
    assert summed["counts"].tolist() == expected["counts"].tolist()  # exact, negative included
    assert summed["score"] == pytest.approx(expected["score"], abs=1e-12)
    assert result.metrics[202] == {"receipt": "node-202"}
    # what each node sent in the masked-vector stage is not its vector
    masked = [
        m for m in grid.sent if "masked_params" in m.content.config_records["secaggplus_configs"]
    ]
    assert len(masked) == 3
    for reply in masked:
        assert not reply.content.array_records["fitres.parameters"]  # cleared by the mod


@pytest.mark.parametrize(
    ("answers", "stage"),
    [(1, "share_keys"), (2, "collect_masked_vectors"), (3, "unmask")],
)
def test_a_node_that_dies_mid_protocol_leaves_the_sum_of_the_others(
    answers: int, stage: str
) -> None:
    """Killed after setup (never shared keys), after sharing keys (its masks are
    reconstructed from the others' shares), or after sending its masked vector."""
    grid = _grid(stop_after={303: answers})
    params = SecAggParameters.exact_integers(timeout_s=5.0)
    result = secure_sum(
        grid,
        {nid: {"task": "sum"} for nid in SITES},
        round_id="r-2",
        context=_context(),
        parameters=params,
    )
    assert result.completed
    assert result.dropped == {303: stage}
    survivors = [101, 202, 303] if stage == "unmask" else [101, 202]
    assert list(result.survivors) == survivors
    summed = LAYOUT.decode(result.arrays[0])
    assert summed["counts"].tolist() == _expected(survivors)["counts"].tolist()


def test_two_dropouts_of_three_halt_without_an_aggregate() -> None:
    grid = _grid(stop_after={202: 1, 303: 1})
    params = SecAggParameters.exact_integers(timeout_s=2.0)
    result = secure_sum(
        grid,
        {nid: {"task": "sum"} for nid in SITES},
        round_id="r-3",
        context=_context(),
        parameters=params,
    )
    assert not result.completed
    assert result.arrays == [] and result.survivors == ()
    assert set(result.dropped) == {101, 202, 303}


def test_the_weighted_mean_for_model_updates() -> None:
    """The general helper: SecAgg+'s weighted mean of float arrays (here weights 1, 1, 2)."""
    weights = {101: 100, 202: 100, 303: 200}
    updates = {nid: np.full(4, float(i + 1)) for i, nid in enumerate(SITES)}

    def app_for(nid: int) -> ClientApp:
        app = ClientApp()

        @app.train(mods=[secaggplus_mod])
        def train(message: Message, context: Context) -> Message:
            fitres = FitRes(
                Status(Code.OK, ""), ndarrays_to_parameters([updates[nid]]), weights[nid], {}
            )
            return Message(compat.fitres_to_recorddict(fitres, False), reply_to=message)

        return app

    grid = LoopbackGrid({nid: (app_for(nid), {}) for nid in SITES})
    empty = Parameters(tensors=[], tensor_type="")
    result = secure_aggregate(
        grid,
        {nid: FitIns(empty, {}) for nid in SITES},
        SecAggParameters(max_weight=400.0),
        round_id="r-4",
        context=_context(),
    )
    assert result.completed
    assert result.arrays[0] == pytest.approx(
        np.full(4, (1 * 100 + 2 * 100 + 3 * 200) / 400), abs=1e-3
    )


def test_threshold_for() -> None:
    params = SecAggParameters()
    assert [params.threshold_for(n) for n in (3, 4, 5, 10)] == [2, 3, 3, 7]
    assert SecAggParameters(num_shares=3, reconstruction_threshold=2).threshold_for(3) == 2


def test_fast_grid_send_and_receive_keeps_the_timeout() -> None:
    grid = _grid(stop_after={303: 0})
    fast = FastGrid(grid, poll_interval_s=0.01)
    from flwr.common.secure_aggregation.secaggplus_constants import Stage

    content = RecordDict()
    content.config_records["secaggplus_configs"] = compat.ConfigRecord(  # type: ignore[attr-defined]
        {
            "stage": Stage.SETUP,
            "sample_num": 3,
            "share_num": 3,
            "threshold": 2,
            "clipping_range": 8.0,
            "target_range": 2**22,
            "mod_range": 2**32,
            "max_weight": 1.0,
        }
    )
    messages = [Message(content, nid, "train", group_id="1") for nid in SITES]
    replies = list(fast.send_and_receive(messages, timeout=0.05))
    assert sorted(r.metadata.src_node_id for r in replies) == [101, 202]
    assert decode_limbs(np.zeros(3)).tolist() == [0]


def test_an_error_reply_drops_its_node_and_the_result_keeps_the_reason() -> None:
    calls = {"n": 0}

    def failing_share_keys(message: Message, context: Context, call_next: Any) -> Message:
        calls["n"] += 1
        if calls["n"] == 2:  # its answer to the share-keys stage
            raise RuntimeError("the key store is unreadable")
        return call_next(message, context)  # type: ignore[no-any-return]

    failing = ClientApp()

    @failing.train(mods=[failing_share_keys, secaggplus_mod])
    def train(message: Message, context: Context) -> Message:
        raise AssertionError("never reached: the node is dropped before it sends a vector")

    apps = {nid: (_vector_app(values), {}) for nid, values in SITES.items() if nid != 303}
    grid = LoopbackGrid({**apps, 303: (failing, {})})
    result = secure_sum(
        grid,
        {nid: {"task": "sum"} for nid in SITES},
        round_id="r-5",
        context=_context(),
        parameters=SecAggParameters.exact_integers(timeout_s=5.0),
    )
    assert result.completed and result.dropped == {303: "share_keys"}
    assert list(result.survivors) == [101, 202]
    assert result.errors, result
    (reason,) = result.errors["share_keys"]
    assert "the key store is unreadable" in reason
