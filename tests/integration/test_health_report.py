"""harmonia-node serve reports its health to the coordinator: real coordinator and node processes.

An enrolled node's ``serve`` sends its first health report a few seconds after
start (here every 0.02 min after that) through the egress gate, over mutual
TLS, to ``POST /api/v1/site/health``. The coordinator's sites overview then
shows the node's reported version (source ``health``), when it was last seen
and the report; the node's egress ledger holds each report as kind ``health``
with the exact bytes' count and hash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.exit_codes import ExitCode
from tests.integration.test_enrollment import add_site, enroll
from tests.integration.test_guideline_sync_loop import api, eventually
from tests.support.coordinator_process import CoordinatorProcess, running_coordinator
from tests.support.node_process import running_node

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODE_ENV = {
    "HARMONIA_NODE_FSYNC": "false",
    "HARMONIA_NODE_INGEST_WORKERS": "0",
    "HARMONIA_NODE_HEALTH_REPORT_MINUTES": "0.02",
}


def overview(coordinator: CoordinatorProcess, site: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{coordinator.url}/api/v1/dashboard/sites",
        headers={"Authorization": f"Bearer {coordinator.token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    (row,) = [r for r in answer.json()["sites"] if r["name"] == site]
    return dict(row)


@pytest.mark.timeout(600)
def test_serve_reports_health_through_the_gate(tmp_path: Path) -> None:
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        data_dir = tmp_path / "hospital-a" / "node"
        enrolled = enroll(coordinator, data_dir, add_site(coordinator, "hospital-a"))
        assert enrolled.returncode == ExitCode.OK, enrolled.stderr
        with running_node(data_dir, env=NODE_ENV) as node:
            assert "Health:   reported every 0.02 min" in node.output()
            row = eventually(
                lambda: (
                    (r := overview(coordinator, "hospital-a"))["version_source"] == "health" and r
                ),
                "a health report stored by the coordinator",
            )
            assert row["last_seen_at"] is not None and row["health_reported_at"] is not None
            health = row["health"]
            if isinstance(health, str):
                health = json.loads(health)
            assert row["software_version"] == health["software_version"]
            assert health["uptime_s"] >= 0
            assert set(health["counters"]) == {
                "studies",
                "series",
                "instances",
                "annotations",
                "tasks_done",
                "tasks_open",
            }
            # a second report follows on the schedule
            eventually(
                lambda: (
                    len(
                        api(node, "GET", "/api/egress", params={"kind": "health"}).json()["entries"]
                    )
                    >= 2
                ),
                "a second health report",
            )
            entries = api(node, "GET", "/api/egress", params={"kind": "health"}).json()["entries"]
            assert all(e["outcome"] == "released" for e in entries)
            assert all(e["destination"].endswith("/api/v1/site/health") for e in entries)
            assert all(e["byte_count"] > 0 and len(e["sha256"]) == 64 for e in entries)
            assert hashlib.sha256(b"").hexdigest() not in {e["sha256"] for e in entries}
