"""A site's part of a secure sum: the layout, the charged contribution, the exact vector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from node.consortium import Membership, consortium_dir
from node.egress import EgressLedger, decode_payload
from node.errors import BudgetExceededError, EgressRefusedError
from node.settings import DeploymentProfile, NodeSettings
from node.stats import (
    SECURE_DESTINATION,
    StatisticsRequest,
    describe_statistics,
    secure_statistics,
)
from node.store.database import create_database_engine
from shared.privacy import FLOAT_SCALE, StatisticsLayout
from tests.support.stats_sites import PLANS, PROJECT, prepare_site, write_policy


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("secure-site") / "node"
    prepare_site(data_dir, PLANS["c"], seed=3)
    folder = consortium_dir(data_dir)
    folder.mkdir(exist_ok=True)
    membership = Membership("hosp-c", "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
    (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
    return data_dir


def _settings(data_dir: Path) -> NodeSettings:
    return NodeSettings(
        data_dir=data_dir, fsync=False, ingest_workers=0, profile=DeploymentProfile.DEVELOPMENT
    )


def _entries(data_dir: Path, round_id: str) -> list:
    engine = create_database_engine(_settings(data_dir).resolved_database_url, durable=False)
    try:
        return [e for e in EgressLedger(engine).entries() if e.round_id == round_id]
    finally:
        engine.dispose()


def _layout(site: Path, round_id: str, **extra: object) -> StatisticsLayout:
    request = StatisticsRequest(PROJECT, round_id, **extra)  # type: ignore[arg-type]
    release = describe_statistics(site, request, settings=_settings(site))
    payload = json.loads(release.data)
    assert payload["stage"] == "layout"
    return StatisticsLayout.from_json(payload["layout"])


def test_the_layout_is_public_and_the_vector_encodes_exactly_what_was_ledgered(
    site: Path,
) -> None:
    write_policy(site, epsilon=100, delta=1e-3, allow_per_site_release=False)
    layout = _layout(site, "s-1", noise=False)
    assert layout.guideline[0] == "lung-nodule"
    names = [(e.label, e.statistic) for e in layout.entries]
    assert ("lung-rads", "confusion") in names and ("nodule-mask", "overlap") in names
    described = [e for e in _entries(site, "s-1")]
    assert [(e.kind, e.epsilon) for e in described] == [("secure_aggregation", None)]
    request = StatisticsRequest(
        PROJECT, "s-2", noise=False, guideline=layout.guideline[0], version=layout.guideline[1]
    )
    contribution = secure_statistics(site, request, settings=_settings(site))
    entries = _entries(site, "s-2")
    assert [e.kind for e in entries] == ["agreement_statistics", "diversity_statistics"]
    assert {e.destination for e in entries} == {SECURE_DESTINATION}
    assert [e.byte_count for e in entries] == [len(r.data) for r in contribution.releases]
    agreement, histograms = layout.decode(contribution.vector)
    released = decode_payload(contribution.releases[0].data)
    found = {(e["label"], e["statistic"]): e["arrays"] for e in released["statistics"]}
    for label, statistic, arrays in agreement:
        source = found[(label, statistic)]
        for name, value in arrays.items():
            expected = np.asarray(source[name])
            if expected.dtype.kind in "US":
                assert np.asarray(value).tolist() == expected.tolist()
            elif statistic == "confusion":
                assert np.array_equal(value, expected)  # counts: exactly
            else:
                assert np.allclose(np.asarray(value, dtype=float), expected, atol=1 / FLOAT_SCALE)
    counts = decode_payload(contribution.releases[1].data)["histograms"]["modality"]["counts"]
    assert histograms["modality"]["counts"].tolist() == counts.tolist()


def test_a_secure_contribution_refuses_another_guideline_version(site: Path) -> None:
    write_policy(site, epsilon=100, delta=1e-3)
    request = StatisticsRequest(PROJECT, "s-3", noise=False, guideline="lung-nodule", version="9.9")
    with pytest.raises(EgressRefusedError, match="reads under") as caught:
        secure_statistics(site, request, settings=_settings(site))
    assert caught.value.field == "guideline"
    assert _entries(site, "s-3") == []


def test_describe_refuses_when_the_contribution_would_pass_the_budget(site: Path) -> None:
    write_policy(site, epsilon=5.0, delta=1e-3)  # one contribution at z=2 costs about 8.7
    request = StatisticsRequest(PROJECT, "s-4", noise_multiplier=2.0, delta=1e-5)
    with pytest.raises(BudgetExceededError, match="left"):
        describe_statistics(site, request, settings=_settings(site))
    assert _entries(site, "s-4") == []


def test_a_noised_contribution_is_charged_once_per_payload(site: Path) -> None:
    write_policy(site, epsilon=100, delta=1e-3)
    layout = _layout(site, "s-5", noise_multiplier=2.0, delta=1e-5)
    request = StatisticsRequest(
        PROJECT,
        "s-6",
        noise_multiplier=2.0,
        delta=1e-5,
        seed=1,
        guideline=layout.guideline[0],
        version=layout.guideline[1],
    )
    contribution = secure_statistics(site, request, settings=_settings(site))
    entries = _entries(site, "s-6")
    assert [e.mechanism for e in entries] == ["gaussian-z2-k6", "gaussian-z2-k6"]
    assert contribution.vector.size == layout.secure_layout().length
