from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from coordinator.errors import NotFoundError
from coordinator.models import ModelRegistry, RunStatus, WeightStore
from coordinator.runtime import CoordinatorRuntime
from shared.errors import InvalidInputError
from shared.weights import encode_weights, weights_sha256

PLAN = {"project": "lung", "model": "unet-tiny", "epochs": 1}


def _weights(value: float = 0.0) -> bytes:
    return encode_weights({"w": np.full((2, 3), value, dtype=np.float32), "b": np.zeros(3)})


def _register(registry: ModelRegistry, name: str = "nodules", value: float = 0.0, **extra):
    facts = dict(
        run_id="run-1",
        plan=PLAN,
        guideline=("lung", "2"),
        aggregation="fedavg",
        secure_aggregation=True,
        rounds=2,
        sites=["site-b", "site-a"],
        privacy={"site-a": {"epsilon": 1.5, "delta": 1e-5, "releases": 2}},
        metrics={"final": {"dice": 0.7}, "history": [{"round": 1}, {"round": 2}]},
        weights=_weights(value),
    )
    facts.update(extra)
    return registry.register(name, **facts)


def test_versions_are_numbered_per_name_and_keep_their_facts(
    coordinator: CoordinatorRuntime,
) -> None:
    registry = coordinator.models
    first = _register(registry)
    second = _register(registry, value=1.0)
    other = _register(registry, name="other")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert second.sites == ("site-a", "site-b")
    assert second.parameters == 9
    assert second.guideline == "lung" and second.guideline_version == "2"
    assert second.privacy["site-a"]["epsilon"] == 1.5
    assert registry.get("nodules") == second
    assert registry.get("nodules", 1) == first
    assert [v.version for v in registry.versions("nodules")] == [1, 2]
    assert registry.names() == ["nodules", "other"]
    shown = second.to_json()
    assert shown["weights"]["sha256"] == weights_sha256(_weights(1.0))
    assert shown["guideline"] == {"name": "lung", "version": "2"}


def test_weights_are_content_addressed_and_verified(coordinator: CoordinatorRuntime) -> None:
    registry = coordinator.models
    version = _register(registry)
    path = registry.weights.path(version.weights_sha256)
    assert path.parent.parent.name == "sha256"
    assert path.name == version.weights_sha256
    assert registry.weights_of(version) == _weights()
    again = _register(registry)
    assert again.weights_sha256 == version.weights_sha256
    assert len(list(path.parent.iterdir())) == 1
    path.write_bytes(_weights(5.0))
    with pytest.raises(NotFoundError, match="altered"):
        registry.weights_of(version)


def test_unknown_models_bad_names_and_bad_weights_are_refused(
    coordinator: CoordinatorRuntime,
) -> None:
    registry = coordinator.models
    with pytest.raises(NotFoundError, match="model list"):
        registry.get("nothing")
    _register(registry)
    with pytest.raises(NotFoundError, match="version 7"):
        registry.get("nodules", 7)
    with pytest.raises(InvalidInputError):
        _register(registry, name="../etc")
    with pytest.raises(InvalidInputError):
        _register(registry, weights=b"not weights")
    assert [v.version for v in registry.versions()] == [1]


def test_a_run_records_rounds_as_they_complete_and_ends_once(
    coordinator: CoordinatorRuntime,
) -> None:
    registry = coordinator.models
    run = registry.start_run("run-9", model="nodules", plan=PLAN, config={"rounds": 3}, rounds=3)
    assert run.status is RunStatus.RUNNING and run.rounds_completed == 0
    registry.record_round("run-9", {"round": 1, "answered": ["site-a"]})
    registry.record_round("run-9", {"round": 2, "answered": ["site-a"]})
    ended = registry.end_run("run-9", RunStatus.INTERRUPTED, "the SuperLink went away")
    assert ended.status is RunStatus.INTERRUPTED
    assert ended.rounds_completed == 2
    assert [h["round"] for h in ended.history] == [1, 2]
    assert ended.ended_at is not None
    later = registry.end_run("run-9", RunStatus.COMPLETED, "late", model_version=4)
    assert later.status is RunStatus.INTERRUPTED and later.model_version is None
    assert registry.runs()[0].to_json()["status"] == "interrupted"
    with pytest.raises(NotFoundError):
        registry.run("nope")


def test_weight_store_refuses_a_bad_digest(tmp_path: Path) -> None:
    store = WeightStore(tmp_path, fsync=False)
    with pytest.raises(InvalidInputError):
        store.path("../x")
    with pytest.raises(NotFoundError):
        store.get("0" * 64)


def test_registry_uses_its_clock(coordinator: CoordinatorRuntime) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    registry = ModelRegistry(coordinator.engine, coordinator.models.weights, clock=lambda: moment)
    assert _register(registry).created_at == moment
