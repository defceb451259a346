"""``harmonia-node serve`` syncs guidelines by itself: real coordinator and node processes.

An enrolled node's ``serve`` runs the guideline sync on a thread of its own
(here every 1.2 s instead of 15 min). The coordinator publishes a good release
and one whose stored row is then edited without re-signing (the enrollment
test's tampering): the node loads the good one, refuses the tampered one and
raises an alert its administrators read and dismiss through the API. A node
whose coordinator is down still starts and serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from node.exit_codes import ExitCode
from tests.integration.test_enrollment import GUIDELINE, add_site, enroll, tamper_release
from tests.support.coordinator_process import running_coordinator
from tests.support.node_process import NodeProcess, running_node

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODE_ENV = {
    "HARMONIA_NODE_FSYNC": "false",
    "HARMONIA_NODE_INGEST_WORKERS": "0",
    "HARMONIA_NODE_GUIDELINE_SYNC_MINUTES": "0.02",
}


def eventually(probe: Callable[[], Any], what: str, deadline_s: float = 180) -> Any:
    """Poll ``probe`` until it returns something truthy (a generous deadline, not a timing)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def api(node: NodeProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {node.token}"}
    return httpx.request(method, f"{node.url}{path}", headers=headers, timeout=30, **kwargs)


def alerts(node: NodeProcess, *, include_dismissed: bool = False) -> list[dict[str, Any]]:
    answer = api(node, "GET", "/api/alerts", params={"include_dismissed": include_dismissed})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["alerts"])


def test_serve_syncs_refuses_a_tampered_release_and_raises_an_alert(tmp_path: Path) -> None:
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        data_dir = tmp_path / "hospital-a" / "node"
        enrolled = enroll(coordinator, data_dir, add_site(coordinator, "hospital-a"))
        assert enrolled.returncode == ExitCode.OK, enrolled.stderr
        coordinator.cli("guideline", "publish", str(GUIDELINE))
        revised = tmp_path / "lung-2.json"
        document = yaml.safe_load(GUIDELINE.read_text())
        document["version"] = "2.0"
        revised.write_text(json.dumps(document))
        coordinator.cli("guideline", "publish", str(revised))
        tamper_release(coordinator, "2.0")

        with running_node(data_dir, env=NODE_ENV) as node:
            assert "Guidelines: synced every 0.02 min" in node.output()
            (alert,) = eventually(lambda: alerts(node), "an alert for the tampered release")
            assert alert["kind"] == "guideline_release_refused"
            assert alert["subject"] == "lung-nodule@2.0"
            assert "altered after signing" in alert["message"]
            assert "tell the consortium coordinator" in alert["message"]
            listed = api(node, "GET", "/api/guidelines").json()
            versions = {(g["name"], g["version"]) for g in listed["guidelines"]}
            assert ("lung-nodule", "1.0") in versions and ("lung-nodule", "2.0") not in versions

            # the same problem again counts up on the same alert
            eventually(lambda: alerts(node)[0]["occurrences"] >= 2, "a second sync pass")
            dismissed = api(node, "POST", f"/api/alerts/{alert['id']}/dismiss")
            assert dismissed.status_code == 200 and dismissed.json()["open"] is False
            seen = dismissed.json()["occurrences"]
            eventually(
                lambda: alerts(node, include_dismissed=True)[0]["occurrences"] > seen,
                "another sync pass after the dismissal",
            )
            assert alerts(node) == []  # a dismissal holds while the problem stays the same
            assert "refused guideline release lung-nodule@2.0" in node.output()


def test_serve_starts_while_the_coordinator_is_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "hospital-b" / "node"
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        enrolled = enroll(coordinator, data_dir, add_site(coordinator, "hospital-b"))
        assert enrolled.returncode == ExitCode.OK, enrolled.stderr
    # the coordinator is stopped: serve must still start, and keep retrying in the background
    with running_node(data_dir, env=NODE_ENV) as node:
        assert api(node, "GET", "/healthz").status_code == 200
        eventually(lambda: "guideline sync failed" in node.output(), "a logged sync failure")
        assert alerts(node) == []
        assert node.process.poll() is None
