"""The admin's Egress view and the alert banner, in Chromium, on a node enrolled with a real
coordinator.

The node's enrollment went through its egress gate (the ledger's first entry). The coordinator
publishes a good guideline release and one whose row is then edited without re-signing; the
node's ``serve`` syncs by itself, refuses that one and raises an alert: the administrator sees
it as a banner and dismisses it, reads the ledger, its verification and the statistics budget,
and downloads the ledger as CSV. An annotator sees neither the view nor the banner.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from node.exit_codes import ExitCode
from node.stats import POLICY_FILE
from tests.e2e.conftest import Shots
from tests.e2e.stack import create_user
from tests.e2e.ui import login
from tests.integration.test_enrollment import GUIDELINE, add_site, enroll, tamper_release
from tests.support.coordinator_process import running_coordinator
from tests.support.node_process import NodeProcess, running_node

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root = tmp_path_factory.mktemp("egress-e2e")
    with running_coordinator(root / "coordinator") as coordinator:
        data_dir = root / "hospital-e" / "node"
        enrolled = enroll(coordinator, data_dir, add_site(coordinator, "hospital-e"))
        assert enrolled.returncode == ExitCode.OK, enrolled.stderr
        (data_dir / POLICY_FILE).write_text(json.dumps({"epsilon": 7.5, "delta": 1e-4}))
        coordinator.cli("guideline", "publish", str(GUIDELINE))
        revised = root / "lung-2.json"
        document = yaml.safe_load(GUIDELINE.read_text())
        document["version"] = "2.0"
        revised.write_text(json.dumps(document))
        coordinator.cli("guideline", "publish", str(revised))
        tamper_release(coordinator, "2.0")
        env = {"HARMONIA_NODE_FSYNC": "false", "HARMONIA_NODE_GUIDELINE_SYNC_MINUTES": "0.05"}
        with running_node(data_dir, env=env) as running:
            create_user(running, "ita", "admin")
            create_user(running, "anna", "annotator")
            yield running


def _ledger(node: NodeProcess) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{node.url}/api/egress", headers={"Authorization": f"Bearer {node.token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def test_the_admin_sees_the_alert_and_the_ledger(
    page: Any, node: NodeProcess, shots: Shots, tmp_path: Path
) -> None:
    login(page, node.url, "ita")
    banner = page.locator("#alert-banner")
    # the sync thread may not have run yet when the page first loads: revisit until it has
    for _ in range(60):
        if banner.is_visible():
            break
        page.wait_for_timeout(1000)
        page.reload()
        page.locator("main h1").first.wait_for()
    banner.wait_for(state="visible")
    assert "lung-nodule@2.0" in banner.inner_text()
    assert "altered after signing" in banner.inner_text()
    shots(page, "alert-banner")

    page.get_by_role("link", name="Egress").click()
    page.locator("h1", has_text="Egress ledger").wait_for()
    verified = page.get_by_test_id("ledger-verify")
    verified.wait_for()
    # serve also reports its health through the gate: the enrollment is the first entry
    ledger = _ledger(node)
    assert "Ledger intact" in verified.inner_text()
    assert {entry["kind"] for entry in ledger[1:]} <= {"health"}
    enrollment = ledger[0]
    assert enrollment["kind"] == "enrollment_request"
    rows = page.locator(".egress table").last.locator("tbody tr")
    assert rows.count() >= 1
    cells = rows.first.locator("td").all_inner_texts()  # oldest first
    assert cells[0] == "1" and cells[1].startswith(enrollment["recorded_at"][:10])
    assert cells[2:6] == [
        "released",
        "enrollment_request",
        enrollment["destination"],
        str(enrollment["byte_count"]),
    ]
    assert cells[6] == enrollment["sha256"]
    budgets = page.locator(".egress table").nth(0).inner_text()
    assert "statistics" in budgets and "ε=7.5, δ=0.0001" in budgets
    assert "training" in budgets and "no budget set" in budgets
    shots(page, "egress-ledger")

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    saved = tmp_path / "ledger.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text())))
    first = exported[0]
    assert (first["seq"], first["kind"], first["sha256"], first["mac"]) == (
        "1",
        "enrollment_request",
        enrollment["sha256"],
        enrollment["mac"],
    )
    assert {row["kind"] for row in exported[1:]} <= {"health"}

    banner.get_by_role("button", name="Dismiss the alert about lung-nodule@2.0").click()
    banner.wait_for(state="hidden")
    page.reload()
    page.locator("h1", has_text="Egress ledger").wait_for()
    assert not banner.is_visible()
    shots(page, "alert-dismissed")


def test_an_annotator_sees_neither_the_view_nor_alerts(page: Any, node: NodeProcess) -> None:
    login(page, node.url, "anna")
    assert not page.get_by_role("link", name="Egress").is_visible()
    assert not page.locator("#alert-banner").is_visible()
    page.goto(f"{node.url}/ui/#/egress")
    page.locator("#error-banner").wait_for(state="visible")
    assert "administer" in page.locator("#error-text").inner_text()
