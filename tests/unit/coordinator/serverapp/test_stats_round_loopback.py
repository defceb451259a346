"""The whole statistics round in one process: the real ServerApp round, the real ClientApp
(egress mod, secaggplus_mod, node.stats on real node stores) and Flower's real SecAgg+,
over a loopback Grid instead of the SuperLink (the processes' version is
tests/integration/test_secure_stats_round.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Context, RecordDict

from coordinator.serverapp.app import run_round
from node.clientapp import app as client_app
from node.consortium import Membership, consortium_dir
from node.egress import EgressLedger, Outcome
from node.store.database import create_database_engine
from tests.support.loopback_grid import LoopbackGrid
from tests.support.stats_sites import (
    PLANS,
    PROJECT,
    node_settings,
    prepare_site,
    union_figures,
    write_policy,
)

pytestmark = pytest.mark.slow

SITES = {11: "hosp-a", 22: "hosp-b", 33: "hosp-c"}


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("loopback-sites")
    dirs = {}
    for index, site in enumerate(SITES.values()):
        data_dir = root / site
        prepare_site(data_dir, PLANS["abc"[index]], seed=index)
        folder = consortium_dir(data_dir)
        folder.mkdir(exist_ok=True)
        membership = Membership(site, "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
        (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
        dirs[site] = data_dir
    (root / "registry.json").write_text(
        json.dumps({site: {"node_id": nid} for nid, site in SITES.items()})
    )
    dirs["_registry"] = root / "registry.json"
    yield dirs


def _policies(sites: dict[str, Path], per_site: set[str], epsilon: float = 100.0) -> None:
    for site in SITES.values():
        write_policy(
            sites[site], epsilon=epsilon, delta=1e-3, allow_per_site_release=site in per_site
        )


def _round(
    sites: dict[str, Path], round_id: str, stop_after: dict[int, int] | None = None, **extra: Any
) -> dict[str, Any]:
    grid = LoopbackGrid(
        {nid: (client_app, {"data-path": str(sites[s]), "site": s}) for nid, s in SITES.items()},
        stop_after=stop_after,
    )
    config = {
        "project": PROJECT,
        "round-id": round_id,
        "registry-path": str(sites["_registry"]),
        "reply-timeout-s": 5.0,
        "secagg-timeout-s": 5.0,
        "seed": 7,
        **extra,
    }
    context = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    return run_round(grid, config, context)


def _ledger(data_dir: Path, round_id: str) -> list[Any]:
    engine = create_database_engine(node_settings(data_dir).resolved_database_url, durable=False)
    try:
        return [
            e
            for e in EgressLedger(engine).entries(outcome=Outcome.RELEASED)
            if e.round_id == round_id
        ]
    finally:
        engine.dispose()


def test_noise_free_secure_round_equals_the_union_and_keeps_per_site_figures_home(
    sites: dict[str, Path],
) -> None:
    _policies(sites, per_site={"hosp-a"})
    result = _round(sites, "loop-1", noise=False)
    assert result["mode"] == "secure"
    assert result["secure_aggregation"]["status"] == "completed"
    assert result["secure_aggregation"]["survivors"] == ["hosp-a", "hosp-b", "hosp-c"]
    assert result["answered"] == ["hosp-a", "hosp-b", "hosp-c"] and result["missing"] == []
    reference = union_figures([sites[s] for s in SITES.values()])
    assert result["figures"]["lung-rads"] == reference["lung-rads"]  # exactly
    assert result["per_site"]["released"] == ["hosp-a"]
    assert result["per_site"]["not_allowed"] == ["hosp-b", "hosp-c"]
    assert set(result["per_site_figures"]) == {"hosp-a"}
    assert (
        result["per_site_figures"]["hosp-a"]["lung-rads"]
        == union_figures([sites["hosp-a"]])["lung-rads"]
    )
    for site in SITES.values():
        entries = _ledger(sites[site], "loop-1")
        kinds = [e.kind for e in entries]
        assert kinds.count("secure_aggregation") == 5  # layout + 4 protocol stages
        statistics = [e for e in entries if e.destination == "superlink/secure-sum"]
        assert [e.kind for e in statistics] == ["agreement_statistics", "diversity_statistics"]
        reported = result["sites"][site]
        for entry in statistics:
            assert entry.sha256 in reported["sha256"]
        per_site_entries = [
            e for e in entries if e.destination == "superlink" and e.kind != "secure_aggregation"
        ]
        assert len(per_site_entries) == (2 if site == "hosp-a" else 0)


def test_noised_secure_round_is_charged_once_per_release(sites: dict[str, Path]) -> None:
    _policies(sites, per_site=set())
    result = _round(sites, "loop-2", **{"noise-multiplier": 2.0, "delta": 1e-5})
    assert result["mode"] == "secure" and result["per_site_figures"] == {}
    counts = np.asarray(result["pooled"]["lung-rads"]["confusion"]["counts"], dtype=float)
    assert counts.shape == (7, 7) and counts.min() >= 0
    for site in SITES.values():
        charged = [e for e in _ledger(sites[site], "loop-2") if e.epsilon is not None]
        # lung-rads (confusion, coincidence) + mask, box, keypoint, length: 6; 6 histograms
        assert [e.mechanism for e in charged] == ["gaussian-z2-k6", "gaussian-z2-k6"]
        assert result["sites"][site]["epsilon"] == [e.epsilon for e in charged]


def test_a_node_killed_after_sharing_keys_leaves_the_sum_of_the_others(
    sites: dict[str, Path],
) -> None:
    _policies(sites, per_site=set())
    # hosp-c answers the query, setup and share-keys, then never again
    result = _round(sites, "loop-3", stop_after={33: 3}, noise=False)
    assert result["secure_aggregation"]["dropped"] == {"hosp-c": "collect_masked_vectors"}
    assert result["answered"] == ["hosp-a", "hosp-b"] and result["missing"] == ["hosp-c"]
    reference = union_figures([sites["hosp-a"], sites["hosp-b"]])
    assert result["figures"]["lung-rads"] == reference["lung-rads"]


def test_two_nodes_do_not_start_a_secure_sum(sites: dict[str, Path]) -> None:
    _policies(sites, per_site={"hosp-b"})
    result = _round(sites, "loop-4", stop_after={33: 0}, noise=False)
    report = result["secure_aggregation"]
    assert report["status"] == "skipped" and "needs 3" in report["reason"]
    assert result["mode"] == "per-site"
    assert result["answered"] == ["hosp-b"]
    assert result["figures"]["lung-rads"] == union_figures([sites["hosp-b"]])["lung-rads"]
