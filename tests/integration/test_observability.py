"""Metrics, readiness and JSON logs of real ``serve`` processes on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.dicom_samples import multipart_body, pydicom_file
from tests.support.coordinator_process import running_coordinator
from tests.support.node_process import running_node

pytestmark = pytest.mark.integration

METRICS_TOKEN = "integration-metrics-token-0123456789"


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_node_metrics_move_after_a_stow_and_readyz_follows_the_blob_store(
    tmp_path: Path,
) -> None:
    env = {
        "HARMONIA_NODE_LOG_FORMAT": "json",
        "HARMONIA_NODE_FSYNC": "false",
        "HARMONIA_NODE_INGEST_WORKERS": "0",
        "HARMONIA_NODE_METRICS_TOKEN": METRICS_TOKEN,
    }
    with running_node(tmp_path / "node", env=env) as node:
        scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert httpx.get(f"{node.url}/metrics", timeout=30).status_code == 401
        before = httpx.get(f"{node.url}/metrics", headers=scrape, timeout=30).text
        stored = "harmonia_node_ingest_instances_total"
        assert _value(before, stored, path="stow", outcome="stored") == 0
        body, content_type = multipart_body(
            [pydicom_file(n).read_bytes() for n in ("CT_small.dcm", "MR_small.dcm")]
        )
        response = httpx.post(
            f"{node.url}/dicom-web/studies",
            content=body,
            headers={
                "Authorization": f"Bearer {node.token}",
                "Content-Type": content_type,
                "X-Request-ID": "stow-trace-1",
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == "stow-trace-1"
        after = httpx.get(f"{node.url}/metrics", headers=scrape, timeout=30).text
        assert _value(after, stored, path="stow", outcome="stored") == 2
        assert _value(after, "harmonia_node_instances", path="stow") == 2
        requests = "harmonia_node_http_requests_total"
        labels = {"method": "POST", "route": "/dicom-web/studies", "status": "200"}
        assert _value(after, requests, **labels) == 1

        assert httpx.get(f"{node.url}/readyz", timeout=30).status_code == 200
        blobs = node.data_dir / "instances"
        blobs.rename(node.data_dir / "instances.unmounted")
        try:
            down = httpx.get(f"{node.url}/readyz", timeout=30)
        finally:
            (node.data_dir / "instances.unmounted").rename(blobs)
        assert down.status_code == 503
        assert [c["name"] for c in down.json()["checks"] if not c["ok"]] == ["blob_store"]
        assert httpx.get(f"{node.url}/readyz", timeout=30).status_code == 200
        assert httpx.get(f"{node.url}/healthz", timeout=30).status_code == 200
    access = []
    for line in node.output().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"time", "level", "logger", "message", "request_id"} <= entry.keys()
            if entry["logger"] == "harmonia.access":
                access.append(entry)
    stow = [e for e in access if e["route"] == "/dicom-web/studies"]
    assert stow and stow[0]["request_id"] == "stow-trace-1" and stow[0]["status"] == 200
    assert node.token not in node.output() and METRICS_TOKEN not in node.output()


def test_coordinator_metrics_and_readyz(tmp_path: Path) -> None:
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        metrics = httpx.get(f"{coordinator.url}/metrics", timeout=30)
        assert metrics.status_code == 200
        assert _value(metrics.text, "harmonia_coordinator_sites", state="enrolled") == 0
        coordinator.cli("site", "add", "hospital-a")
        text = httpx.get(f"{coordinator.url}/metrics", timeout=30).text
        assert _value(text, "harmonia_coordinator_sites", state="pending") == 1
        assert httpx.get(f"{coordinator.url}/readyz", timeout=30).status_code == 200
        ca = coordinator.data_dir / "secrets" / "ca.pem"
        ca.rename(ca.with_suffix(".aside"))
        try:
            down = httpx.get(f"{coordinator.url}/readyz", timeout=30)
        finally:
            ca.with_suffix(".aside").rename(ca)
        assert down.status_code == 503
        assert [c["name"] for c in down.json()["checks"] if not c["ok"]] == ["keys"]
        assert httpx.get(f"{coordinator.url}/readyz", timeout=30).status_code == 200
