"""Training rounds under SecAgg+ in one process: the real training ServerApp round, the real
ClientApp (egress mod, secaggplus_mod, the training branch), each node's real learning service
(``LearningServer`` + ``RoundWork`` on a real node store, in a thread) and Flower's real SecAgg+,
over a loopback Grid instead of the SuperLink (the processes' version is
tests/integration/test_training_rounds.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Context, RecordDict

from coordinator.serverapp.training import run_training
from coordinator.serverapp.training_secure import quantization_error_bound, secure_parameters
from node.clientapp import app as client_app
from node.consortium import Membership, consortium_dir
from node.egress import EgressLedger, Outcome, decode_payload
from node.store.database import create_database_engine
from shared.errors import ConfigurationError
from shared.schemas.training import TrainingPlan
from shared.weights import decode_weights, encode_weights
from tests.support.learn_sites import PROJECT, default_recipes, prepare_learning_site, tiny_plan
from tests.support.loopback_grid import LoopbackGrid

SITES = {11: "north", 22: "south", 33: "east"}
PLAN = tiny_plan(update_clip_norm=2.0)


def test_parameters_come_from_the_plans_clip_norm() -> None:
    plan = TrainingPlan.model_validate(PLAN)
    parameters = secure_parameters(plan, 30.0)
    assert parameters.clipping_range == 2.0 and parameters.max_weight == 1.0
    assert parameters.timeout_s == 30.0
    assert quantization_error_bound(parameters) == pytest.approx(4.0 / 2**22)
    unclipped = TrainingPlan.model_validate({**PLAN, "update_clip_norm": None})
    with pytest.raises(ConfigurationError, match="update_clip_norm"):
        secure_parameters(unclipped, 30.0)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pytest.importorskip("torch")
    from node.learn.round_work import RoundWork
    from node.learn.service import LearningServer
    from node.settings import NodeSettings

    root = tmp_path_factory.mktemp("secure-training")
    released: dict[str, list[bytes]] = {}
    servers = []
    threads = []
    dirs: dict[str, Path] = {}
    for index, site in enumerate(SITES.values()):
        data_dir = root / site
        prepare_learning_site(data_dir, default_recipes()[index], cases=2)
        (data_dir / "training-policy.json").write_text(
            json.dumps({"epsilon": 200.0, "delta": 1e-2, "release_site_metrics": True})
        )
        folder = consortium_dir(data_dir)
        folder.mkdir(exist_ok=True)
        membership = Membership(site, "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
        (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
        work = RoundWork(data_dir, settings=NodeSettings(data_dir=data_dir, fsync=False))

        def train(request: dict[str, Any], body: bytes, work: Any = work, site: str = site) -> Any:
            header, data = work.train(request, body)
            released.setdefault(site, []).append(data)  # observe the gate's bytes
            return header, data

        server = LearningServer(data_dir, {"train": train, "evaluate": work.evaluate})
        server.bind()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        threads.append(thread)
        dirs[site] = data_dir
    (root / "registry.json").write_text(
        json.dumps({site: {"node_id": nid} for nid, site in SITES.items()})
    )
    yield {"dirs": dirs, "root": root, "released": released}
    for server in servers:
        server.stop()
    for thread in threads:
        thread.join(timeout=10)


def _ledger(data_dir: Path) -> list[Any]:
    from node.settings import NodeSettings

    url = NodeSettings(data_dir=data_dir).resolved_database_url
    engine = create_database_engine(url, durable=False)
    try:
        return EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # three node stores and three DP-SGD trainings on a shared machine
def test_a_secure_round_applies_the_mean_of_the_released_updates(sites: dict[str, Any]) -> None:
    from shared.models import build_model, model_weights, weight_names

    plan = TrainingPlan.model_validate(PLAN)
    run_dir = sites["root"] / "run"
    run_dir.mkdir()
    (run_dir / "plan.json").write_text(plan.model_dump_json())
    model = build_model(plan, seed=3)
    initial = dict(zip(weight_names(model), model_weights(model), strict=True))
    (run_dir / "initial.weights").write_bytes(encode_weights(initial))
    grid = LoopbackGrid(
        {
            nid: (client_app, {"data-path": str(sites["dirs"][s]), "site": s})
            for nid, s in SITES.items()
        }
    )
    config = {
        "run-id": "secure-run",
        "run-dir": str(run_dir),
        "project": PROJECT,
        "rounds": 1,
        "min-sites": 3,
        "expected-nodes": 3,
        "registry-path": str(sites["root"] / "registry.json"),
        "secure-aggregation": True,
        "reply-timeout-s": 300.0,
    }
    context = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    result = run_training(grid, config, context)
    assert result["status"] == "completed", result
    (entry,) = result["history"]
    assert entry["secure"]["survivors"] == sorted(SITES.values())
    assert entry["examples"] == {} and entry["train_loss"] is None

    # the new global weights = initial + the unweighted mean of the three released updates
    deltas = []
    for site in SITES.values():
        (data,) = sites["released"][site]
        stored = decode_payload(data)["arrays"]
        deltas.append([np.asarray(stored[name], dtype=np.float64) for name in sorted(stored)])
    expected = [sum(parts) / 3 for parts in zip(*deltas, strict=True)]
    after, _ = decode_weights((run_dir / "round-1.weights").read_bytes())
    bound = entry["secure"]["quantization_error_bound"]
    for (name, start), mean, new in zip(initial.items(), expected, after.values(), strict=True):
        assert np.max(np.abs(new - start - mean)) <= bound + 1e-6, name
    assert any(np.any(np.abs(m) > 10 * bound) for m in expected)  # something was learned

    for site, data_dir in sites["dirs"].items():
        entries = [e for e in _ledger(data_dir) if e.round_id == "secure-run.r1"]
        updates = [e for e in entries if e.kind == "model_update"]
        assert len(updates) == 1 and updates[0].destination == "superlink/secure-sum", site
        assert updates[0].epsilon and updates[0].epsilon > 0
        assert len([e for e in entries if e.kind == "secure_aggregation"]) == 4
        assert all(e.epsilon is None for e in entries if e.kind == "secure_aggregation")
        # what the coordinator recorded = the run's charges in the site's ledger (the update's
        # and the final evaluation's, released under the site's policy)
        charged = [
            e.epsilon
            for e in _ledger(data_dir)
            if e.round_id.startswith("secure-run.") and e.epsilon
        ]
        assert result["sites"][site]["epsilon"] == pytest.approx(sum(charged))
