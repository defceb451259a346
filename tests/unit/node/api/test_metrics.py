"""/metrics and /readyz of the node app (TestClient, real store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from node.api import create_app
from node.egress import EgressGate
from node.errors import EgressRefusedError
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.dicom_samples import multipart_body, pydicom_file

LOOPBACK = ("127.0.0.1", 40000)
METRICS_TOKEN = "metrics-token-0123456789abcdef"
INGESTED = "harmonia_node_ingest_instances_total"
REQUESTS = "harmonia_node_http_requests_total"
EGRESS = "harmonia_node_egress_messages_total"
EGRESS_BYTES = "harmonia_node_egress_bytes_total"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def _stow(client: TestClient, token: str, *names: str) -> int:
    body, content_type = multipart_body([pydicom_file(n).read_bytes() for n in names])
    response = client.post(
        "/dicom-web/studies",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    return response.status_code


def test_metrics_are_served_to_loopback_only_without_a_token(runtime: NodeRuntime) -> None:
    app = create_app(runtime.settings, runtime=runtime)
    remote = TestClient(app, client=("10.1.2.3", 5000)).get("/metrics")
    assert remote.status_code == 403
    assert "HARMONIA_NODE_METRICS_TOKEN" in remote.json()["detail"]
    local = TestClient(app, client=LOOPBACK).get("/metrics")
    assert local.status_code == 200
    assert local.headers["content-type"].startswith("text/plain")
    assert REQUESTS in local.text


def test_with_a_metrics_token_every_caller_presents_it(tmp_path: Path) -> None:
    settings = NodeSettings(
        data_dir=tmp_path / "n", fsync=False, ingest_workers=0, metrics_token=METRICS_TOKEN
    )
    with open_node(settings) as runtime:
        client = TestClient(create_app(settings, runtime=runtime), client=("10.1.2.3", 5000))
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert (
            TestClient(create_app(settings, runtime=runtime), client=LOOPBACK)
            .get("/metrics")
            .status_code
            == 401
        )
        granted = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert granted.status_code == 200


def test_a_short_metrics_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        NodeSettings(data_dir=tmp_path, metrics_token="short")


def test_stow_moves_the_ingest_store_and_http_counters(
    runtime: NodeRuntime, ingest_token: str
) -> None:
    app = create_app(runtime.settings, runtime=runtime)
    with TestClient(app, client=LOOPBACK) as client:
        before = client.get("/metrics").text
        assert _value(before, INGESTED, path="stow", outcome="stored") == 0
        assert _stow(client, ingest_token, "CT_small.dcm", "MR_small.dcm") == 200
        assert _stow(client, ingest_token, "CT_small.dcm") == 200  # a duplicate
        after = client.get("/metrics").text
    assert _value(after, INGESTED, path="stow", outcome="stored") == 2
    assert _value(after, INGESTED, path="stow", outcome="duplicate") == 1
    assert _value(after, "harmonia_node_ingest_duration_seconds_count", path="stow") == 3
    assert _value(after, "harmonia_node_instances", path="stow") == 2
    assert (
        _value(
            after,
            REQUESTS,
            method="POST",
            route="/dicom-web/studies",
            status="200",
        )
        == 2
    )
    assert ingest_token not in after


def test_ingest_is_counted_only_while_the_app_runs(runtime: NodeRuntime) -> None:
    app = create_app(runtime.settings, runtime=runtime)
    with TestClient(app, client=LOOPBACK):
        pass
    runtime.ingest.ingest_bytes(pydicom_file("CT_small.dcm").read_bytes(), source="dimse:MODALITY")
    text = TestClient(app, client=LOOPBACK).get("/metrics").text
    assert _value(text, INGESTED, path="cstore", outcome="stored") == 0
    assert _value(text, "harmonia_node_instances", path="cstore") == 1


def test_each_app_has_its_own_registry(runtime: NodeRuntime, ingest_token: str) -> None:
    first = create_app(runtime.settings, runtime=runtime)
    second = create_app(runtime.settings, runtime=runtime)
    with TestClient(first, client=LOOPBACK) as client:
        client.get("/healthz")
        client.get("/healthz")
    text = TestClient(second, client=LOOPBACK).get("/metrics").text
    assert _value(text, REQUESTS, method="GET", route="/healthz", status="200") == 0


def test_egress_ledger_counts_releases_and_refusals(runtime: NodeRuntime) -> None:
    gate = EgressGate(runtime.engine, site="hospital-a")
    health = {"software_version": "0.1.0", "counters": {"instances": 3}}
    data = gate.release("health", health, "coordinator")
    with pytest.raises(EgressRefusedError):
        gate.release("patient_list", {"names": ["DOE"]}, "coordinator")
    text = (
        TestClient(create_app(runtime.settings, runtime=runtime), client=LOOPBACK)
        .get("/metrics")
        .text
    )
    assert _value(text, EGRESS, kind="health", outcome="released") == 1
    assert _value(text, EGRESS_BYTES, kind="health", outcome="released") == len(data)
    refused = [
        v
        for (name, labels), v in _samples(text).items()
        if name == EGRESS and ("outcome", "refused") in labels
    ]
    assert refused == [1.0]
    assert _value(text, "harmonia_node_rounds_answered_total") == 0


def test_readyz_lists_each_probe_and_fails_without_the_blob_store(runtime: NodeRuntime) -> None:
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert [c["name"] for c in ready.json()["checks"]] == ["database", "schema", "blob_store"]
    blobs = runtime.settings.blob_dir
    blobs.rename(blobs.with_name("instances.aside"))
    try:
        missing = client.get("/readyz")
    finally:
        blobs.with_name("instances.aside").rename(blobs)
    assert missing.status_code == 503
    failed = [c for c in missing.json()["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["blob_store"]
    assert "is it mounted?" in failed[0]["detail"]
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_responses_carry_a_request_id(runtime: NodeRuntime) -> None:
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    assert client.get("/healthz", headers={"X-Request-ID": "trace-1"}).headers["x-request-id"] == (
        "trace-1"
    )
