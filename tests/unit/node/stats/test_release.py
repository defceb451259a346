import json
from pathlib import Path

import pytest

from node.consortium import Membership, consortium_dir
from node.egress import EgressLedger, Outcome, decode_payload
from node.errors import BudgetExceededError, EgressRefusedError
from node.settings import DeploymentProfile, NodeSettings
from node.stats import StatisticsRequest, release_statistics
from node.store.database import create_database_engine
from tests.support.stats_sites import PLANS, PROJECT, prepare_site, write_policy


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("stats-site") / "node"
    prepare_site(data_dir, PLANS["b"], seed=7)
    folder = consortium_dir(data_dir)
    folder.mkdir(exist_ok=True)
    membership = Membership("hosp-b", "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
    (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
    return data_dir


def _settings(data_dir: Path, profile: DeploymentProfile = DeploymentProfile.DEVELOPMENT):
    return NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0, profile=profile)


def _request(round_id: str, *, noise: bool = True) -> StatisticsRequest:
    return StatisticsRequest(PROJECT, round_id, noise=noise, noise_multiplier=2.0, delta=1e-5)


def _entries(data_dir: Path, round_id: str) -> list:
    url = _settings(data_dir).resolved_database_url
    engine = create_database_engine(url, durable=False)
    try:
        return [e for e in EgressLedger(engine).entries() if e.round_id == round_id]
    finally:
        engine.dispose()


def test_without_a_policy_nothing_leaves(site: Path) -> None:
    with pytest.raises(BudgetExceededError, match="no privacy budget"):
        release_statistics(site, _request("r-none"), settings=_settings(site))
    assert [e.outcome for e in _entries(site, "r-none")] == [Outcome.REFUSED]


def test_noise_free_needs_the_policy_and_a_development_node(site: Path) -> None:
    write_policy(site, epsilon=100, delta=1e-3, allow_noise_free=False)
    with pytest.raises(EgressRefusedError, match="noise-free"):
        release_statistics(site, _request("r-nf1", noise=False), settings=_settings(site))
    write_policy(site, epsilon=100, delta=1e-3, allow_noise_free=True)
    released = release_statistics(site, _request("r-nf2", noise=False), settings=_settings(site))
    assert [r.kind for r in released] == ["agreement_statistics", "diversity_statistics"]
    assert all(r.charge is None for r in released)
    payload = decode_payload(released[0].data)
    assert {e["statistic"] for e in payload["statistics"]} >= {"confusion", "coincidence"}


def test_noised_release_is_charged_and_ledgered_with_its_mechanism(site: Path) -> None:
    write_policy(site, epsilon=100, delta=1e-3, allow_noise_free=False)
    released = release_statistics(site, _request("r-noise"), settings=_settings(site))
    entries = _entries(site, "r-noise")
    # every statistic of every label (lung-rads: 2; mask, box, keypoint, length: 1 each),
    # one Gaussian mechanism each; 6 histograms
    assert [e.mechanism for e in entries] == ["gaussian-z2-k6", "gaussian-z2-k6"]
    assert [e.byte_count for e in entries] == [len(r.data) for r in released]
    statistics = decode_payload(released[0].data)["statistics"]
    assert [(e["label"], e["statistic"]) for e in statistics] == [
        ("nodule-mask", "overlap"),
        ("nodule-box", "detection"),
        ("lung-rads", "confusion"),
        ("lung-rads", "coincidence"),
        ("nodule-centre", "detection"),
        ("nodule-diameter", "detection"),
    ]
    assert released[0].skipped == ()
    histograms = decode_payload(released[1].data)["histograms"]
    assert set(histograms) == {
        "modality",
        "manufacturer",
        "sex",
        "age_years",
        "slice_thickness_mm",
        "label_prevalence",
    }


def test_per_site_releases_need_the_policy_switch(site: Path) -> None:
    write_policy(site, epsilon=100, delta=1e-3, allow_per_site_release=False)
    with pytest.raises(EgressRefusedError, match="allow_per_site_release") as caught:
        release_statistics(site, _request("r-ps"), settings=_settings(site))
    assert caught.value.field == "per_site"
    assert _entries(site, "r-ps") == []
